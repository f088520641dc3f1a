"""Staff accounts, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update

from dispatch.access import passwords, sessions
from dispatch.access.passwords import hash_password
from dispatch.campaigns import audit
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import ROLES, ApiToken, User
from dispatch.models.common import utcnow

TOKEN_PREFIX = "loa_"
MIN_PASSWORD = passwords.MIN_LENGTH


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationFailed.field(
            "roles", f"Unknown role {unknown[0]!r}; use {', '.join(ROLES)}."
        )
    if not roles:
        raise ValidationFailed.field("roles", "Give at least one role.")
    return sorted(set(roles))


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(
    username: str,
    roles: list[str],
    *,
    actor: User | None,
    password: str | None = None,
    full_name: str = "",
    email: str | None = None,
) -> tuple[User, str | None]:
    """Create a user; returns it with the generated one-time password when none was given."""
    username = username.strip().lower()
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"User {username!r} already exists.", errors={"username": ["Taken."]})
    generated = None
    if password is None:
        password = generated = generate_password()
    else:
        passwords.check(password, username=username, others=[full_name, email or ""])
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        roles=check_roles(roles),
        password_hash=hash_password(password),
        must_change_password=generated is not None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor, details={"roles": user.roles})
    return user, generated


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def update_user(user: User, *, actor: User, **changes: object) -> User:
    """Change an account; disabling it ends its sessions and revokes its API tokens."""
    before = {"roles": user.roles, "active": user.active}
    if "roles" in changes and changes["roles"] is not None:
        user.roles = check_roles(list(changes["roles"]))  # type: ignore[call-overload]
    for field in ("full_name", "email", "active"):
        if field in changes and changes[field] is not None:
            setattr(user, field, changes[field])
    if user.id == actor.id and ("admin" not in user.roles or not user.active):
        raise Conflict("You cannot remove your own admin role or deactivate yourself.")
    if before["active"] and not user.active:
        sessions.end_all(user, "user_disabled")
        revoke_all_tokens(user, actor=actor)
    audit.record("user.update", "user", user.id, actor=actor,
                 details={"before": before, "after": {"roles": user.roles, "active": user.active}})
    return user


def reset_password(user: User, *, actor: User) -> str:
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    sessions.end_all(user, "password_reset")
    audit.record("user.reset_password", "user", user.id, actor=actor)
    return password


def change_password(user: User, current: str, new: str, *, revoke_tokens: bool = False,
                    keep_session: int | None = None) -> int:
    """Replace the password; every other session ends, and the API tokens too if asked.

    Returns how many tokens were revoked.
    """
    if not passwords.matches(user.password_hash, current):
        raise ValidationFailed.field("current_password", "Wrong password.")
    passwords.check(new, username=user.username, others=[user.full_name, user.email or ""],
                    field="new_password")
    if passwords.matches(user.password_hash, new):
        raise ValidationFailed.field("new_password", "Choose a password you have not used here.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    sessions.end_all(user, "password_changed", keep=keep_session)
    revoked = revoke_all_tokens(user, actor=user) if revoke_tokens else 0
    audit.record("user.change_password", "user", user.id, actor=user,
                 details={"tokens_revoked": revoked})
    return revoked


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    user: User, name: str, *, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create an API token; the secret is returned once and only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip() or "token", prefix=secret[:12],
                     token_hash=_digest(secret), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", "api_token", token.id, actor=user, details={"name": token.name})
    return token, secret


def user_for_token(secret: str) -> User | None:
    """The active user owning this live token; touches its last-used time."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    # At most one write a minute per token: a busy client should not turn reads into writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        db.session.commit()
    return token.user


def revoke_token(token_id: int, *, actor: User) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and "admin" not in actor.roles):
        raise NotFound(f"Token {token_id} does not exist.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", "api_token", token.id, actor=actor)
    return token


def revoke_all_tokens(user: User, *, actor: User) -> int:
    """Revoke every live API token of `user`; returns how many."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch"))
    count = result.rowcount or 0  # type: ignore[attr-defined]
    if count:
        audit.record("token.revoke_all", "user", user.id, actor=actor, details={"revoked": count})
    return count
