"""Run-time settings admins change (prices, caps, window), with their seeded defaults."""

from __future__ import annotations

from typing import Any

from dispatch.extensions import db
from dispatch.models import Setting
from dispatch.seed import DEFAULT_SETTINGS


def get(key: str) -> Any:
    row = db.session.get(Setting, key)
    if row is not None:
        return row.value
    return DEFAULT_SETTINGS[key]
