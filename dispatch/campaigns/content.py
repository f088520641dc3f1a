"""What a campaign says and to whom: its content fields, their checks, and the frozen snapshot.

The snapshot is the content as one canonical JSON dict (times in UTC, windows as HH:MM, the
audience normalised); its hash is what approval binds to. `cap_exempt` is not content: an approver
grants it at approval time, editors never set it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from dispatch.campaigns import audience, audit, placeholders, plans, settings, strategy
from dispatch.campaigns.preview import validate_sender
from dispatch.errors import ValidationFailed
from dispatch.models import Campaign

CONTENT_FIELDS = (
    "title", "phase_id", "decision_ref", "channels",
    "sms_text", "sms_sender", "sms_plain",
    "push_title", "push_body", "push_image", "push_link", "push_data",
    "audience", "send_at", "window_start", "window_end", "validity_hours", "priority",
    "strategy", "fallback_minutes",
    "reply_mode", "survey", "reply_days", "reply_ack",
)
REPLY_FIELDS = ("reply_mode", "survey", "reply_days", "reply_ack")
# Optional texts: blank means absent.
OPTIONAL_TEXTS = ("decision_ref", "sms_text", "sms_sender",
                  "push_title", "push_body", "push_image", "push_link")
# Keys FCM reserves in a message's data payload.
RESERVED_DATA_KEYS = frozenset({"from", "message_type", "collapse_key", "notification"})
RESERVED_DATA_PREFIXES = ("google.", "gcm.")


def uses_sms(channels: str) -> bool:
    return channels in ("sms", "both")


def uses_push(channels: str) -> bool:
    return channels in ("push", "both")


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def default_window() -> tuple[time, time]:
    """The send window admins configured (setting `send_window`), in local time."""
    window = settings.get("send_window")
    return parse_hhmm(window["start"]), parse_hhmm(window["end"])


def snapshot(c: Campaign) -> dict[str, Any]:
    """The campaign's content as a canonical, JSON-able dict."""
    snap = {
        "title": c.title,
        "phase_id": c.phase_id,
        "decision_ref": c.decision_ref,
        "channels": c.channels,
        "sms_text": c.sms_text,
        "sms_sender": c.sms_sender,
        "sms_plain": bool(c.sms_plain),
        "push_title": c.push_title,
        "push_body": c.push_body,
        "push_image": c.push_image,
        "push_link": c.push_link,
        "push_data": dict(c.push_data or {}),
        "audience": audience.normalise(c.audience),
        "send_at": None if c.send_at is None else c.send_at.astimezone(UTC).isoformat(),
        "window_start": hhmm(c.window_start),
        "window_end": hhmm(c.window_end),
        "validity_hours": c.validity_hours,
        "priority": c.priority,
        # Only when not the default: campaigns approved before strategies keep their hash.
        **strategy.snapshot_fields(c),
    }
    # Only a campaign that asks back carries its reply settings, so that every campaign
    # approved before replies existed keeps its hash.
    if (c.reply_mode or "none") != "none":
        snap.update({"reply_mode": c.reply_mode, "survey": dict(c.survey or {}),
                     "reply_days": c.reply_days, "reply_ack": c.reply_ack})
    return snap


def content_hash(c: Campaign) -> str:
    return audit.content_hash(snapshot(c))


