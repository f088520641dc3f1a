"""Durations and paces in words for the pages (the estimate before launch, the pace while
sending)."""

from __future__ import annotations

from flask_babel import gettext


def duration_words(seconds: int | None) -> str:
    """≈ 2 h 15 min (in the page's language), to the minute; under a minute, "< 1 min"."""
    if seconds is None:
        return "—"
    minutes = (seconds + 59) // 60
    if minutes < 1:
        return gettext("less than a minute")
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = []
    if days:
        parts.append(gettext("%(n)s d", n=days))
    if hours:
        parts.append(gettext("%(n)s h", n=hours))
    if minutes:
        parts.append(gettext("%(n)s min", n=minutes))
    return "≈ " + " ".join(parts)


def pace_words(limit: str) -> str:
    """What sets an account's pace (`dispatch.sms.pace.LIMITS`, and a closed send window)."""
    return {
        "tps": gettext("its TPS (the operator's allowance)"),
        "window": gettext("its window: the SMSC answers too slowly for the TPS"),
        "refusals": gettext("SMSC refusals (0x58/0x14): Loa slows down and recovers"),
        "bind_down": gettext("no connection to the operator is up"),
        "send_window": gettext("the send window is closed"),
    }.get(limit, limit)
