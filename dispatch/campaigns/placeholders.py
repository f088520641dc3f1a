"""Personalised text: `{ho_ten}`, `{xa}`, `{huyen}` and imported columns in SMS and push texts.

A template is parsed once into literal pieces and named slots; rendering joins the pieces with
each recipient's values. The grammar is deliberately tiny, so there is nothing to escape from:

    {name}          the recipient's value of `name`
    {name|default}  ... or `default` when the recipient has none
    {{  }}          a literal brace

`name` is lower-case letters, digits and `_`, starting with a letter (the form imported column
names take: dispatch.audiences.columns.header_key). No attribute or index access, no format
specifications, no expressions. A value is substituted as text and never read again, so a name
such as `{x}` or `%s` arrives as written. Values are NFC with control characters removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# The fields a contact always has; any other well-formed name is one of its imported columns.
CONTACT_FIELDS = ("ho_ten", "xa", "huyen")
TEXT_FIELDS = ("sms_text", "push_title", "push_body")
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
MAX_DEFAULT = 200
_SPACES = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
# Refusals, each followed by ": N…", the character's position (the pages translate the words
# before the colon: dispatch.schemas.translate.tr; listed for extraction in web/messages.py).
LONE_CLOSE = "A '}' alone (write '}}' for a brace), at character"
NOT_CLOSED = "A '{' that is not closed (write '{{' for a brace), at character"
NOT_A_NAME = ("Not a placeholder (use {ho_ten}, {xa}, {huyen} or an imported column, "
              "in letters, digits and _), at character")
LONG_DEFAULT = "A default longer than 200 characters, at character"


class PlaceholderError(ValueError):
    """A template that does not parse; `position` counts characters from 1."""

    def __init__(self, position: int, message: str, quoted: str = "") -> None:
        super().__init__(f"{message}: {position}{quoted}")
        self.position = position
        self.message = message


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    default: str | None  # None: no default, the recipient is suppressed without a value
    position: int


@dataclass(frozen=True, slots=True)
class Template:
    pieces: tuple[str | Slot, ...]

    @property
    def slots(self) -> tuple[Slot, ...]:
        return tuple(p for p in self.pieces if isinstance(p, Slot))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.name for s in self.slots))

    @property
    def personal(self) -> bool:
        return any(isinstance(p, Slot) for p in self.pieces)

    def missing(self, values: Mapping[str, str | None]) -> list[str]:
        """The names without a value and without a default: the recipient cannot be sent."""
        return list(dict.fromkeys(s.name for s in self.slots
                                  if s.default is None and not values.get(s.name)))

    def render(self, values: Mapping[str, str | None]) -> str | None:
        """The text for these values, or None when a value is missing and has no default."""
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = values.get(piece.name) or piece.default
            if value is None:
                return None
            out.append(value)
        return "".join(out)


def clean_value(value: Any) -> str:
    """A value as it may appear in a message: text, NFC, no control characters, trimmed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).translate(_SPACES)
    if not text.isprintable():  # only then can it hold a control character (category Cc)
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return " ".join(text.split())


def parse(text: str) -> Template:
    """The template's pieces; PlaceholderError names the first thing wrong and where."""
    pieces: list[str | Slot] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "}":
            if text.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise PlaceholderError(i + 1, LONE_CLOSE)
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        if text.startswith("{{", i):
            literal.append("{")
            i += 2
            continue
        end = text.find("}", i + 1)
        opening = text.find("{", i + 1)
        if end < 0 or 0 <= opening < end:
            raise PlaceholderError(i + 1, NOT_CLOSED)
        inner = text[i + 1:end]
        name, bar, default = inner.partition("|")
        if not NAME.match(name):
            raise PlaceholderError(i + 1, NOT_A_NAME, f", {{{inner}}}")
        if len(default) > MAX_DEFAULT:
            raise PlaceholderError(i + 1, LONG_DEFAULT)
        if literal:
            pieces.append("".join(literal))
            literal = []
        pieces.append(Slot(name, clean_value(default) if bar else None, i + 1))
        i = end + 1
    if literal:
        pieces.append("".join(literal))
    return Template(tuple(pieces))


def as_written(text: str) -> str:
    """What a text without placeholders sends: its braces undoubled (`{{` → `{`), so a literal
    brace reads the same in every text; a personalised text is rendered per recipient instead,
    and one stored before placeholders existed (it does not parse) is sent as it is."""
    template = parse_or_none(text)
    if template is None or template.personal:
        return text
    return template.render({}) or ""


def parse_or_none(text: str | None) -> Template | None:
    """The template when it parses (texts stored before placeholders existed may not)."""
    try:
        return parse(text or "")
    except PlaceholderError:
        return None


def is_personal(text: str | None) -> bool:
    template = parse_or_none(text)
    return template is not None and template.personal


def field_errors(field: str, text: str | None) -> dict[str, list[str]]:
    """The refusal for a text field whose placeholders do not parse, naming the field."""
    if not text:
        return {}
    try:
        parse(text)
    except PlaceholderError as exc:
        return {field: [str(exc)]}
    return {}


def locality_values(places: Mapping[int, tuple[str, str, int | None]],
                    locality_id: int | None) -> dict[str, str]:
    """`xa` and `huyen` of a locality: itself and its parent when it sits below a district.

    `places` maps id → (name, kind, parent id): the localities table is small (a province's
    communes), read once per expansion or preview.
    """
    place = places.get(locality_id) if locality_id is not None else None
    if place is None:
        return {}
    name, kind, parent_id = place
    parent = places.get(parent_id) if parent_id is not None else None
    if parent is not None and parent[1] != "province":
        return {"xa": name, "huyen": parent[0]}
    if kind == "province":
        return {}
    return {"huyen": name}


def contact_values(name: str | None, attributes: Mapping[str, Any] | None,
                   places: Mapping[int, tuple[str, str, int | None]],
                   locality_id: int | None,
                   names: Collection[str] | None = None) -> dict[str, str]:
    """A contact's values by placeholder name, cleaned; empty values left out. `names`: only
    these (a template's), so that an expansion cleans no value its text does not use."""
    attributes = attributes or {}
    if names is not None:
        attributes = {k: v for k, v in attributes.items() if k in names}
    values = {str(k): clean_value(v) for k, v in attributes.items()}
    values.update(locality_values(places, locality_id))
    if names is None or "ho_ten" in names:
        values["ho_ten"] = clean_value(name)
    return {k: v for k, v in values.items() if v and (names is None or k in names)}


def uses_attributes(template: Template) -> bool:
    """Whether the template names an imported column (not only ho_ten, xa, huyen): only then
    need a contact's attributes be read (they are JSON, parsed per row)."""
    return any(name not in CONTACT_FIELDS for name in template.names)


def load_places() -> dict[int, tuple[str, str, int | None]]:
    from sqlalchemy import select

    from dispatch.extensions import db
    from dispatch.models import Locality
    return {i: (clean_value(name), kind, parent)
            for i, name, kind, parent in db.session.execute(
                select(Locality.id, Locality.name, Locality.kind, Locality.parent_id))}
