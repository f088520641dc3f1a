"""What a push says and how it is dressed for FCM: content, size check, `messaging.Message`.

`PushContent` is the campaign's notification, shared by every device of a batch. It becomes
a `firebase_admin.messaging.Message` per device (or one for a topic) in `build_message`, which
also turns the validity end into the Android TTL and the APNs `apns-expiration` header at the
moment of sending, so a batch retried an hour later does not live an hour longer.

Size: FCM refuses a message whose payload passes 4096 bytes (2048 for a topic message). We count
the bytes of the compact UTF-8 JSON of what reaches the app, the `notification` object (title,
body, image) and the `data` object (deep link included), as they go on the wire. Bytes, not
characters: a Vietnamese letter with diacritics is 2-3 bytes, so a 1,500-character body can
already be over. Delivery options (priority, TTL, collapse key, APNs headers) are not payload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from firebase_admin import messaging

from gateways.errors import Permanent

MAX_PAYLOAD = 4096
MAX_TOPIC_PAYLOAD = 2048
MAX_TTL = timedelta(days=28)  # FCM keeps an undelivered message at most 4 weeks
LINK_KEY = "link"  # data key the app reads the deep link from
# Data keys FCM reserves for itself (and any key starting with "google" or "gcm").
RESERVED_KEYS = frozenset({"from", "message_type", "collapse_key", "notification"})
MAX_COLLAPSE_ID = 64  # bytes, APNs' limit on apns-collapse-id

Priority = Literal["normal", "high"]


class PayloadTooLarge(Permanent):
    """The payload is over FCM's limit; `over` says by how many bytes."""

    def __init__(self, size: int, limit: int, *, topic: bool) -> None:
        kind = "topic message" if topic else "device message"
        super().__init__(
            f"push payload is {size:,} bytes, {size - limit:,} over FCM's {limit:,}-byte limit "
            f"for a {kind}",
            code="PAYLOAD_TOO_LARGE",
        )
        self.size = size
        self.limit = limit
        self.over = size - limit


class PayloadInvalid(Permanent):
    """A field of the content cannot be sent; `field` names it (e.g. `data.from`)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}", code="INVALID_ARGUMENT")
        self.field = field_name


@dataclass(frozen=True)
class PushContent:
    """The notification a campaign sends; the same object is shared by all its devices."""

    title: str | None = None
    body: str | None = None
    image: str | None = None  # https URL shown in the notification (Android and iOS)
    link: str | None = None  # deep link, sent as data[LINK_KEY] for the app to open
    data: Mapping[str, str] = field(default_factory=dict)
    priority: Priority = "normal"  # "high" wakes the device (Android high, APNs 10)
    expires_at: datetime | None = None  # end of validity (aware); None: FCM's default 4 weeks
    collapse_key: str | None = None  # a newer push with the same key replaces an undelivered one

    def wire_data(self) -> dict[str, str]:
        """Return the data payload as sent: the data fields plus the deep link."""
        data = dict(self.data)
        if self.link:
            data[LINK_KEY] = self.link
        return data


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One per-device push: the caller's reference, the FCM registration token, the content."""

    ref: str
    token: str
    content: PushContent


def validate(content: PushContent) -> None:
    """Raise PayloadInvalid naming the first field FCM would refuse."""
    if not (content.title or content.body or content.data or content.link):
        raise PayloadInvalid("body", "a push needs a title, a body or data")
    for key, value in content.data.items():
        if not isinstance(key, str) or not key:
            raise PayloadInvalid("data", "keys must be non-empty strings")
        if not isinstance(value, str):
            raise PayloadInvalid(f"data.{key}", "values must be strings")
        if key in RESERVED_KEYS or key.lower().startswith(("google", "gcm")):
            raise PayloadInvalid(f"data.{key}", "is a key reserved by FCM")
    if content.link and LINK_KEY in content.data:
        raise PayloadInvalid(f"data.{LINK_KEY}", "is taken by the deep link")
    if content.priority not in ("normal", "high"):
        raise PayloadInvalid("priority", "must be 'normal' or 'high'")
    if content.image and not content.image.startswith("https://"):
        raise PayloadInvalid("image", "must be an https:// URL")
    if content.collapse_key and len(content.collapse_key.encode()) > MAX_COLLAPSE_ID:
        raise PayloadInvalid("collapse_key", f"must be at most {MAX_COLLAPSE_ID} bytes")
    if content.expires_at is not None and content.expires_at.tzinfo is None:
        raise PayloadInvalid("expires_at", "must be timezone-aware")