def clean_changes(changes: dict[str, Any], *, now: datetime,
                  current: Campaign | None = None) -> dict[str, Any]:
    """Check and normalise the content fields of a create or an edit; errors name every field.

    `current` is the campaign an edit applies to: the push payload is checked as it would be
    stored, the campaign's push fields with the edit's on top.
    """
    errors: dict[str, list[str]] = {}
    clean = {k: v for k, v in changes.items() if k in CONTENT_FIELDS}
    for field in OPTIONAL_TEXTS:
        if isinstance(clean.get(field), str):
            clean[field] = clean[field].strip() or None
    if "title" in clean:
        clean["title"] = (clean["title"] or "").strip()
        if not clean["title"]:
            errors["title"] = ["Give a title."]
    if clean.get("sms_sender"):
        try:
            clean["sms_sender"] = validate_sender(clean["sms_sender"])
        except ValidationFailed as err:
            errors.update(err.errors)
    for field in placeholders.TEXT_FIELDS:
        errors.update(placeholders.field_errors(field, clean.get(field)))
    if "phase_id" in clean:
        errors.update(plans.phase_errors(clean["phase_id"]))
    if "audience" in clean:
        raw = clean["audience"] or {}
        errors.update(audience.reference_errors(raw))
        clean["audience"] = audience.normalise(raw)
    if clean.get("send_at") is not None:
        send_at = clean["send_at"].astimezone(UTC).replace(microsecond=0)
        if send_at <= now:
            errors["send_at"] = ["Give a time in the future, or leave empty to send on launch."]
        clean["send_at"] = send_at
    if "push_data" in clean:
        clean["push_data"] = dict(clean["push_data"] or {})
        for key in clean["push_data"]:
            if key in RESERVED_DATA_KEYS or key.startswith(RESERVED_DATA_PREFIXES):
                errors[f"push_data.{key}"] = ["This key is reserved by Firebase."]
    # FCM limits the push as a whole: edits that each fit can add up past the limit.
    push = {} if current is None else {f: getattr(current, f) for f in PUSH_PAYLOAD_FIELDS}
    push.update({f: clean[f] for f in PUSH_PAYLOAD_FIELDS if f in clean})
    for field, msgs in push_payload_errors(push).items():
        errors.setdefault(field, msgs)
    errors.update(_strategy_errors(clean, current))
    errors.update(_reply_errors(clean, current))
    if errors:
        raise _failed(errors)
    return clean


def _strategy_errors(clean: dict[str, Any], current: Campaign | None) -> dict[str, list[str]]:
    """Check the strategy as it would be stored; app_then_sms gets its default minutes."""
    def now(field: str, default: Any) -> Any:
        return clean[field] if field in clean else getattr(current, field, default)

    name = now("strategy", None) or strategy.BOTH
    if name == strategy.APP_THEN_SMS and now("fallback_minutes", None) is None:
        clean["fallback_minutes"] = strategy.DEFAULT_FALLBACK_MINUTES
    if "strategy" not in clean and "fallback_minutes" not in clean:
        return {}  # another field's edit: the channels are checked again at submission
    return strategy.errors(name, now("fallback_minutes", None), channels=now("channels", "sms"),
                           validity_hours=now("validity_hours", 24))
def _reply_errors(clean: dict[str, Any], current: Campaign | None) -> dict[str, list[str]]:
    """The reply settings as they would be stored, checked together (dispatch.replies.ask)."""
    from dispatch.replies import ask
    from dispatch.sms.receipts import opt_out_keywords

    if not any(f in clean for f in REPLY_FIELDS):
        return {}
    if isinstance(clean.get("reply_ack"), str):
        clean["reply_ack"] = clean["reply_ack"].strip() or None
    if "survey" in clean:
        clean["survey"] = ask.clean_survey(clean["survey"])
    merged = {f: getattr(current, f, None) for f in REPLY_FIELDS}
    merged.update({f: clean[f] for f in REPLY_FIELDS if f in clean})
    return ask.errors(merged["reply_mode"] or "none", merged["survey"], merged["reply_days"],
                      opt_out_keywords())


PUSH_PAYLOAD_FIELDS = ("push_title", "push_body", "push_image", "push_link", "push_data")


