"""The province app's side of push: app keys, device registration, topics and push opt-outs.

Called by installations of the app, authenticated by an app key (never a staff token). Nothing here
talks to FCM: the app subscribes to topics itself and reports them; sending lives elsewhere.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.campaigns import audit
from dispatch.errors import NotAuthenticated, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import AppKey, Device, Locality, OptOut, User
from dispatch.models.apps import DEFAULT_APP_RATE_LIMIT
from dispatch.models.common import utcnow

KEY_PREFIX = "loaapp_"
PLATFORMS = ("android", "ios", "web")

# Installation ids are the app's own (a Firebase installation id is 22 characters, a UUID 36).
INSTALLATION_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# FCM registration tokens are opaque strings of [A-Za-z0-9_:-], about 150-200 characters today
# ("<instance>:APA91b..."). 100 rejects the usual mistakes (an installation id, "null", a UUID)
# with room below real tokens; 512 leaves twice today's length and is the column's width, which
# keeps the unique index well within PostgreSQL's btree entry limit.
FCM_TOKEN = re.compile(r"^[A-Za-z0-9_:-]+$")
FCM_TOKEN_MIN, FCM_TOKEN_MAX = 100, 512
# A subset of FCM's topic rule (which also allows '%' and 900 characters): the app needs a few
# short names, and a bound on each keeps one installation's row (and a flood of them) small.
TOPIC = re.compile(r"^[a-zA-Z0-9\-_.~]{1,64}$")
TOPIC_MAX_LENGTH = 64
MAX_TOPICS = 50

# Disabled by the app itself, or by another installation taking the token.
APP_UNREGISTERED = "app_unregistered"
TOKEN_MOVED = "token_moved"

T = TypeVar("T")


# --- app keys ---------------------------------------------------------------------------------

def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(name: str, *, rate_limit_per_minute: int | None = None,
               verifies_numbers: bool = False,
               actor: User | None = None) -> tuple[AppKey, str]:
    """Create an app key; the secret is returned once and only its hash is stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed.field("name", "Give the key a name (the app it is for).")
    limit = DEFAULT_APP_RATE_LIMIT if rate_limit_per_minute is None else rate_limit_per_minute
    if limit < 1:
        raise ValidationFailed.field("rate_limit_per_minute", "Must be at least 1.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = AppKey(name=name, prefix=secret[:14], key_hash=_digest(secret),
                 rate_limit_per_minute=limit, verifies_numbers=verifies_numbers)
    db.session.add(key)
    db.session.flush()
    audit.record("appkey.create", "app_key", key.id, actor=actor,
                 details={"name": key.name, "rate_limit_per_minute": limit,
                          "verifies_numbers": verifies_numbers})
    return key, secret


def get_key(key_id: int) -> AppKey:
    key = db.session.get(AppKey, key_id)
    if key is None:
        raise NotFound(f"App key {key_id} does not exist.")
    return key


def update_key(key: AppKey, *, actor: User | None, name: str | None = None,
               rate_limit_per_minute: int | None = None,
               verifies_numbers: bool | None = None) -> AppKey:
    before = {"name": key.name, "rate_limit_per_minute": key.rate_limit_per_minute,
              "verifies_numbers": key.verifies_numbers}
    if name is not None:
        key.name = name.strip() or key.name
    if rate_limit_per_minute is not None:
        if rate_limit_per_minute < 1:
            raise ValidationFailed.field("rate_limit_per_minute", "Must be at least 1.")
        key.rate_limit_per_minute = rate_limit_per_minute
    if verifies_numbers is not None:
        # Numbers it linked before stay as they were: a key marked later verifies from now on.
        key.verifies_numbers = verifies_numbers
    audit.record("appkey.update", "app_key", key.id, actor=actor, details={
        "before": before,
        "after": {"name": key.name, "rate_limit_per_minute": key.rate_limit_per_minute,
                  "verifies_numbers": key.verifies_numbers},
    })
    return key


def revoke_key(key: AppKey, *, actor: User | None) -> AppKey:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record("appkey.revoke", "app_key", key.id, actor=actor, details={"name": key.name})
    return key


