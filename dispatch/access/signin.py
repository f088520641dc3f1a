"""Checking a password (or a second-factor code) without handing anyone a lock or a hint.

Shared by the sign-in page and HTTP Basic credentials on the API:

- Failures are counted per (account name, source address) and each one past `FREE_FAILURES` makes
  that pair wait twice as long as the last (1 s, 2 s, 4 s … at most 15 minutes). The owner signing
  in from another address is never held back by someone else's failures: there is no lock a third
  party can set on an account.
- Failures from one address over all accounts are also capped (`SIGNIN_LIMIT_PER_IP` per
  15 minutes): password spraying from one place meets the cap, not the per-account delay.
- Only failures count; a success clears its pair.
- Apart from these, one address may make at most `SIGNIN_ATTEMPTS_PER_MINUTE` attempts of any
  outcome (429): every attempt costs a password hash, also one refused while its pair waits,
  and that CPU must stay bounded. The cap is the same for every account name, so it tells
  nothing about any, and is far above what an office behind one address signs in.
- Unknown account, disabled account, wrong password and "wait first" give the same answer after
  the same work: the password hash always runs (against a dummy hash for an unknown name), the
  same Redis calls are made, and nothing is written to the database.
- The source address is `request.remote_addr`, which names the client behind
  `LOA_PROXY_COUNT` trusted proxies (werkzeug's ProxyFix, set up in dispatch/__init__.py).

The counts live in Redis (shared by every web process, expiring on their own). Redis out of
reach refuses sign-ins (503) rather than checking passwords without a limit.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

import redis
from flask import current_app, request
from sqlalchemy import select

from dispatch.access import passwords, ratelimit, totp
from dispatch.errors import LoaError, NotAuthenticated, RateLimited
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import User

log = logging.getLogger(__name__)

FREE_FAILURES = 5
MAX_DELAY = 900
# A pair's count is forgotten a day after its last failure.
FORGET_AFTER = 86_400
ADDRESS_WINDOW = 900
# One answer for every refusal, true for each of them.
REFUSED = ("Wrong username or password, or too many failed sign-ins from this address. "
           "Check them, wait a few minutes, and try again.")
WRONG_CODE = ("Wrong or expired code, or too many failed attempts. Wait for a new code and try "
              "again.")


class SignInUnavailable(LoaError):
    status = 503
    code = "signin_unavailable"


def delay_for(failures: int) -> int:
    """Seconds a pair waits after its `failures`-th failure."""
    if failures < FREE_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_FAILURES), MAX_DELAY))


def _pair(name: str, address: str) -> str:
    digest = hashlib.sha256(f"{name}\0{address}".encode()).hexdigest()[:32]
    return keys.signin_pair(digest)


def _address_key(address: str) -> str:
    return f"signin-failures:{address}"


def _held(conn: redis.Redis, name: str, address: str, now: float) -> bool:
    """Whether the pair must still wait, or the address has used up its failures."""
    until = conn.hget(_pair(name, address), "until")
    waiting = until is not None and float(until) > now
    over = not ratelimit.hit(conn, _address_key(address), limit=_address_limit(),
                             window=ADDRESS_WINDOW, dry_run=True).allowed
    return waiting or over


def _address_limit() -> int:
    return int(current_app.config.get("SIGNIN_LIMIT_PER_IP", 30))


def _fail(conn: redis.Redis, name: str, address: str, now: float) -> None:
    key = _pair(name, address)
    failures = int(conn.hincrby(key, "failures", 1))
    wait = delay_for(failures)
    pipe = conn.pipeline()
    pipe.hset(key, "until", repr(now + wait))
    pipe.expire(key, FORGET_AFTER)
    pipe.execute()
    ratelimit.hit(conn, _address_key(address), limit=_address_limit(), window=ADDRESS_WINDOW)
    if wait:
        log.warning("sign-in failures for %r from %s: %d; next try in %d s",
                    name, address, failures, wait)


def _guarded(check: str, name: str, address: str, verify: Callable[[], bool]) -> bool:
    """Run `verify()` (always), then judge it against the pair's state; count a failure."""
    try:
        conn = get_redis()
        attempts = int(current_app.config.get("SIGNIN_ATTEMPTS_PER_MINUTE", 60))
        decision = ratelimit.hit(conn, f"signin-attempts:{address}", limit=attempts)
        if not decision.allowed:
            raise RateLimited(f"Too many sign-in attempts from this address: at most {attempts} "
                              f"a minute; retry in {decision.retry_after} s.",
                              retry_after=decision.retry_after)
        now = time.time()
        held = _held(conn, name, address, now)
        ok = verify()
        if held:
            return False
        if not ok:
            _fail(conn, name, address, now)
            return False
        conn.delete(_pair(name, address))
        return True
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        log.error("sign-in refused: the %s throttle's Redis is unreachable", check)
        raise SignInUnavailable("Sign-in is unavailable for a moment; try again shortly.") from None


def client_address() -> str:
    return request.remote_addr or ""


def authenticate(username: str, password: str) -> User:
    """The active account with these credentials, or `NotAuthenticated(REFUSED)`."""
    name = username.strip().lower()[:64]
    user = db.session.scalar(select(User).where(User.username == name)) if name else None
    stored = user.password_hash if user is not None else dummy_hash()

    def verify() -> bool:
        return passwords.matches(stored, password) and user is not None and user.active

    if not _guarded("password", name, client_address(), verify):
        db.session.rollback()
        raise NotAuthenticated(REFUSED)
    assert user is not None
    return user


def check_code(user: User, code: str) -> None:
    """Accept the account's current TOTP code, throttled like a password; else refuse."""
    if not _guarded("code", user.username, client_address(), lambda: totp.verify(user, code)):
        db.session.rollback()  # a right code judged too late must not mark its step used
        raise NotAuthenticated(WRONG_CODE, code="wrong_code")


_DUMMY: dict[str, str] = {}


def dummy_hash() -> str:
    """A hash made like real ones, so an unknown name costs the same time as a known one."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY:
        _DUMMY[method] = passwords.hash_password("not-a-password-of-anyone")
    return _DUMMY[method]