def push_payload_errors(fields: dict[str, Any]) -> dict[str, list[str]]:
    """FCM's limits on the push fields given: the field to fix and, if too big, by how much.

    The limit is the device message's 4 KB. A campaign that could go by topic (2 KB) and is
    bigger is sent per device instead (dispatch.push.topic.choose_push_mode).
    """
    from gateways.fcm import PayloadInvalid, PayloadTooLarge, PushContent, check_payload

    given = {f: fields[f] for f in PUSH_PAYLOAD_FIELDS if fields.get(f)}
    if not given:
        return {}
    data = {str(k): v for k, v in (given.get("push_data") or {}).items()}
    content = PushContent(title=given.get("push_title"), body=given.get("push_body"),
                          image=given.get("push_image"), link=given.get("push_link"), data=data)
    try:
        check_payload(content)
    except PayloadTooLarge as exc:
        # Name the biggest field: the one whose trimming helps most.
        field = max(given, key=lambda f: len(json.dumps(given[f], ensure_ascii=False).encode()))
        return {field: [f"The push is {exc.size:,} bytes, {exc.over:,} over FCM's "
                        f"{exc.limit:,}-byte limit: shorten it by at least {exc.over:,} bytes "
                        "(a Vietnamese letter with diacritics takes 2–3 bytes)."]}
    except PayloadInvalid as exc:
        name = exc.field
        field = {"image": "push_image", "body": "push_body", "data": "push_data"}.get(
            name, "push_" + name if name.startswith("data.") else "push_data")
        text = exc.reason.split(": ", 1)[-1]
        return {field: [text[:1].upper() + text[1:] + "."]}
    return {}


def window_errors(start: time, end: time) -> dict[str, list[str]]:
    if start >= end:
        return {"window_end": ["The send window must end after it starts (same day)."]}
    return {}


def submission_errors(c: Campaign, *, now: datetime) -> dict[str, list[str]]:
    """What keeps the campaign from being submitted, by field."""
    errors: dict[str, list[str]] = {}
    if uses_sms(c.channels):
        if not (c.sms_text or "").strip():
            errors["sms_text"] = ["SMS needs a text."]
        if not c.sms_sender:
            errors["sms_sender"] = ["SMS needs a sender (brandname)."]
        else:
            try:
                validate_sender(c.sms_sender)
            except ValidationFailed as err:
                errors.update(err.errors)
    if uses_push(c.channels):
        if not (c.push_title or "").strip():
            errors["push_title"] = ["Push needs a title."]
        if not (c.push_body or "").strip():
            errors["push_body"] = ["Push needs a body."]
        for field, msgs in push_payload_errors(
                {f: getattr(c, f) for f in PUSH_PAYLOAD_FIELDS}).items():
            errors.setdefault(field, msgs)
    for field in placeholders.TEXT_FIELDS:
        errors.update(placeholders.field_errors(field, getattr(c, field)))
    defined = audience.normalise(c.audience)
    errors.update(audience.targeting_errors(defined, c.channels))
    # A list or locality may have been deleted since the draft was written.
    errors.update(audience.reference_errors(defined))
    if c.send_at is not None and c.send_at <= now:
        errors["send_at"] = ["The send time has passed; give a new one or leave it empty."]
    errors.update(window_errors(c.window_start, c.window_end))
    errors.update(strategy.errors(c.strategy or strategy.BOTH, c.fallback_minutes,
                                  channels=c.channels, validity_hours=c.validity_hours))
    return errors


def _failed(errors: dict[str, list[str]], lead: str = "") -> ValidationFailed:
    fields = ", ".join(errors)
    return ValidationFailed(f"{lead}{fields}: {next(iter(errors.values()))[0]}"
                            if len(errors) == 1 else f"{lead}check {fields}.", errors=errors)


def incomplete(errors: dict[str, list[str]]) -> ValidationFailed:
    return _failed(errors, "Not ready to submit: ")


def flat(snap: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with the audience spread into `audience.<key>` entries, for diffs."""
    out = {k: v for k, v in snap.items() if k != "audience"}
    for key, value in (snap.get("audience") or {}).items():
        out[f"audience.{key}"] = value
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields whose value differs, in content order, with both values."""
    old, new = flat(before), flat(after)
    order = list(dict.fromkeys([*old, *new]))
    return [{"field": k, "before": old.get(k), "after": new.get(k)}
            for k in order if old.get(k) != new.get(k)]
