"""MO messages from the SMSC: stored with their octets, opt-out keywords, concatenated parts.

Text that a database cannot hold: SMPP data codings allow NUL (an octet 0x00 in latin-1 or
binary data, U+0000 in UCS-2), and PostgreSQL's text type refuses it, which once failed whole
batches of receipts forever. Every text stored from the SMSC goes through `storable`: trailing
NULs are dropped (some SMSCs count a C string's terminator in sm_length, and "HUY\\0" must still
opt its sender out), and any other NUL becomes U+FFFD, the replacement character the decoder
already puts for octets it cannot read. Replaced, not escaped: an escape such as "\\x00" would be
indistinguishable from a sender who typed those four characters, and the text column is for
people and keyword matching. The exact octets are kept next to the text (`payload`, bytea /
BLOB), so nothing is lost to the replacement.

Concatenated MO (`Fragment` events, one per part): each part is stored in `mo_fragments` before
the SMSC gets its answer, so a session restart or a process crash loses none, and none waits in
memory. When the parts of a message are all stored it is joined from storage, written to
`inbound_messages` and its parts deleted, in the same transaction. A message whose parts have
not all come within the reassembly timeout (`LOA_MO_REASSEMBLY_SECONDS`) is written as it is,
`handled_as = "incomplete"`, by the writer's sweep (`sweep_fragments`). Claiming a message's
parts is a DELETE … RETURNING, so two smpp processes serving one account never write it twice.

A keyword is acted on only in a whole message: "HUY" as the first part of a longer text is not
an opt-out.

A batch at a time (the receipt writer's, up to 500 deliver_sm, one transaction committed before
any is answered): its messages are one INSERT (`write_mo`), its parts one INSERT, their count
per message one SELECT and the claim of the whole ones one DELETE … RETURNING, whatever the
batch holds; no ORM object per MO. The parts of one message may come in one batch or in
several: each batch counts what storage holds.

What a message says back (a campaign's answer, a survey's choice, the acknowledgement) is not
decided here: a message someone wrote is stored `reply_pending`, and the account's reply
attributor makes its reply after the SMSC has been answered (dispatch.replies.attribute,
`attribute_pending`). Opt-out keywords are acted on here, before the answer to the SMSC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from dispatch.audiences import optouts
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.models import InboundMessage, MoFragment, RawReceipt
from dispatch.models.sqlbatch import any_of, insert_rows
from gateways.results import Fragment, Inbound, Receipt
from gateways.smpp import decode_text
from gateways.sms.plain import strip_diacritics

_fragments = MoFragment.__table__
_inbound = InboundMessage.__table__


def storable(text: str) -> str:
    """`text` in NFC without what a database text column cannot hold (module docstring).

    NFC because phones send Vietnamese decomposed too, and every text in Loa is stored composed
    (keyword matching, the inbox's search, the figures of replies)."""
    if "\x00" in text:
        text = text.rstrip("\x00").replace("\x00", "\ufffd")
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def ascii_only(text: str) -> str:
    """Printable ASCII, everything else escaped: what any column takes, for unreadable rows."""
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def fold_keyword(text: str) -> str:
    """'  Hủy ' → 'huy': how MO texts and opt-out keywords are compared."""
    return " ".join(strip_diacritics(text.replace("đ", "d").replace("Đ", "D")).casefold().split())


# What no reply is made of: nothing anyone wrote, or no number to answer.
NO_REPLY = ("unreadable", "bad_source")


def mo_row(account_id: int, message: Inbound, keywords: set[str], now: datetime, *,
           parts: int = 1, received: int | None = None) -> dict[str, Any]:
    """The `inbound_messages` row of one MO message, after acting on an opt-out keyword; the
    rows of a batch are written together (`write_mo`)."""
    received = parts if received is None else received
    text = storable(message.text)
    destination = storable(message.destination)[:32]
    coding = message.extra.get("data_coding", "")
    handled_as = "ignored"
    if received < parts:
        handled_as = "incomplete"
    elif fold_keyword(text) in keywords:
        try:
            optouts.add_opt_out(
                "sms", message.source, source="keyword", actor=None, exist_ok=True,
                reason=f"Replied {text.strip()!r} to {destination}")
            handled_as = "opt_out"
        except ValidationFailed:
            handled_as = "bad_source"  # not a number we could ever send to
    return {"account_id": account_id, "source": storable(message.source)[:32],
            "destination": destination, "text": text,
            "received_at": message.received_at or now, "payload": message.payload,
            "data_coding": int(coding) if coding.isdigit() else None, "parts": parts,
            "parts_received": received, "handled_as": handled_as,
            "reply_pending": handled_as not in NO_REPLY}


def write_mo(rows: Sequence[dict[str, Any]]) -> int:
    """Write the rows of `mo_row` in one statement (caller commits); return how many."""
    insert_rows(_inbound, rows)
    return len(rows)


# -- concatenated MO -----------------------------------------------------------------------------


def fragment_key(source: str, destination: str, ref: int, total: int) -> str:
    return f"{storable(source)[:32]}|{storable(destination)[:32]}|{ref}|{total}"


def store_fragments(account_id: int, fragments: Sequence[Fragment], keywords: set[str],
                    now: datetime) -> list[dict[str, Any]]:
    """Store MO parts and claim every message they make whole; return the rows of those
    messages, for the caller to write with the batch's other MO (`write_mo`, same
    transaction). A part received twice (the SMSC did not see our answer) is stored twice and
    counted once. Three statements whatever the batch: the parts, their count per message,
    the claim of the whole ones."""
    rows: list[dict[str, Any]] = []
    for part in fragments:
        rows.append({"account_id": account_id,
                     "key": fragment_key(part.source, part.destination, part.ref, part.total),
                     "source": storable(part.source)[:32],
                     "destination": storable(part.destination)[:32], "total": part.total,
                     "number": part.number, "data_coding": part.data_coding,
                     "payload": part.payload, "received_at": part.received_at or now})
    if not rows:
        return []
    insert_rows(_fragments, rows)
    totals = {row["key"]: row["total"] for row in rows}
    have: dict[str, int] = dict(db.session.execute(
        select(_fragments.c.key, func.count(func.distinct(_fragments.c.number)))
        .where(_fragments.c.account_id == account_id, any_of(_fragments.c.key, sorted(totals)))
        .group_by(_fragments.c.key)).all())
    whole = [key for key, total in totals.items() if have.get(key, 0) >= total]
    return _assemble(account_id, whole, keywords, now)


def _assemble(account_id: int, keys: Sequence[str], keywords: set[str],
              now: datetime) -> list[dict[str, Any]]:
    """Claim the stored parts of these messages; return the message rows they make
    (incomplete if parts are missing). A message another process claimed first has none."""
    if not keys:
        return []
    claimed = db.session.execute(
        delete(_fragments).where(_fragments.c.account_id == account_id,
                                 any_of(_fragments.c.key, list(keys)))
        .returning(_fragments.c.id, _fragments.c.key, _fragments.c.source,
                   _fragments.c.destination, _fragments.c.total, _fragments.c.number,
                   _fragments.c.data_coding, _fragments.c.payload,
                   _fragments.c.received_at)).all()
    by_key: dict[str, list[Any]] = {}
    for row in claimed:
        by_key.setdefault(row.key, []).append(row)
    return [_joined(account_id, by_key[key], keywords, now) for key in keys if key in by_key]


def _joined(account_id: int, claimed: list[Any], keywords: set[str],
            now: datetime) -> dict[str, Any]:
    """The message row the claimed parts of one message make."""
    total = claimed[0].total
    by_number: dict[int, Any] = {}
    for row in sorted(claimed, key=lambda r: r.id):
        if 1 <= row.number <= total:  # a part numbered outside its message is dropped
            by_number.setdefault(row.number, row)  # a redelivered part: its first copy
    first = by_number[min(by_number)] if by_number else claimed[0]
    payload = b"".join(bytes(by_number[n].payload) for n in sorted(by_number))
    message = Inbound(source=first.source, destination=first.destination,
                      text=decode_text(payload, first.data_coding),
                      received_at=max(r.received_at for r in claimed),
                      extra={"data_coding": str(first.data_coding)}, payload=payload)
    return mo_row(account_id, message, keywords, now, parts=total, received=len(by_number))


def sweep_fragments(account_id: int, older_than: datetime, keywords: set[str],
                    now: datetime, *, limit: int = 500) -> int:
    """Write up to `limit` messages whose first part came before `older_than` (incomplete,
    unless their parts did all come); return how many (caller commits)."""
    keys = db.session.scalars(
        select(_fragments.c.key)
        .where(_fragments.c.account_id == account_id)
        .group_by(_fragments.c.key)
        .having(func.min(_fragments.c.received_at) < older_than)
        .limit(limit)).all()
    return write_mo(_assemble(account_id, keys, keywords, now))


# -- what cannot be stored as read ---------------------------------------------------------------


def store_unreadable(account_id: int, event: Receipt | Inbound | Fragment,
                     now: datetime) -> None:
    """Keep an event that failed to store as read: its octets, and nothing of its text that
    could fail again (caller commits). It is acknowledged, matched to nothing, and counted
    (`loa_inbound_unreadable`)."""
    if isinstance(event, Receipt):
        db.session.add(RawReceipt(account_id=account_id, smsc_id="", stat=None, err=None,
                                  body="", received_at=now, payload=event.payload,
                                  unreadable=True))
        return
    data_coding: int | None
    if isinstance(event, Fragment):
        parts, data_coding = event.total, event.data_coding
    else:
        coding = event.extra.get("data_coding", "")
        parts, data_coding = 1, int(coding) if coding.isdigit() else None
    db.session.add(InboundMessage(
        account_id=account_id, source=ascii_only(event.source)[:32],
        destination=ascii_only(event.destination)[:32], text="", received_at=now,
        payload=event.payload, data_coding=data_coding, parts=min(parts, 255),
        parts_received=1, handled_as="unreadable"))
