"""Who may act for an installation of the app: its own secret, limits per address, pruning.

The app key ships inside every copy of the app, so it proves only "some copy of the app". An
installation proves itself with the secret Loa issued when it registered (shown once, stored as
a sha256 hash like API tokens); the app key alone can only create new installations.

Installations registered before secrets existed have no secret. Each may claim one once, with
the app key alone, by registering again with the FCM token Loa holds for it: only that phone
(and FCM) knows the token, so someone who learnt just its installation id cannot take it over,
and its opt-out and locality stay with it. One whose token changed or was given up registers
under a new installation id instead (its token then moves to the new one).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError

from dispatch.access import ratelimit
from dispatch.errors import Conflict, Forbidden, LoaError, NotAuthenticated, RateLimited
from dispatch.extensions import db
from dispatch.models import Device, Message, MessageStatus
from dispatch.models.apps import InstallationSecret
from dispatch.models.common import utcnow
from dispatch.models.ledger import UNSENT
from dispatch.push import devices as app_devices

log = logging.getLogger(__name__)

SECRET_PREFIX = "loainst_"
SECRET_HEADER = "X-Installation-Secret"
# Bodies of the app API are a token, a few codes and at most 50 short topics: about 4 KB.
MAX_BODY = 16 * 1024
# A registration whose answer was lost (a flaky mobile network) may be sent again this long
# after, with the same FCM token, and gets a fresh secret instead of a 409.
RETRY_GRACE = timedelta(minutes=10)
PUSHED = (MessageStatus.SUBMITTED, MessageStatus.DELIVERED)


class PayloadTooLarge(LoaError):
    status = 413
    code = "payload_too_large"


class SecretRequired(NotAuthenticated):
    code = "installation_secret_required"


class SecretInvalid(Forbidden):
    code = "installation_secret_invalid"


class AlreadyRegistered(Conflict):
    code = "installation_registered"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def address_bucket(address: str | None) -> str:
    """The rate-limit bucket of a source address: an IPv6 host owns a whole /64."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def check_body_size(content_length: int | None) -> None:
    """Refuse a declared body over `MAX_BODY` before anything reads it."""
    if content_length is not None and content_length > MAX_BODY:
        raise PayloadTooLarge(f"The request body is {content_length} bytes; the app API takes "
                              f"at most {MAX_BODY} bytes.")


def limit_address(address: str | None) -> None:
    """Count a request against its source address (CGNAT: many phones share one address)."""
    ratelimit.check(f"appaddr:{address_bucket(address)}",
                    limit=_setting("APP_REQUESTS_PER_ADDRESS_PER_MINUTE", 300),
                    what="app requests from this address")


def limit_installation(device: Device) -> None:
    """Count a request against the installation; only after its secret was checked, so that
    nobody else's requests can use up its share."""
    ratelimit.check(f"appinst:{device.id}",
                    limit=_setting("APP_REQUESTS_PER_INSTALLATION_PER_MINUTE", 30),
                    what="requests for this installation")


def _limit_registrations(address: str | None) -> None:
    try:
        ratelimit.check(f"appreg:{address_bucket(address)}",
                        limit=_setting("APP_REGISTRATIONS_PER_ADDRESS_PER_HOUR", 100),
                        window=3600, what="new installations registered from this address")
    except RateLimited as refused:
        refused.code = "registration_limit"
        raise


def _issue(device: Device, *, returned: bool) -> str:
    """A new secret for `device` (replacing any); returned once, only its hash is kept."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = db.session.get(InstallationSecret, device.id)
    if row is None:
        row = InstallationSecret(device_id=device.id)
        db.session.add(row)
    row.secret_hash = _digest(secret)
    row.issued_at = utcnow()
    row.returned_at = utcnow() if returned else None
    return secret


def authenticate(installation_id: str, secret: str | None) -> Device:
    """The installation this secret belongs to, or 401/403; marks that it came back.

    An unknown installation and a wrong secret get the same answer, so the API tells nobody
    which installation ids exist.
    """
    app_devices.check_installation_id(installation_id)
    if not secret:
        raise SecretRequired(f"Send the installation's secret (from its registration) in the "
                             f"{SECRET_HEADER} header.")
    device = db.session.scalar(select(Device).where(Device.installation_id == installation_id))
    row = db.session.get(InstallationSecret, device.id) if device is not None else None
    if device is None or row is None or not hmac.compare_digest(row.secret_hash,
                                                                  _digest(secret.strip())):
        raise SecretInvalid(
            "This installation is not registered or the secret does not match. An installation "
            f"registered before secrets existed registers again without {SECRET_HEADER} to "
            "claim one.")
    if row.returned_at is None:
        row.returned_at = utcnow()
    return device


def _holds_token(device: Device, token: Any) -> bool:
    return (device.fcm_token is not None and isinstance(token, str)
            and hmac.compare_digest(device.fcm_token.encode(), token.encode()))


def enroll(installation_id: str, data: dict[str, Any],
           *, address: str | None) -> tuple[Device, int, str]:
    """Register with the app key alone: a new installation (201), a lost answer sent again
    (201), or an old installation claiming its secret (200); anything else is a 409."""
    app_devices.check_installation_id(installation_id)
    app_devices.check_fcm_token(data["fcm_token"])
    device = db.session.scalar(select(Device).where(Device.installation_id == installation_id))
    if device is None:
        _limit_registrations(address)
        try:
            # The row first, alone: if a concurrent request created it meanwhile, this one is
            # refused below like any other for an existing id, never merged into that one.
            db.session.add(Device(installation_id=installation_id, platform=data["platform"],
                                  topics=[]))
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            device = db.session.scalar(
                select(Device).where(Device.installation_id == installation_id))
        else:
            device, _ = app_devices.register(installation_id, data)
            return device, 201, _issue(device, returned=False)
    if device is None:  # created and deleted meanwhile: let the app simply try again
        raise AlreadyRegistered("This installation id is being registered; try again.")
    row = db.session.get(InstallationSecret, device.id)
    holds = _holds_token(device, data["fcm_token"])
    if row is None and holds:
        app_devices.register(installation_id, data)
        log.info("installation %s claimed its secret", device.id)
        return device, 200, _issue(device, returned=True)
    if (row is not None and holds and row.returned_at is None
            and utcnow() - row.issued_at <= RETRY_GRACE):
        app_devices.register(installation_id, data)
        return device, 201, _issue(device, returned=False)
    raise AlreadyRegistered(
        f"This installation id is registered already: send its secret in {SECRET_HEADER}. "
        "An installation that lost its secret registers under a new installation id.")


def prune_unreturned(older_than: datetime, *, batch: int = 1000) -> int:
    """Delete installations registered before `older_than` that never came back and were never
    pushed to; returns how many. Their failed ledger rows stay (reports count the ledger)."""
    pushed = exists().where(Message.channel == "push", Message.recipient_id == Device.id,
                            Message.status.in_([*PUSHED, *UNSENT]))
    stmt = (select(Device.id).join(InstallationSecret, InstallationSecret.device_id == Device.id)
            .where(InstallationSecret.returned_at.is_(None),
                   InstallationSecret.issued_at < older_than, Device.created_at < older_than,
                   ~pushed)
            .order_by(Device.id).limit(batch))
    total = 0
    while ids := list(db.session.scalars(stmt)):
        db.session.execute(delete(InstallationSecret)
                           .where(InstallationSecret.device_id.in_(ids)))
        db.session.execute(delete(Device).where(Device.id.in_(ids)))
        db.session.commit()
        total += len(ids)
    if total:
        log.info("pruned %d installations that never came back", total)
    return total
