"""The optional second factor: time-based one-time codes (RFC 6238, pyotp) from a phone app.

The secret is stored encrypted (`dispatch.access.secrets`, LOA_SECRETS_KEY). Enrolment keeps a new
secret pending until a code made from it is given back, so a half-finished setup never locks the
person out. A code is accepted for the current 30-second step and one step either side (phone
clocks drift), and at most once: a code seen at sign-in cannot be replayed.
"""

from __future__ import annotations

import time

import pyotp
import segno
from flask import current_app

from dispatch.access import secrets, sessions
from dispatch.campaigns import audit
from dispatch.models import User
from dispatch.models.common import utcnow

ISSUER = "Loa"
STEP = 30
# Roles whose accounts must have a second factor when LOA_REQUIRE_2FA is on.
REQUIRED_FOR = ("approver", "admin")


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def required(user: User) -> bool:
    """Whether the settings oblige this account to have a second factor."""
    return bool(current_app.config.get("REQUIRE_2FA")) and any(
        r in (user.roles or []) for r in REQUIRED_FOR)


def start_enrolment(user: User) -> str:
    """A new pending secret for `user` (replacing any pending one); returns it in clear."""
    secret = pyotp.random_base32()
    user.totp_secret = secrets.encrypt(secret)
    user.totp_enabled_at = None
    user.totp_last_step = None
    return secret


def pending_secret(user: User) -> str | None:
    if user.totp_secret is None or user.totp_enabled_at is not None:
        return None
    return secrets.decrypt(user.totp_secret)


def uri(user: User, secret: str) -> str:
    """The otpauth:// URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(text: str) -> str:
    """An SVG QR code of `text` as a data: URI (the pages' CSP allows data: images)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2))


def _matching_step(secret: str, code: str, last: int | None) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    otp = pyotp.TOTP(secret)
    now = int(time.time()) // STEP
    for step in (now - 1, now, now + 1):
        if (last is None or step > last) and pyotp.utils.strings_equal(otp.at(step * STEP), code):
            return step
    return None


def verify(user: User, code: str) -> bool:
    """Whether `code` is a fresh code of the user's enabled secret; remembers its step."""
    if not enabled(user) or user.totp_secret is None:
        return False
    step = _matching_step(secrets.decrypt(user.totp_secret), code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def confirm_enrolment(user: User, code: str, *, keep_session: int | None) -> bool:
    """Turn the pending secret on if `code` matches it; other sessions end (they had no code)."""
    secret = pending_secret(user)
    step = _matching_step(secret, code, None) if secret else None
    if step is None:
        return False
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    sessions.end_all(user, "two_factor_on", keep=keep_session)
    audit.record("user.two_factor_on", "user", user.id, actor=user)
    return True


def remove(user: User, *, actor: User, keep_session: int | None = None) -> None:
    """Turn the second factor off (the person, or an admin for a lost phone); sessions end."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    sessions.end_all(user, "two_factor_off", keep=keep_session)
    audit.record("user.two_factor_off", "user", user.id, actor=actor)
