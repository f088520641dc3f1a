"""Who is behind a device: the number the app tells, and the notifications it says it opened.

The app tells Loa its signed-in user's number (at registration, or later), authenticated with
the installation's own secret. Only an app key an admin marked `verifies_numbers` (the app's
backend checked the number, e.g. by OTP) makes the link verified; any other key's number is
stored as claimed and never decides a channel (dispatch.campaigns.strategy). One number may
have several devices; a device has at most one number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from dispatch.audiences import msisdn as numbers
from dispatch.errors import NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import AppKey, Device, Message, MessageStatus
from dispatch.models.common import utcnow

S = MessageStatus
# A push the installation may have been shown: FCM took it (or the answer is on its way).
SHOWN = (S.SENDING, S.SUBMITTED, S.DELIVERED, S.UNKNOWN)


class NotSent(NotFound):
    code = "not_sent"


def read_number(raw: str, field: str = "msisdn") -> str:
    """The number in E.164, read as written; a letter or a non-mobile is refused by `field`."""
    parsed = numbers.normalise(raw)
    if not parsed.ok or parsed.msisdn is None:
        raise ValidationFailed.field(field, f"{parsed.error or 'empty'}: {raw!r}")
    return parsed.msisdn


def set_number(device: Device, raw: str | None, *, key: AppKey) -> Device:
    """Link the device to a number (None: unlink), verified only if `key` verifies numbers."""
    if raw is None:
        device.msisdn = device.msisdn_verified_at = None
        return device
    number = read_number(raw)
    if number == device.msisdn and device.msisdn_verified_at is not None:
        return device  # the same link told again: a claim adds nothing to a verified one
    device.msisdn = number
    device.msisdn_verified_at = utcnow() if key.verifies_numbers else None
    return device


def opened(device: Device, campaign_id: int) -> datetime:
    """Record that the installation opened the campaign's push; idempotent, first time kept.

    Only a push this installation was sent: another campaign's id, or one whose push to this
    device was never accepted by FCM, is `not_sent` (and says nothing of other installations).
    """
    row = db.session.execute(
        select(Message.id, Message.opened_at).where(
            Message.campaign_id == campaign_id, Message.channel == "push",
            Message.recipient_id == device.id, Message.status.in_(SHOWN))).first()
    if row is None:
        raise NotSent(f"Campaign {campaign_id} sent this installation no notification.")
    if row.opened_at is not None:
        return row.opened_at
    now = utcnow()
    db.session.execute(update(Message).where(Message.id == row.id, Message.opened_at.is_(None))
                       .values(opened_at=now))
    return now
