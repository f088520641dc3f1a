"""Signed-in sessions kept on the server: started at sign-in, checked on every request, endable.

The browser holds only a random token (inside Flask's signed cookie); the table holds its SHA-256.
A session is live while it has not been ended, its account is active, it is younger than
`PERMANENT_SESSION_LIFETIME` (LOA_SESSION_HOURS) and its last page view is more recent than
`SESSION_IDLE_MINUTES`. Both limits are read at check time, so changing them applies to the
sessions already open.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from dispatch.campaigns import audit
from dispatch.errors import NotFound
from dispatch.extensions import db
from dispatch.models import User, UserSession
from dispatch.models.common import utcnow

# A page view moves `last_seen_at` only when it is older than this: a person clicking through
# pages should not turn every read into a write.
TOUCH_EVERY = timedelta(seconds=60)
# Ended sessions stay listed for the record this long, then go at the account's next sign-in.
KEEP_ENDED = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, *, ip: str, user_agent: str, two_factor: bool) -> tuple[UserSession, str]:
    """Open a session for `user`; returns it with the token the cookie will carry."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.ended_at < now - KEEP_ENDED))
    record = UserSession(user_id=user.id, token_hash=_digest(token), created_at=now,
                         last_seen_at=now, ip=ip[:45], user_agent=user_agent[:255],
                         two_factor=two_factor)
    db.session.add(record)
    user.last_login_at = now
    db.session.flush()
    return record, token


def current() -> UserSession | None:
    """The live session this request rides on (set by dispatch.web.session), if any."""
    record: UserSession | None = g.get("user_session")
    return record


def ends_at(record: UserSession) -> tuple[datetime, datetime]:
    """When the session ends on its own: (absolute end, idle end)."""
    config = current_app.config
    return (record.created_at + config["PERMANENT_SESSION_LIFETIME"],
            record.last_seen_at + timedelta(minutes=config["SESSION_IDLE_MINUTES"]))


def live(token: str, *, now: datetime | None = None) -> UserSession | None:
    """The live session for this token, or None; a session found past its time is ended."""
    record = db.session.scalar(select(UserSession).options(joinedload(UserSession.user))
                               .where(UserSession.token_hash == _digest(token)))
    if record is None or record.ended_at is not None:
        return None
    now = now or utcnow()
    absolute, idle = ends_at(record)
    reason = ("expired" if now >= absolute else "idle" if now >= idle
              else None if record.user.active else "user_disabled")
    if reason:
        end(record, reason)
        db.session.commit()
        return None
    return record


def touch(record: UserSession, *, now: datetime | None = None) -> None:
    """Note a page view, writing at most once per `TOUCH_EVERY`."""
    now = now or utcnow()
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        db.session.commit()


def end(record: UserSession, reason: str) -> None:
    if record.ended_at is None:
        record.ended_at = utcnow()
        record.end_reason = reason


def end_all(user: User, reason: str, *, keep: int | None = None) -> int:
    """End every live session of `user` (but `keep`, a session id); returns how many."""
    stmt = (update(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
            .execution_options(synchronize_session="fetch"))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return db.session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]


def active(user: User, *, now: datetime | None = None) -> list[UserSession]:
    """The user's sessions that are still live, the most recently seen first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))
    return [r for r in rows if now < min(ends_at(r))]


def end_one(user: User, session_id: int, *, actor: User) -> UserSession:
    """End one of `user`'s sessions (theirs, or any for an admin)."""
    record = db.session.get(UserSession, session_id)
    if record is None or record.user_id != user.id:
        raise NotFound(f"Session {session_id} does not exist.")
    end(record, "revoked")
    audit.record("session.end", "user", user.id, actor=actor, details={"session": record.id})
    return record


def end_everywhere(user: User, *, actor: User, keep: int | None = None) -> int:
    """Sign `user` out of every browser (but `keep`); audited."""
    count = end_all(user, "revoked", keep=keep)
    audit.record("session.end_all", "user", user.id, actor=actor, details={"ended": count})
    return count


def describe_agent(agent: str) -> str:
    """A short "Browser on System" for the sessions list, from a User-Agent header."""
    browsers = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
                ("Safari/", "Safari"))
    systems = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
               ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
               ("Linux", "Linux"))
    browser = next((name for mark, name in browsers if mark in agent), "")
    system = next((name for mark, name in systems if mark in agent), "")
    if browser and system:
        return f"{browser} / {system}"
    return browser or system or (agent[:40] if agent else "?")
