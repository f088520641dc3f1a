"""What templates may call besides translations: the viewer, permissions and progress figures."""

from __future__ import annotations

from typing import Any

import flask_login
from flask import Flask

from dispatch.models import User
from dispatch.web.i18n import _l, label
from dispatch.web.labels import bind_state, entity, note, queue_name, reason, script_words
from dispatch.web.pages import can

# Statuses of a message that left Loa (or whose fate is unknown): the "sent" stage of the funnel.
SENT = ("submitted", "delivered", "partial", "failed", "expired", "unknown")
FIELD_LABELS: dict[str, Any] = {
    "title": _l("Title"), "phase_tag": _l("Phase"), "decision_ref": _l("Decision reference"),
    "channels": _l("Channels"), "sms_text": _l("SMS text"), "sms_sender": _l("Brandname"),
    "sms_plain": _l("Without diacritics"), "push_title": _l("Notification title"),
    "push_body": _l("Notification text"), "push_image": _l("Image"), "push_link": _l("Link"),
    "push_data": _l("Extra data"), "audience": _l("Audience"), "send_at": _l("Send at"),
    "window_start": _l("Window start"), "window_end": _l("Window end"),
    "validity_hours": _l("Validity"), "priority": _l("Priority"), "reason": _l("Reason"),
    "snapshot_hash": _l("Reviewed version"), "cap_exempt": _l("Cap exemption"),
    "username": _l("Username"), "roles": _l("Roles"), "password": _l("Password"),
    "current_password": _l("Current password"), "new_password": _l("New password"),
    "confirm_password": _l("Repeat the new password"), "name": _l("Name"),
    "address": _l("Address"), "channel": _l("Channel"), "file": _l("File"),
    "statuses": _l("Statuses"), "value": _l("Value"), "operators": _l("Operators"),
    "brandnames": _l("Brandnames"), "host": _l("Host"), "port": _l("Port"),
    "system_id": _l("System ID"), "tps": _l("TPS"), "window": _l("Window"),
    "days": _l("Valid for (days)"),
}


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(viewer=viewer, can=can, funnel=funnel, role_options=role_options,
                                 script_words=script_words)
    app.jinja_env.filters.update(sent=sent, field_label=field_label, reason=reason,
                                 bind_state=bind_state, queue_name=queue_name,
                                 entity=entity, note=note)


def viewer() -> User | None:
    """The signed-in person, if any (never raises, unlike `dispatch.access.auth.current_user`)."""
    current = flask_login.current_user
    return current.user if current and current.is_authenticated else None


def role_options(roles: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(role, label(role)) for role in roles]


def sent(figures: dict[str, Any]) -> int:
    return sum(int(figures.get("by_status", {}).get(s, 0)) for s in SENT)


def field_label(key: str) -> str:
    """`audience.lists.0` → the label of `audience`, followed by the rest of the path."""
    head, _, rest = key.partition(".")
    found = FIELD_LABELS.get(key) or FIELD_LABELS.get(head)
    if found is None:
        return key
    return f"{found} ({rest})" if rest and key not in FIELD_LABELS else str(found)


def funnel(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel's bars: recipients → sent → delivered, then what fell out and why."""
    by = figures.get("by_status", {})
    total = int(figures.get("total", 0))
    rows = [
        ("total", _l("Recipients"), total),
        ("sent", _l("Sent"), sent(figures)),
        ("delivered", _l("Delivered"), by.get("delivered", 0) + by.get("partial", 0)),
        ("failed", _l("Failed"), by.get("failed", 0) + by.get("expired", 0)),
        ("unknown", _l("Unknown"), by.get("unknown", 0)),
        ("suppressed", _l("Not sent"), by.get("suppressed", 0) + by.get("cancelled", 0)),
    ]
    return [{"key": key, "label": str(text), "count": int(count),
             "width": round(100.0 * count / total, 1) if total else 0.0}
            for key, text, count in rows]
