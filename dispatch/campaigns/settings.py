"""Run-time settings admins change (prices, caps, window), with their seeded defaults."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from dispatch.campaigns import audit
from dispatch.errors import NotFound, ValidationFailed, flatten_errors
from dispatch.extensions import db
from dispatch.models import Setting, User
from dispatch.schemas.settings import (
    KeywordsValue,
    PricesValue,
    RecipientCapValue,
    SendWindowValue,
)
from dispatch.seed import DEFAULT_SETTINGS

# How each key's value is validated; a list value is wrapped as {"keywords": [...]}.
VALIDATORS: dict[str, type[ma.Schema]] = {
    "sms_price_per_part": PricesValue,
    "send_window": SendWindowValue,
    "recipient_cap": RecipientCapValue,
    "opt_out_keywords": KeywordsValue,
}


def get(key: str) -> Any:
    row = db.session.get(Setting, key)
    if row is not None:
        return row.value
    return DEFAULT_SETTINGS[key]


def get_row(key: str) -> Setting:
    if key not in VALIDATORS:
        raise NotFound(f"No setting {key!r}; settings are {', '.join(sorted(VALIDATORS))}.")
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=DEFAULT_SETTINGS[key])
        db.session.add(row)
        db.session.flush()
    return row


def update(key: str, value: Any, *, actor: User) -> Setting:
    """Validate and store a setting; errors name the field under `value`."""
    row = get_row(key)
    wrapped = {"keywords": value} if key == "opt_out_keywords" else value
    try:
        clean = VALIDATORS[key]().load(wrapped)
    except ma.ValidationError as err:
        messages: Any = err.messages
        if key == "opt_out_keywords" and isinstance(messages, dict):
            messages = messages.get("keywords", messages)
        errors = flatten_errors(messages, "value")
        field, msgs = next(iter(errors.items()))
        raise ValidationFailed(f"{field}: {msgs[0]}", errors=errors) from None
    new_value = clean["keywords"] if key == "opt_out_keywords" else clean
    before = audit.content_hash(row.value)
    row.value = new_value
    row.updated_by_id = actor.id
    audit.record("setting.update", "setting", key, actor=actor, before_hash=before,
                 after_hash=audit.content_hash(new_value), details={"value": new_value})
    return row