def key_for_secret(secret: str | None) -> AppKey:
    """The live key with this secret, or `NotAuthenticated`; touches its last-used time."""
    if not secret:
        raise NotAuthenticated("Send the app key in the X-App-Key header.")
    key = db.session.scalar(select(AppKey).where(AppKey.key_hash == _digest(secret.strip())))
    if key is None or key.revoked_at is not None:
        raise NotAuthenticated("The app key is unknown or revoked.")
    now = utcnow()
    # At most one write a minute per key: the whole fleet shares it.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        key.last_used_at = now
        db.session.commit()
    return key


def key_ref(key: AppKey) -> dict[str, Any]:
    """How audit details name the key that made a change."""
    return {"id": key.id, "name": key.name, "prefix": key.prefix}


# --- devices ----------------------------------------------------------------------------------

def check_installation_id(installation_id: str) -> str:
    if not INSTALLATION_ID.match(installation_id):
        raise ValidationFailed.field(
            "installation_id", "Use 8 to 128 letters, digits, '.', '_', ':' or '-'."
        )
    return installation_id


def check_fcm_token(token: str) -> str:
    if not FCM_TOKEN_MIN <= len(token) <= FCM_TOKEN_MAX:
        raise ValidationFailed.field(
            "fcm_token", f"An FCM registration token is {FCM_TOKEN_MIN} to {FCM_TOKEN_MAX} "
                         f"characters long; this one has {len(token)}.")
    if not FCM_TOKEN.match(token):
        raise ValidationFailed.field(
            "fcm_token", "An FCM registration token has only letters, digits, '_', ':' and '-'."
        )
    return token


def check_topics(topics: list[str], field: str = "topics") -> list[str]:
    """Validated topics, deduplicated and sorted (so a re-sent list changes nothing)."""
    # The count first: a list of a million names is refused without looking at each.
    if len(topics) > MAX_TOPICS and len(set(topics)) > MAX_TOPICS:
        raise ValidationFailed.field(field, f"At most {MAX_TOPICS} topics per installation; "
                                            f"this list has {len(set(topics))}.")
    for i, topic in enumerate(topics):
        if not TOPIC.match(topic):
            raise ValidationFailed.field(
                f"{field}.{i}", f"A topic name is 1 to {TOPIC_MAX_LENGTH} of the characters "
                                "a-z A-Z 0-9 - _ . ~"
            )
    unique = sorted(set(topics))
    return unique


def locality_id(code: str | None) -> int | None:
    """The id of the locality with this code; unknown codes are an error naming `locality`.

    A locality the department has since retired is still accepted: refusing it would cut an old
    app version off from every push, and campaigns target active localities anyway.
    """
    if code is None:
        return None
    found = db.session.scalar(select(Locality.id).where(Locality.code == code))
    if found is None:
        raise ValidationFailed.field("locality", f"Unknown locality code {code!r}.")
    return found


def get_device(installation_id: str) -> Device:
    device = db.session.scalar(select(Device).where(Device.installation_id == installation_id))
    if device is None:
        raise NotFound(f"Installation {installation_id!r} is not registered.")
    return device


def _retry_once_on_conflict(work: Callable[[], T]) -> T:
    """Run `work`; if a concurrent request inserted the same row first, roll back and redo it.

    The app retries registrations on flaky networks, so two PUTs for one installation (or one
    token) can race; the second run sees the first one's row and becomes an update.
    """
    try:
        result = work()
        db.session.flush()
        return result
    except IntegrityError:
        db.session.rollback()
        result = work()
        db.session.flush()
        return result


