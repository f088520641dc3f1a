"""Localities (districts, communes): data the department maintains, not code."""

from __future__ import annotations

import csv
import io
import re
from typing import IO, Any

from sqlalchemy import select

from dispatch.audiences.columns import fold, header_key
from dispatch.campaigns import audit
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import Locality, User

KINDS = ("province", "city", "town", "district", "commune", "ward", "area")


# Administrative words a name may carry or not: "Huyện Vị Thủy" is also found as "Vị Thủy".
_PREFIXES = ("thanh pho ", "thi xa ", "thi tran ", "huyen ", "quan ", "xa ", "phuong ", "tinh ")
# How people shorten them: "TP. Ngã Bảy", "TX Long Mỹ", "H. Phụng Hiệp", "TT. Nàng Mau".
_ABBREVIATIONS = {"tp": "thanh pho", "tx": "thi xa", "tt": "thi tran", "h": "huyen", "q": "quan",
                  "x": "xa", "p": "phuong"}
# A one-letter abbreviation needs its dot ("H. Phụng Hiệp"): "H Phụng Hiệp" may be a name.
_ABBREVIATED = re.compile(r"^(t\.?p|t\.?x|t\.?t)(?:\.\s*|\s+)|^([hqxp])\.\s*")

UNKNOWN = "unknown locality"
AMBIGUOUS = "ambiguous locality: use its code"
INACTIVE = "locality is no longer active"


def _key(text: str) -> str:
    """Case, diacritics, dashes, spacing and abbreviations ignored: 'TP. Vị-Thanh' and
    'thành phố  vị thanh' are one key."""
    key = " ".join(fold(text).replace("-", " ").replace("_", " ").split())
    match = _ABBREVIATED.match(key)
    if match:
        short = (match.group(1) or match.group(2)).replace(".", "")
        key = f"{_ABBREVIATIONS[short]} {key[match.end():]}"
    return key


