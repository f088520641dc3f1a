"""The audience a campaign targets: its definition, validation and recipient estimates.

An audience is ``{"lists": [ids], "exclude_lists": [ids], "localities": [codes],
"all_app_users": bool}``. What it reaches depends on the channel:

- SMS reaches the contacts that are members of any of `lists` or live in any of `localities`
  (a locality includes the localities below it), minus members of `exclude_lists`, minus
  numbers opted out of SMS. Each contact counts once, whatever it matches.
- Push reaches the active app devices registered in any of `localities`, or every active device
  when `all_app_users` is set, minus installations opted out of push. A device is not tied to a
  phone number, so contact lists (and their exclusions) do not select devices.

A correction (đính chính, dispatch.campaigns.corrections) has instead
``{"correction_of": id, "only_delivered": bool}`` on top of empty lists and localities: it
reaches, on each channel, the recipients the ledger says were sent that campaign (only those whose
receipt says delivered, when asked), minus opt-outs since.

Estimates are SQL aggregates: nothing is loaded row by row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, select, union

from dispatch.extensions import db
from dispatch.models import (
    OPERATORS,
    Contact,
    ContactList,
    Device,
    ListMember,
    Locality,
    Message,
    MessageStatus,
    OptOut,
)

LIST_KEYS = ("lists", "exclude_lists")
# What "was sent it" means in the ledger: handed to the SMSC or FCM, whatever the receipt said.
SENT = (MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.PARTIAL,
        MessageStatus.UNKNOWN)


def empty() -> dict[str, Any]:
    return {"lists": [], "exclude_lists": [], "localities": [], "all_app_users": False}


def normalise(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The canonical form stored and hashed: every key present, ids and codes sorted and unique."""
    raw = raw or {}
    out: dict[str, Any] = {
        "lists": sorted({int(i) for i in raw.get("lists") or []}),
        "exclude_lists": sorted({int(i) for i in raw.get("exclude_lists") or []}),
        "localities": sorted({str(c).strip() for c in raw.get("localities") or []}),
        "all_app_users": bool(raw.get("all_app_users", False)),
    }
    if raw.get("correction_of"):
        # Only when set, so that other campaigns' stored snapshots keep their hashes.
        out.update({"correction_of": int(raw["correction_of"]), "lists": [],
                    "exclude_lists": [], "localities": [], "all_app_users": False,
                    "only_delivered": bool(raw.get("only_delivered", False))})
    return out


def sent_to(audience: dict[str, Any], channel: str) -> Select[Any]:
    """The select of the recipient ids (contacts or devices) a correction's original was sent."""
    statuses = [MessageStatus.DELIVERED] if audience.get("only_delivered") else list(SENT)
    return select(Message.recipient_id).where(
        Message.campaign_id == audience["correction_of"], Message.channel == channel,
        Message.status.in_(statuses))