def payload_size(content: PushContent) -> int:
    """Return the payload size in bytes as FCM limits it (see the module docstring)."""
    body: dict[str, object] = {}
    notification = {
        key: value
        for key, value in (("title", content.title), ("body", content.body),
                           ("image", content.image))
        if value
    }
    if notification:
        body["notification"] = notification
    data = content.wire_data()
    if data:
        body["data"] = data
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


def check_payload(content: PushContent, *, topic: bool = False) -> int:
    """Validate the content and return its size; raise PayloadInvalid or PayloadTooLarge."""
    validate(content)
    size = payload_size(content)
    limit = MAX_TOPIC_PAYLOAD if topic else MAX_PAYLOAD
    if size > limit:
        raise PayloadTooLarge(size, limit, topic=topic)
    return size


def remaining_ttl(content: PushContent, now: datetime | None = None) -> timedelta | None:
    """Return how long FCM may still hold the message (capped at 4 weeks); None: no limit set."""
    if content.expires_at is None:
        return None
    now = now or datetime.now(UTC)
    return min(content.expires_at - now, MAX_TTL)


def build_message(
    content: PushContent,
    *,
    token: str | None = None,
    topic: str | None = None,
    condition: str | None = None,
    now: datetime | None = None,
    parts: Mapping[str, Any] | None = None,
) -> messaging.Message:
    """Build the SDK message for one token, topic or condition (exactly one).

    `parts` is `shared_fields(content, now)` when the caller builds many messages of the same
    content at the same moment (a batch of 500): they then share it instead of each building
    its own notification, Android and APNs objects.
    """
    if sum(target is not None for target in (token, topic, condition)) != 1:
        raise ValueError("exactly one of token, topic or condition")
    message = messaging.Message(
        **(parts if parts is not None else shared_fields(content, now)),
        topic=topic, condition=condition,
    )
    if token is not None:
        # The app registers its FCM registration token, which the v1 API addresses as
        # `message.token`. firebase-admin 7.x marks the `token=` argument deprecated in favour
        # of `fid=` (a Firebase installation ID, another identifier the app does not send us);
        # assigning the attribute sends the same `token` field without the constructor's
        # DeprecationWarning, and without touching the process-wide warning filters, which
        # `warnings.catch_warnings` would do unsafely from several threads.
        message.token = token
    return message


def shared_fields(content: PushContent, now: datetime | None = None) -> dict[str, Any]:
    """Return the fields of a message that depend only on the content and the time of sending.

    The SDK only reads these objects when it encodes a message, so one set can serve a batch.
    """
    now = now or datetime.now(UTC)
    ttl = remaining_ttl(content, now)
    notification = None
    if content.title or content.body or content.image:
        notification = messaging.Notification(
            title=content.title, body=content.body, image=content.image
        )
    android = messaging.AndroidConfig(
        priority=content.priority,
        # Whole seconds, rounded up, never zero: 0 would mean "now or never" to FCM.
        ttl=None if ttl is None else timedelta(seconds=max(1, math.ceil(ttl.total_seconds()))),
        collapse_key=content.collapse_key,
    )
    headers = {"apns-priority": "10" if content.priority == "high" else "5"}
    if content.expires_at is not None:
        headers["apns-expiration"] = str(int(min(content.expires_at, now + MAX_TTL).timestamp()))
    if content.collapse_key:
        headers["apns-collapse-id"] = content.collapse_key
    apns = messaging.APNSConfig(headers=headers)
    if content.image:
        # iOS shows an image only through the app's notification service extension, which
        # runs when mutable-content is set; FCM hands it the URL in fcm_options.image.
        apns.payload = messaging.APNSPayload(aps=messaging.Aps(mutable_content=True))
        apns.fcm_options = messaging.APNSFCMOptions(image=content.image)
    return {"notification": notification, "data": content.wire_data() or None,
            "android": android, "apns": apns}
