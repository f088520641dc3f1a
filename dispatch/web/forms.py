"""Posted forms turned into the values the API schemas and services take, and back.

The pages validate with the API's own marshmallow schemas and the services, so a page and an API
call refuse the same input with the same message; this module only translates between HTML form
fields (strings, check boxes, local times) and those values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from dispatch.campaigns import audience
from dispatch.config import local_zone
from dispatch.errors import flatten_errors
from dispatch.models import Campaign
from dispatch.schemas.campaigns import CampaignCreateSchema, CampaignWriteSchema
from dispatch.schemas.fields import YEARS_MESSAGE, in_years
from dispatch.web import reply_form
from dispatch.web.pages import Errors, whole

OPTIONAL_TEXTS = ("decision_ref", "sms_text", "sms_sender", "push_title",
                  "push_body", "push_image", "push_link")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def text(form: MultiDict[str, str], name: str) -> str:
    """A field's text with browser line ends (CRLF) made plain: a resave must change nothing."""
    return form.get(name, "").replace("\r\n", "\n").strip()


def number_or_text(value: str | None) -> int | str:
    """A field for a schema's Integer: the number, or the text for the schema to refuse."""
    number = whole(value)
    return (value or "").strip() if number is None else number


def ints(values: list[str]) -> list[int]:
    return [n for v in values if (n := whole(v)) is not None]


def load(schema: ma.Schema, raw: dict[str, Any],
         blank: dict[str, str] | None = None) -> tuple[dict[str, Any], Errors]:
    """A form's values through the API's schema: the clean data, or the errors per field.

    `blank` words the refusal of a field left empty for a person ("Give the list a name.")
    instead of the schema's length rule.
    """
    try:
        return schema.load(raw), {}
    except ma.ValidationError as err:
        errors = flatten_errors(err.messages)
    for name, message in (blank or {}).items():
        if name in errors and not raw.get(name):
            errors[name] = [message]
    return {}, errors


def parse_local(value: str) -> datetime | None:
    """`<input type=datetime-local>` (local time) to an aware datetime.

    ValueError if malformed or outside the years Loa accepts (dispatch.schemas.fields).
    """
    value = value.strip()
    if not value:
        return None
    moment = datetime.strptime(value[:16], LOCAL_INPUT).replace(tzinfo=local_zone())
    if not in_years(moment):
        raise OutOfYears(value)
    return moment


class OutOfYears(ValueError):
    """A well-formed date outside the years Loa accepts."""


def to_local_input(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(local_zone()).strftime(LOCAL_INPUT)


def parse_pairs(value: str) -> tuple[dict[str, str], list[str]]:
    """`key=value` lines (push data) to a dict, with a message per malformed line."""
    data: dict[str, str] = {}
    problems = []
    for number, line in enumerate(value.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, item = line.partition("=")
        if not sep or not key.strip():
            problems.append(f"Line {number}: write key=value.")
            continue
        data[key.strip()] = item.strip()
    return data, problems


def campaign_input(form: MultiDict[str, str], *, creating: bool) -> tuple[dict[str, Any], Errors]:
    """The composer's fields as the campaign API takes them, or the errors per field."""
    errors: Errors = {}
    raw: dict[str, Any] = {"title": text(form, "title"),
                           "channels": form.get("channels", "sms")}
    for name in OPTIONAL_TEXTS:
        raw[name] = text(form, name) or None
    raw["phase_id"] = number_or_text(form.get("phase_id")) if form.get("phase_id", "").strip() \
        else None
    raw["sms_plain"] = form.get("sms_plain") == "on"
    raw["priority"] = form.get("priority", "normal")
    # The strategy's section is hidden unless both channels are chosen: its radio then says
    # nothing the editor still sees.
    raw["strategy"] = form.get("strategy", "both") if raw["channels"] == "both" else "both"
    if form.get("fallback_minutes", "").strip():
        raw["fallback_minutes"] = number_or_text(form.get("fallback_minutes"))
    raw["audience"] = {
        "lists": ints(form.getlist("lists")),
        "exclude_lists": ints(form.getlist("exclude_lists")),
        "localities": [c for c in form.getlist("localities") if c.strip()],
        "all_app_users": form.get("all_app_users") == "on",
    }
    try:
        send_at = parse_local(form.get("send_at", ""))
        raw["send_at"] = None if send_at is None else send_at.isoformat()
    except OutOfYears:
        errors["send_at"] = [YEARS_MESSAGE]
    except ValueError:
        errors["send_at"] = ["Give a date and time, or leave it empty."]
    for name in ("window_start", "window_end"):
        if form.get(name, "").strip():
            raw[name] = form.get(name, "").strip()[:5]
    if form.get("validity_hours", "").strip():
        raw["validity_hours"] = number_or_text(form.get("validity_hours"))
    pairs, problems = parse_pairs(form.get("push_data", ""))
    if problems:
        errors["push_data"] = problems
    raw["push_data"] = pairs
    reply_form.reply_input(form, raw)
    data, refused = load(CampaignCreateSchema() if creating else CampaignWriteSchema(), raw)
    errors.update(refused)
    return data, errors


def campaign_values(c: Campaign | None, defaults: dict[str, Any]) -> MultiDict[str, str]:
    """The composer's fields filled from a campaign (or the defaults of a new one)."""
    if c is None:
        return MultiDict({"channels": "sms", "priority": "normal", "strategy": "both",
                          "reply_mode": "none", "reply_days": "7", **defaults})
    values: MultiDict[str, str] = MultiDict()
    values["title"] = c.title
    values["channels"] = c.channels
    for name in OPTIONAL_TEXTS:
        values[name] = getattr(c, name) or ""
    values["phase_id"] = "" if c.phase_id is None else str(c.phase_id)
    if c.sms_plain:
        values["sms_plain"] = "on"
    values["priority"] = c.priority
    values["strategy"] = c.strategy or "both"
    values["fallback_minutes"] = "" if c.fallback_minutes is None else str(c.fallback_minutes)
    defined = audience.normalise(c.audience)
    for key in ("lists", "exclude_lists", "localities"):
        for item in defined[key]:
            values.add(key, str(item))
    if defined["all_app_users"]:
        values["all_app_users"] = "on"
    values["send_at"] = to_local_input(c.send_at)
    values["window_start"] = c.window_start.strftime("%H:%M")
    values["window_end"] = c.window_end.strftime("%H:%M")
    values["validity_hours"] = str(c.validity_hours)
    values["push_data"] = "\n".join(f"{k}={v}" for k, v in (c.push_data or {}).items())
    reply_form.reply_values(c, values)
    return values


def setting_input(key: str, form: MultiDict[str, str]) -> Any:
    """An admin settings form as the value `dispatch.campaigns.settings.update` validates."""
    from dispatch.models import OPERATORS

    if key == "sms_price_per_part":
        return {op: number_or_text(form.get(op)) for op in OPERATORS}
    if key == "send_window":
        return {"start": form.get("start", "").strip()[:5], "end": form.get("end", "").strip()[:5]}
    if key == "recipient_cap":
        return {name: number_or_text(form.get(name)) for name in ("max_campaigns", "hours")}
    if key == "opt_out_keywords":
        return [w.strip().upper() for w in form.get("keywords", "").replace(",", " ").split()]
    raise KeyError(key)
