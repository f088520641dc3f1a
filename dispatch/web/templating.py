"""What templates may call besides translations: the viewer, permissions and progress figures."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import flask_login
from flask import Flask
from flask_babel import gettext
from markupsafe import Markup, escape

from dispatch.campaigns import plans
from dispatch.config import local_zone
from dispatch.models import User
from dispatch.web.durations import duration_words, pace_words
from dispatch.web.i18n import _l, add_filters, dt, label, num
from dispatch.web.labels import bind_state, entity, note, queue_name, reason, script_words
from dispatch.web.pages import can

# Statuses of a message that left Loa (or whose fate is unknown): the "sent" stage of the funnel.
SENT = ("submitted", "delivered", "partial", "failed", "expired", "unknown")
FIELD_LABELS: dict[str, Any] = {
    "title": _l("Title"), "phase_id": _l("Phase"), "decision_ref": _l("Decision reference"),
    "channels": _l("Channels"), "sms_text": _l("SMS text"), "sms_sender": _l("Brandname"),
    "sms_plain": _l("Without diacritics"), "push_title": _l("Notification title"),
    "push_body": _l("Notification text"), "push_image": _l("Image"), "push_link": _l("Link"),
    "push_data": _l("Extra data"), "audience": _l("Audience"), "send_at": _l("Send at"),
    "window_start": _l("Window start"), "window_end": _l("Window end"),
    "validity_hours": _l("Validity"), "priority": _l("Priority"),
    "strategy": _l("Channel strategy"), "fallback_minutes": _l("Minutes before the SMS"),
    "reason": _l("Reason"),
    "snapshot_hash": _l("Reviewed version"), "cap_exempt": _l("Cap exemption"),
    "username": _l("Username"), "roles": _l("Roles"), "password": _l("Password"),
    "current_password": _l("Current password"), "new_password": _l("New password"),
    "confirm_password": _l("Repeat the new password"), "name": _l("Name"),
    "address": _l("Address"), "channel": _l("Channel"), "file": _l("File"),
    "statuses": _l("Statuses"), "value": _l("Value"), "operators": _l("Operators"),
    "brandnames": _l("Brandnames"), "host": _l("Host"), "port": _l("Port"),
    "system_id": _l("System ID"), "tps": _l("TPS"), "window": _l("Window"),
    "days": _l("Valid for (days)"), "since": _l("From"), "until": _l("To"),
    "starts_on": _l("First day"), "ends_on": _l("Last day"), "reference": _l("Reference"),
    "purpose": _l("Purpose"), "description": _l("Description"),
    # the inbox of replies
    "campaign_id": _l("Campaign"), "locality_id": _l("Locality"), "operator": _l("Operator"),
    "label_id": _l("Label"), "state": _l("State"), "kind": _l("Kind"),
    "assigned_to_id": _l("Assigned to"), "q": _l("Search"), "ids": _l("Chosen replies"),
    "filter": _l("Filter"), "note": _l("Internal note"), "format": _l("Format"),
}


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(viewer=viewer, can=can, funnel=funnel, role_options=role_options,
                                 waiting_texts=waiting_texts, progress_note=progress_note,
                                 script_words=script_words)
    add_filters(app, sent=sent, field_label=field_label, cells=cells, calday=plans.day,
                phase_label=plans.phase_label, reason=reason, bind_state=bind_state,
                queue_name=queue_name, entity=entity, note=note, duration=duration_words,
                pace=pace_words, local_when=local_when)


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


# A row's start, or one cell with its content (cells never hold another table: the text inside is
# escaped, so a "<td" in it can only be the template's own markup).
_CELL = re.compile(r"<tr\b[^>]*>|<(t[dh])\b([^>]*)>((?:(?!<t[dhr]\b|</t[dh]>).)*)</\1>",
                   re.S | re.I)
_SPAN = re.compile(r"\bcolspan\s*=\s*[\"']?(\d+)", re.I)


def heading_text(heading: Any) -> str:
    """A table heading as `macros.table` takes it: a text, or a (text, css class) pair."""
    return str(heading[0] if isinstance(heading, (tuple, list)) else heading)


def cells(body: str, headings: list[Any]) -> Markup:
    """The rows of a table, each cell labelled with its column's heading (`data-label`) and its
    content wrapped in `<div class="cell">`: on a narrow screen a `table.stack` shows each row as
    a card of "heading: value" lines (loa.css), leaving out the empty ones (`data-empty`). A cell
    spanning columns, or under an empty heading (the actions), gets no label; a cell that already
    has one keeps it."""
    labels = [heading_text(h) for h in headings]
    column = 0

    def relabel(found: re.Match[str]) -> str:
        nonlocal column
        if found.group(1) is None:
            column = 0
            return found.group(0)
        tag, attrs, content = found.group(1), found.group(2), found.group(3)
        span = _SPAN.search(attrs)
        width = int(span.group(1)) if span else 1
        here = labels[column] if width == 1 and column < len(labels) else ""
        column += width
        if here and "data-label" not in attrs:
            attrs += f' data-label="{escape(here)}"'
        if not content.strip():
            attrs += " data-empty"
        return f'<{tag}{attrs}><div class="cell">{content}</div></{tag}>'

    return Markup(_CELL.sub(relabel, str(body)))


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


def waiting_texts(when: str = "{time}") -> dict[str, str]:
    """What each `waiting_for` code of the progress API says on the page (`when` filled in)."""
    return {
        "send_window": gettext("Waiting for the send window, starting at %(time)s", time=when),
        "scheduled": gettext("Scheduled, starting at %(time)s", time=when),
        "paused": gettext("Paused"),
        "bind_down": gettext("Waiting for an operator link: no SMPP connection is up"),
        "push_blocked": gettext("Waiting: app notifications are stopped"),
        "fallback": gettext("Waiting: the SMS go only if the app notification is refused or "
                            "not opened in time"),
    }


def local_when(value: str | None) -> str:
    """07:00 today, or 07:00 03/12/2026 on another day (local time)."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value)
    try:
        same_day = moment.astimezone(local_zone()).date() == datetime.now(local_zone()).date()
    except (OverflowError, ValueError):  # at the calendar's edge: shown as stored
        same_day = False
    return dt(moment, "HH:mm" if same_day else "HH:mm dd/MM/yyyy")


def progress_note(c: Any, figures: dict[str, Any]) -> str:
    """The line under a progress bar: why nothing moves, or how a cancelled campaign ended."""
    if figures.get("expanding"):
        return gettext("Preparing the recipient list…")
    if c.status.value == "cancelled":
        return gettext("Cancelled: %(sent)s of %(total)s messages were sent.",
                       sent=num(sent(figures)), total=num(figures.get("total", 0)))
    waiting = figures.get("waiting_for")
    if waiting == "paused" and figures.get("pause_reason"):
        return f"{gettext('Paused:')} {note(figures['pause_reason'])}"
    if waiting:
        return waiting_texts(local_when(figures.get("waiting_until"))).get(waiting, "")
    return ""