def register(installation_id: str, data: dict[str, Any]) -> tuple[Device, bool]:
    """Register or refresh an installation; returns the device and whether it is new.

    `fcm_token` and `platform` are required; `app_version`, `locale`, `locality` and `topics`
    left out keep their stored values (null clears the first three). Sending the same body again
    changes nothing but the last-seen time.
    """
    check_installation_id(installation_id)
    token = check_fcm_token(data["fcm_token"])
    place = locality_id(data["locality"]) if "locality" in data else None
    topics = check_topics(data["topics"]) if "topics" in data else None

    def work() -> tuple[Device, bool]:
        now = utcnow()
        device = db.session.scalar(
            select(Device).where(Device.installation_id == installation_id)
        )
        _take_token_from_others(token, installation_id)
        created = device is None
        if device is None:
            device = Device(installation_id=installation_id, topics=[])
            db.session.add(device)
        if device.fcm_token != token:
            # A new token is a fresh start: whatever FCM said about the old one no longer holds.
            # The same token stays disabled if FCM rejected it (the app has not refreshed it).
            device.fcm_token = token
            device.disabled_reason = None
            device.disabled_at = None
        device.platform = data["platform"]
        for field in ("app_version", "locale"):
            if field in data:
                setattr(device, field, data[field])
        if "locality" in data:
            device.locality_id = place
        if topics is not None:
            device.topics = topics
        device.last_seen_at = now
        return device, created

    return _retry_once_on_conflict(work)


def _take_token_from_others(token: str, installation_id: str) -> None:
    """Free `token` from any other installation that holds it (tokens are unique)."""
    other = db.session.scalar(
        select(Device).where(Device.fcm_token == token, Device.installation_id != installation_id)
    )
    if other is None:
        return
    other.fcm_token = None
    if other.disabled_reason is None:
        other.disabled_reason = TOKEN_MOVED
        other.disabled_at = utcnow()
    # Now, before the new holder's row is written: the unique constraint is checked per row.
    db.session.flush()


def unregister(installation_id: str) -> Device:
    """Stop pushing to an installation at its own request; the token is forgotten."""
    device = get_device(check_installation_id(installation_id))
    device.fcm_token = None
    if device.disabled_reason != APP_UNREGISTERED:
        device.disabled_reason = APP_UNREGISTERED
        device.disabled_at = utcnow()
    device.last_seen_at = utcnow()
    return device


def set_topics(installation_id: str, topics: list[str]) -> Device:
    device = get_device(check_installation_id(installation_id))
    device.topics = check_topics(topics)
    device.last_seen_at = utcnow()
    return device


# --- push opt-outs ----------------------------------------------------------------------------

def opted_out(installation_id: str) -> bool:
    return db.session.scalar(
        select(OptOut.id).where(OptOut.channel == "push", OptOut.address == installation_id)
    ) is not None


def opt_out(installation_id: str, *, key: AppKey, reason: str = "") -> Device:
    """Record that this installation wants no pushes; idempotent."""
    device = get_device(check_installation_id(installation_id))

    def work() -> None:
        if opted_out(installation_id):
            return
        row = OptOut(channel="push", address=installation_id, source="api", reason=reason)
        db.session.add(row)
        db.session.flush()
        audit.record("optout.create", "opt_out", row.id, actor=None, details={
            "channel": "push", "address": installation_id, "source": "api",
            "app_key": key_ref(key),
        })

    _retry_once_on_conflict(work)
    device.last_seen_at = utcnow()
    return device


def opt_in(installation_id: str, *, key: AppKey) -> Device:
    """Lift this installation's push opt-out, whoever recorded it: it is the person's own wish."""
    device = get_device(check_installation_id(installation_id))
    row = db.session.scalar(
        select(OptOut).where(OptOut.channel == "push", OptOut.address == installation_id)
    )
    if row is not None:
        audit.record("optout.delete", "opt_out", row.id, actor=None, details={
            "channel": "push", "address": installation_id, "source": row.source,
            "app_key": key_ref(key),
        })
        db.session.delete(row)
    device.last_seen_at = utcnow()
    return device


def describe(device: Device) -> dict[str, Any]:
    """The device as the app sees it (never its token back)."""
    code = None
    if device.locality_id is not None:
        code = db.session.scalar(select(Locality.code).where(Locality.id == device.locality_id))
    return {
        "installation_id": device.installation_id,
        "platform": device.platform,
        "app_version": device.app_version,
        "locale": device.locale,
        "locality": code,
        "topics": device.topics or [],
        "active": device.disabled_reason is None and device.disabled_at is None,
        "disabled_reason": device.disabled_reason,
        "disabled_at": device.disabled_at,
        "opted_out": opted_out(device.installation_id),
        "msisdn": device.msisdn,
        "msisdn_verified": device.msisdn_verified_at is not None,
        "last_seen_at": device.last_seen_at,
        "created_at": device.created_at,
    }
