"""Opt-outs: addresses that must never be sent to on a channel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from dispatch.audiences.msisdn import normalise
from dispatch.campaigns import audit
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import CHANNELS, OptOut, User

SOURCES = ("keyword", "staff", "api")
_CHUNK = 1000  # addresses per IN (...) query


def normalise_address(channel: str, address: str, field: str = "address") -> str:
    """The stored form of an address: E.164 for SMS, the installation id as given for push."""
    if channel not in CHANNELS:
        raise ValidationFailed.field("channel", f"Use one of {', '.join(CHANNELS)}.")
    if channel == "sms":
        number = normalise(address)
        if not number.ok:
            raise ValidationFailed.field(field, f"{number.error}: {address!r}")
        return number.msisdn  # type: ignore[return-value]
    address = address.strip()
    if not address:
        raise ValidationFailed.field(field, "Give the installation id.")
    return address


def opted_out(channel: str, addresses: Iterable[str]) -> set[str]:
    """The subset of `addresses` opted out of `channel` (SMS addresses in E.164, as stored)."""
    found: set[str] = set()
    chunk: list[str] = []
    for address in addresses:
        chunk.append(address)
        if len(chunk) >= _CHUNK:
            found |= _opted_out_chunk(channel, chunk)
            chunk = []
    if chunk:
        found |= _opted_out_chunk(channel, chunk)
    return found


def _opted_out_chunk(channel: str, chunk: list[str]) -> set[str]:
    return set(db.session.scalars(
        select(OptOut.address).where(OptOut.channel == channel, OptOut.address.in_(chunk))))


def find_opt_out(channel: str, address: str) -> OptOut | None:
    return db.session.scalar(
        select(OptOut).where(OptOut.channel == channel, OptOut.address == address))


def add_opt_out(channel: str, address: str, *, source: str, actor: User | None,
                reason: str = "", exist_ok: bool = False) -> OptOut:
    """Record an opt-out; an existing one is a Conflict unless `exist_ok` (keyword replies)."""
    if source not in SOURCES:
        raise ValidationFailed.field("source", f"Use one of {', '.join(SOURCES)}.")
    address = normalise_address(channel, address)
    existing = find_opt_out(channel, address)
    if existing is not None:
        if exist_ok:
            return existing
        raise Conflict(f"{address} is already opted out of {channel} (id {existing.id}).",
                       errors={"address": ["Already opted out."]})
    opt_out = OptOut(channel=channel, address=address, source=source, reason=reason,
                     created_by_id=actor.id if actor else None)
    db.session.add(opt_out)
    db.session.flush()
    audit.record("optout.add", "opt_out", opt_out.id, actor=actor, reason=reason or None,
                 details={"channel": channel, "address": address, "source": source})
    return opt_out


def get_opt_out(opt_out_id: int) -> OptOut:
    opt_out = db.session.get(OptOut, opt_out_id)
    if opt_out is None:
        raise NotFound(f"Opt-out {opt_out_id} does not exist.")
    return opt_out


def remove_opt_out(opt_out: OptOut, *, reason: str, actor: User | None) -> None:
    """Lift an opt-out; the reason is required and kept in the audit log with what was lifted."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "Say why the opt-out is lifted.")
    audit.record("optout.remove", "opt_out", opt_out.id, actor=actor, reason=reason.strip(),
                 details={"channel": opt_out.channel, "address": opt_out.address,
                          "source": opt_out.source, "created_at": opt_out.created_at.isoformat(),
                          "original_reason": opt_out.reason})
    db.session.delete(opt_out)


def opt_outs_query(*, channel: str | None = None, source: str | None = None,
                   address: str | None = None) -> Select[Any]:
    """Opt-outs, newest first; `address` matches exactly (SMS numbers in any written form)."""
    stmt = select(OptOut).order_by(OptOut.id.desc())
    if channel:
        stmt = stmt.where(OptOut.channel == channel)
    if source:
        stmt = stmt.where(OptOut.source == source)
    if address:
        forms = {address.strip()}
        number = normalise(address)
        if number.ok:
            forms.add(number.msisdn)  # type: ignore[arg-type]
        stmt = stmt.where(OptOut.address.in_(forms))
    return stmt
