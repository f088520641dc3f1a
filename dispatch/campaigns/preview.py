"""The SMS preview: encoding, parts and cost of a text and of its no-diacritics variant.

Editors see both before approval because billing is per part: one Vietnamese diacritic forces
UCS-2 (70/67 units a part) where the same text without diacritics fits GSM-7 (160/153).
"""

from __future__ import annotations

from typing import Any

from dispatch.campaigns import settings
from dispatch.errors import ValidationFailed
from dispatch.models import OPERATORS
from gateways.sms.encoding import SmsAnalysis, analyse, split, strip_diacritics

# Longest text the preview accepts, in characters: ten full GSM-7 parts. A Vietnamese text of this
# length is 23 UCS-2 parts, still shown, so the editor sees what the plain variant saves.
MAX_TEXT_CHARS = 1530

MAX_SENDER = 11
SENDER_SYMBOLS = " .-_&+"
CURRENCY = "VND"


def _sender_reasons(sender: str) -> list[str]:
    reasons: list[str] = []
    if not sender:
        return ["Give a brandname (at most 11 letters, digits or . - _ & +)."]
    bad = [ch for ch in dict.fromkeys(sender)
           if not (ch.isascii() and (ch.isalnum() or ch in SENDER_SYMBOLS))]
    if bad:
        listed = ", ".join(repr(ch) for ch in bad)
        plain = strip_diacritics(sender)
        if plain != sender and all(ch.isascii() for ch in plain):
            reasons.append(f"Not allowed: {listed}. A brandname has no diacritics; "
                           f"write {plain!r}.")
        else:
            reasons.append(f"Not allowed: {listed}. Use letters A-Z, digits, spaces "
                           f"and . - _ & +.")
    if len(sender) > MAX_SENDER:
        reasons.append(f"{len(sender)} characters; a brandname has at most {MAX_SENDER}.")
    return reasons


def validate_sender(sender: str, *, field: str = "sms_sender") -> str:
    """Return the brandname trimmed, or raise ValidationFailed naming `field` and the reason."""
    trimmed = (sender or "").strip()
    reasons = _sender_reasons(trimmed)
    if reasons:
        raise ValidationFailed(f"{field}: {reasons[0]}", errors={field: reasons})
    return trimmed


def _variant(text: str, result: SmsAnalysis) -> dict[str, Any]:
    return {
        "text": text,
        "encoding": result.encoding,
        "data_coding": result.data_coding,
        "forcing_char": result.forcing_char,
        "forcing_index": result.forcing_index,
        "units": result.units,
        "parts": result.parts,
        "per_part": result.per_part,
        "remaining": result.remaining,
        "segments": list(split(text).texts),
    }


def _check_recipients(recipients: dict[str, int]) -> None:
    errors: dict[str, list[str]] = {}
    for operator, count in recipients.items():
        if operator not in OPERATORS:
            errors[f"recipients.{operator}"] = [
                f"Unknown operator {operator!r}; use {', '.join(OPERATORS)}."]
        elif isinstance(count, bool) or not isinstance(count, int) or count < 0:
            errors[f"recipients.{operator}"] = ["Give a whole number of recipients, 0 or more."]
    if errors:
        first, messages = next(iter(errors.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", errors=errors)


def _cost_rows(recipients: dict[str, int], prices: dict[str, int], original_parts: int,
               plain_parts: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    sums = {"original": {"parts": 0, "cost": 0}, "plain": {"parts": 0, "cost": 0}}
    for operator in OPERATORS:  # a stable order for the UI
        if operator not in recipients:
            continue
        count = recipients[operator]
        # An operator without a contracted price is billed at the "other" price.
        price = prices.get(operator, prices.get("other", 0))
        row: dict[str, Any] = {"operator": operator, "recipients": count, "price_per_part": price}
        for name, parts in (("original", original_parts), ("plain", plain_parts)):
            billed = count * parts
            row[name] = {"parts": billed, "cost": billed * price}
            sums[name]["parts"] += billed
            sums[name]["cost"] += billed * price
        rows.append(row)
    totals = {
        "recipients": sum(row["recipients"] for row in rows),
        **sums,
        "cost_saving": sums["original"]["cost"] - sums["plain"]["cost"],
    }
    return rows, totals


def sms_preview(text: str, *, recipients: dict[str, int] | None = None,
                prices: dict[str, int] | None = None) -> dict[str, Any]:
    """Encoding, parts and (with recipients per operator) cost of `text` and its plain variant.

    `recipients` maps operator codes (`dispatch.models.OPERATORS`) to counts; `prices` maps them
    to VND per part and defaults to the `sms_price_per_part` setting. `parts_saved` is per
    message and may be negative in the rare text that stays UCS-2 and grows ("…" → "...").
    """
    plain_text = strip_diacritics(text)
    original, plain = analyse(text), analyse(plain_text)
    preview: dict[str, Any] = {
        "original": _variant(text, original),
        "plain": _variant(plain_text, plain),
        "differs": plain_text != text,
        "parts_saved": original.parts - plain.parts,
        "currency": CURRENCY,
        "operators": [],
        "totals": None,
    }
    if recipients is not None:
        _check_recipients(recipients)
        if prices is None:
            prices = settings.get("sms_price_per_part")
        preview["operators"], preview["totals"] = _cost_rows(
            recipients, prices or {}, original.parts, plain.parts)
    return preview