def _bare(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


class LocalityIndex:
    """Find a locality by code, name, or name without 'Huyện'/'Xã'…, ignoring case and accents.

    Codes (exact but for case) win over names, full names over bare ones. A key shared by two
    localities is ambiguous, unless the column's word ('Thị xã' above 'Long Mỹ') or the
    district found on the same row tells them apart; then the person is asked for the code.
    """

    def __init__(self, localities: list[Locality]) -> None:
        self._tiers: list[dict[str, list[Locality]]] = [{}, {}, {}]
        for place in localities:
            keys = (fold(place.code), _key(place.name), _bare(_key(place.name)))
            for tier, key in zip(self._tiers, keys, strict=True):
                tier.setdefault(key, []).append(place)
        self._found: dict[tuple[str, str | None, int | None], tuple[int | None, str | None]] = {}

    @classmethod
    def load(cls) -> LocalityIndex:
        return cls(list(db.session.scalars(select(Locality))))

    def find(self, text: str, word: str | None = None,
             within: int | None = None) -> tuple[int | None, str | None]:
        """(locality id, None) or (None, why not); memoised per (text, word, within).

        `word` is the administrative word of the column ('huyen', 'thi xa'...), `within` a
        locality already found on the row (a commune is looked for among its children first).
        """
        memo = (text, word, within)
        answer = self._found.get(memo)
        if answer is None:
            answer = self._find(text, word, within)
            if len(self._found) < 10_000:  # a file of distinct typos must not grow memory
                self._found[memo] = answer
        return answer

    def _candidates(self, text: str, word: str | None) -> list[Locality]:
        key = _key(text)
        looks = [(0, fold(text)), (1, key), (2, _bare(key))]
        if word and _bare(key) == key:  # "Long Mỹ" under "Thị xã" is "thị xã long mỹ"
            looks.insert(1, (1, f"{word} {key}"))
        for tier, look_for in looks:
            found = self._tiers[tier].get(look_for)
            if found:
                return found
        return []

    def _find(self, text: str, word: str | None,
              within: int | None) -> tuple[int | None, str | None]:
        found = self._candidates(text, word)
        if len(found) > 1 and within is not None:
            found = [p for p in found if p.parent_id == within] or found
        if len(found) > 1:
            active = [p for p in found if p.active]
            found = active if len(active) == 1 else found
        if not found:
            return None, UNKNOWN
        if len(found) > 1:
            return None, AMBIGUOUS
        if not found[0].active:
            return None, INACTIVE
        return found[0].id, None


def get_locality(locality_id: int) -> Locality:
    place = db.session.get(Locality, locality_id)
    if place is None:
        raise NotFound(f"Locality {locality_id} does not exist.")
    return place


def _parent_id(parent_id: int | None, parent_code: str | None, field: str) -> int | None:
    if parent_code:
        parent = db.session.scalar(select(Locality).where(Locality.code == parent_code.strip()))
        if parent is None:
            raise ValidationFailed.field(field, f"Unknown locality code {parent_code!r}.")
        return parent.id
    if parent_id is not None:
        return get_locality(parent_id).id
    return None


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationFailed.field("kind", f"Use one of {', '.join(KINDS)}.")
    return kind


def create_locality(code: str, name: str, *, actor: User | None, kind: str = "district",
                    parent_id: int | None = None, parent_code: str | None = None,
                    active: bool = True) -> Locality:
    code = code.strip()
    if db.session.scalar(select(Locality.id).where(Locality.code == code)) is not None:
        raise Conflict(f"Locality {code!r} already exists.", errors={"code": ["Taken."]})
    place = Locality(code=code, name=name.strip(), kind=_check_kind(kind),
                     parent_id=_parent_id(parent_id, parent_code, "parent_code"), active=active)
    db.session.add(place)
    db.session.flush()
    audit.record("locality.create", "locality", place.id, actor=actor,
                 details={"code": code, "name": place.name})
    return place


def update_locality(place: Locality, *, actor: User | None, **changes: Any) -> Locality:
    before = {"code": place.code, "name": place.name, "kind": place.kind,
              "parent_id": place.parent_id, "active": place.active}
    if changes.get("code") and changes["code"].strip() != place.code:
        code = changes["code"].strip()
        if db.session.scalar(select(Locality.id).where(Locality.code == code)) is not None:
            raise Conflict(f"Locality {code!r} already exists.", errors={"code": ["Taken."]})
        place.code = code
    if changes.get("name"):
        place.name = changes["name"].strip()
    if changes.get("kind"):
        place.kind = _check_kind(changes["kind"])
    if changes.get("active") is not None:
        place.active = changes["active"]
    if "parent_id" in changes or changes.get("parent_code"):
        parent = _parent_id(changes.get("parent_id"), changes.get("parent_code"), "parent_id")
        if parent == place.id:
            raise ValidationFailed.field("parent_id", "A locality cannot be its own parent.")
        place.parent_id = parent
    after = {"code": place.code, "name": place.name, "kind": place.kind,
             "parent_id": place.parent_id, "active": place.active}
    if after != before:
        audit.record("locality.update", "locality", place.id, actor=actor,
                     details={"before": before, "after": after})
    return place


def import_localities(stream: IO[bytes], *, actor: User | None) -> tuple[int, int, list[str]]:
    """Create or update localities from a CSV `code,name,kind,parent_code`; (created, updated,
    errors). Parents may come later in the file than their children."""
    try:
        return _import_localities(stream, actor=actor)
    except (UnicodeDecodeError, csv.Error) as exc:
        db.session.rollback()
        raise ValidationFailed.field(
            "file", f"Not a UTF-8 CSV file of localities ({type(exc).__name__}).") from None


def _import_localities(stream: IO[bytes], *, actor: User | None) -> tuple[int, int, list[str]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    first = text.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [header_key(c) for c in next(csv.reader([first], delimiter=delimiter), [])]
    missing = {"code", "name"} - set(header)
    if missing:
        raise ValidationFailed.field("file", f"Missing column(s): {', '.join(sorted(missing))}.")
    rows = []
    errors: list[str] = []
    for line, cells in enumerate(csv.reader(text, delimiter=delimiter), start=2):
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        if not row.get("code") or not row.get("name"):
            errors.append(f"line {line}: code and name are required")
            continue
        if (row.get("kind") or "district") not in KINDS:
            errors.append(f"line {line}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
            continue
        rows.append((line, row))
    existing = {p.code: p for p in db.session.scalars(select(Locality))}
    created = updated = 0
    for _, row in rows:
        place = existing.get(row["code"])
        if place is None:
            place = Locality(code=row["code"], name=row["name"], kind=row.get("kind") or "district")
            db.session.add(place)
            existing[place.code] = place
            created += 1
        elif place.name != row["name"] or (row.get("kind") and place.kind != row["kind"]):
            place.name = row["name"]
            place.kind = row.get("kind") or place.kind
            updated += 1
    db.session.flush()
    for line, row in rows:
        parent_code = row.get("parent_code")
        if parent_code:
            parent = existing.get(parent_code)
            if parent is None:
                errors.append(f"line {line}: unknown parent_code {parent_code!r}")
            else:
                existing[row["code"]].parent_id = parent.id
    audit.record("locality.import", "locality", None, actor=actor,
                 details={"created": created, "updated": updated, "errors": len(errors)})
    return created, updated, errors