def reference_errors(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Errors for lists and localities that do not exist, keyed by their place in `raw`."""
    errors: dict[str, list[str]] = {}
    for key in LIST_KEYS:
        ids = list(raw.get(key) or [])
        if not ids:
            continue
        known = set(db.session.scalars(select(ContactList.id).where(ContactList.id.in_(ids))))
        for i, list_id in enumerate(ids):
            if list_id not in known:
                errors[f"audience.{key}.{i}"] = [f"Unknown contact list {list_id}."]
    codes = [str(c).strip() for c in raw.get("localities") or []]
    active = {code: is_active for code, is_active in db.session.execute(
        select(Locality.code, Locality.active).where(Locality.code.in_(codes)))}
    for i, code in enumerate(codes):
        if code not in active:
            errors[f"audience.localities.{i}"] = [f"Unknown locality {code!r}."]
        elif not active[code]:
            errors[f"audience.localities.{i}"] = [f"Locality {code!r} is no longer in use."]
    return errors


def targeting_errors(audience: dict[str, Any], channels: str) -> dict[str, list[str]]:
    """What a submission lacks: something to reach on every chosen channel."""
    errors: dict[str, list[str]] = {}
    if audience.get("correction_of"):
        return errors  # a correction's audience is its original's recipients
    sms, push = channels in ("sms", "both"), channels in ("push", "both")
    if sms and not (audience["lists"] or audience["localities"]):
        errors.setdefault("audience", []).append("SMS needs at least one list or locality.")
    if push and not (audience["localities"] or audience["all_app_users"]):
        errors.setdefault("audience", []).append(
            "Push needs at least one locality, or all_app_users."
        )
    if audience["all_app_users"] and not push:
        errors["audience.all_app_users"] = ["Reaches app users only: choose push or both."]
    return errors


def locality_ids(codes: list[str]) -> list[int]:
    """Ids of the localities `codes` name and of every locality below them."""
    if not codes:
        return []
    # A province has a few hundred localities: walking the tree in Python is cheapest.
    rows = db.session.execute(select(Locality.id, Locality.code, Locality.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for loc_id, _code, parent in rows:
        children.setdefault(parent, []).append(loc_id)
    wanted = set(codes)
    todo = [loc_id for loc_id, code, _parent in rows if code in wanted]
    found: set[int] = set()
    while todo:
        loc_id = todo.pop()
        if loc_id not in found:
            found.add(loc_id)
            todo.extend(children.get(loc_id, []))
    return sorted(found)


def sms_included(audience: dict[str, Any]) -> Any:
    """Ids of the contacts the lists and localities take in (before exclusions), or None."""
    audience = normalise(audience)
    if audience.get("correction_of"):
        return sent_to(audience, "sms")
    places = locality_ids(audience["localities"])
    sources: list[Select[Any]] = []
    if audience["lists"]:
        sources.append(select(ListMember.contact_id)
                       .where(ListMember.list_id.in_(audience["lists"])))
    if places:
        sources.append(select(Contact.id).where(Contact.locality_id.in_(places)))
    if not sources:
        return None
    # One set of ids (a UNION) rather than "in a list OR in a place": PostgreSQL turns the
    # former into a hash semi-join, while an OR over a subquery of a million ids runs it per row.
    return union(*sources) if len(sources) > 1 else sources[0]


def sms_excluded(audience: dict[str, Any]) -> Any:
    """The condition on Contact that an excluded list holds it (None when nothing is excluded)."""
    ids = normalise(audience)["exclude_lists"]
    if not ids:
        return None
    return exists().where(ListMember.contact_id == Contact.id, ListMember.list_id.in_(ids))


def sms_opted_out() -> Any:
    """The condition on Contact that its number opted out of SMS."""
    return exists().where(OptOut.channel == "sms", OptOut.address == Contact.msisdn)


def sms_reachable(audience: dict[str, Any]) -> Select[Any] | None:
    """The select of the contacts the audience reaches by SMS now (ids), or None."""
    included = sms_included(audience)
    if included is None:
        return None
    stmt = select(Contact.id).where(Contact.id.in_(included)).where(~sms_opted_out())
    excluded = sms_excluded(audience)
    return stmt if excluded is None else stmt.where(~excluded)


def by_operator(rows: Any) -> dict[str, int]:
    """(operator, count) rows as counts per Loa operator code ("other" for anything else)."""
    counts: dict[str, int] = {}
    for op, n in rows:
        # Operators are stored as Loa's codes; anything else is billed and routed as "other".
        key = op if op in OPERATORS else "other"
        counts[key] = counts.get(key, 0) + n
    return counts


OPERATOR = func.coalesce(Contact.operator_override, Contact.operator)


def sms_recipients(audience: dict[str, Any]) -> dict[str, int]:
    """Contacts the audience reaches by SMS, counted per effective operator."""
    reachable = sms_reachable(audience)
    if reachable is None:
        return {}
    stmt = reachable.with_only_columns(OPERATOR, func.count(), maintain_column_froms=True)
    stmt = stmt.group_by(OPERATOR)
    return by_operator(db.session.execute(stmt))


def device_disabled() -> Any:
    """The condition on Device that it can no longer receive pushes."""
    return Device.disabled_at.is_not(None) | Device.disabled_reason.is_not(None)


def push_opted_out() -> Any:
    return exists().where(OptOut.channel == "push", OptOut.address == Device.installation_id)


def push_targeted(audience: dict[str, Any]) -> Select[Any] | None:
    """The select of the devices (ids) in the audience's places, active or not, or None."""
    audience = normalise(audience)
    stmt = select(Device.id)
    if audience.get("correction_of"):
        return stmt.where(Device.id.in_(sent_to(audience, "push")))
    if not audience["all_app_users"]:
        places = locality_ids(audience["localities"])
        if not places:
            return None
        stmt = stmt.where(Device.locality_id.in_(places))
    return stmt


def push_reachable(audience: dict[str, Any]) -> Select[Any] | None:
    """The select of the active, not opted-out devices the audience reaches (ids), or None."""
    targeted = push_targeted(audience)
    if targeted is None:
        return None
    return targeted.where(~device_disabled(), ~push_opted_out())


def push_recipients(audience: dict[str, Any]) -> int:
    """Active app devices the audience reaches by push."""
    reachable = push_reachable(audience)
    if reachable is None:
        return 0
    counted = reachable.with_only_columns(func.count(), maintain_column_froms=True)
    return db.session.scalar(counted) or 0
