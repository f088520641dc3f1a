"""Readiness checks: the database, Redis and the SMPP binds, each bounded in time.

`readiness(app)` runs the checks side by side, each in its own thread with a deadline
(`READY_TIMEOUT` seconds, default 2): a database or Redis that does not answer fails its check
in bounded time instead of hanging the load balancer's probe. What a failed check says names
the dependency and the kind of failure (the exception's class), never a URL or a credential.

The SMPP check applies only while an smpp process reports in Redis (a web host without one is
not unready): then every enabled account needs at least one `bound` bind, across all smpp
processes. A process that has just started is binding for a few seconds: it is unready until
the binds are up, which is the truth.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
from flask import Flask
from sqlalchemy import select, text

from dispatch.extensions import db
from dispatch.jobs.redis_conn import redis_url
from dispatch.models import SmppAccount
from dispatch.sms import status as smpp_status


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    ms: float = 0.0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "ms": round(self.ms, 1)}
        if self.detail:
            out["detail"] = self.detail
        if self.problems:
            out["problems"] = self.problems
        return out


def probe_redis(app: Flask) -> redis_lib.Redis:
    """A client with short timeouts, for probes only (the app's client waits as long as needed)."""
    client = app.extensions.get("loa_probe_redis")
    if client is None:
        client = redis_lib.Redis.from_url(redis_url(app), socket_connect_timeout=1.0,
                                          socket_timeout=1.0)
        app.extensions["loa_probe_redis"] = client
    return client


def _failure(exc: BaseException) -> str:
    # The class only: a driver's message may quote the URL, host or user.
    return f"unreachable ({type(exc).__name__})"


def check_database(app: Flask) -> Check:
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return Check("database", False, _failure(exc))
    return Check("database", True)


def check_redis(app: Flask) -> Check:
    try:
        probe_redis(app).ping()
    except Exception as exc:
        return Check("redis", False, _failure(exc))
    return Check("redis", True)


def check_smpp(app: Flask) -> Check:
    """Every enabled account has a bound bind, when an smpp process runs."""
    try:
        client = probe_redis(app)
        if not smpp_status.processes(client):
            return Check("smpp", True, "no smpp process reporting")
        rows = smpp_status.read(client)
    except Exception as exc:
        return Check("smpp", False, f"bind status {_failure(exc)}")
    with app.app_context():
        try:
            enabled = db.session.scalars(
                select(SmppAccount.name).where(SmppAccount.enabled.is_(True))).all()
        except Exception as exc:
            return Check("smpp", False, f"account table {_failure(exc)}")
        finally:
            db.session.remove()
    problems = smpp_status.problems([r for r in rows if r.get("account") in enabled])
    reported = {r.get("account") for r in rows}
    problems += [f"{name}: no bind reported" for name in enabled if name not in reported]
    if problems:
        return Check("smpp", False, "; ".join(sorted(problems)), problems=sorted(problems))
    bound = sum(1 for r in rows if r.get("state") == "bound")
    return Check("smpp", True, f"{bound} bound bind(s) for {len(enabled)} account(s)")


CHECKS = (check_database, check_redis, check_smpp)


def readiness(app: Flask, timeout: float | None = None) -> list[Check]:
    """Run every check at once; one that has not answered by the deadline fails."""
    timeout = float(app.config.get("READY_TIMEOUT", 2.0) if timeout is None else timeout)
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    started = time.monotonic()
    futures = [(check.__name__.removeprefix("check_"), pool.submit(_timed, check, app))
               for check in CHECKS]
    results = []
    for name, future in futures:
        left = max(0.0, timeout - (time.monotonic() - started))
        try:
            results.append(future.result(left))
        except FutureTimeout:
            results.append(Check(name, False, f"no answer within {timeout:g} s",
                                 ms=timeout * 1000))
        except Exception as exc:  # a check that itself broke is a failed check
            results.append(Check(name, False, f"check failed ({type(exc).__name__})"))
    pool.shutdown(wait=False)  # a stuck check's thread ends with its own timeout
    return results


def _timed(check: Any, app: Flask) -> Check:
    started = time.monotonic()
    result: Check = check(app)
    result.ms = (time.monotonic() - started) * 1000
    return result
