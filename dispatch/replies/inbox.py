"""The staff inbox: replies filtered and searched, labelled, handled, assigned, annotated.

Every query is bounded (a page, or at most BULK_MAX rows for a bulk action) and newest first.
Search runs on `replies.text_folded` (lower case, no diacritics), with the query folded the same
way (`dispatch.sms.inbound.fold_keyword`), so "dong y" finds "Đồng ý". The number is masked
everywhere unless the person holds `reply.unmask` and asks for it; each such view is audited
(`reply.unmask`, one event per reply shown).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, update
from sqlalchemy.exc import IntegrityError

from dispatch.access.permissions import allowed
from dispatch.audiences.msisdn import display
from dispatch.campaigns import audit
from dispatch.config import local_zone
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import Campaign, Locality, User
from dispatch.models.common import utcnow
from dispatch.models.replies import Reply, ReplyLabel
from dispatch.sms.inbound import fold_keyword

KINDS = ("answer", "free", "opt_out", "unattributed", "stranger")
STATES = ("new", "handled")
BULK_MAX = 1000  # rows one bulk action may change: one transaction, one short lock
UNMASK = "reply.unmask"


@dataclass(frozen=True)
class Filters:
    """What the inbox is narrowed to; `since` and `until` are local days (both included)."""

    campaign_id: int | None = None
    locality_id: int | None = None
    operator: str | None = None
    since: date | None = None
    until: date | None = None
    label_id: int | None = None
    state: str | None = None
    kind: str | None = None
    assigned_to_id: int | None = None
    q: str | None = None

    @classmethod
    def of(cls, args: dict[str, Any]) -> Filters:
        return cls(**{k: args.get(k) or None for k in cls.__dataclass_fields__})

    def plain(self) -> dict[str, Any]:
        """The filters as JSON-able values (a job's arguments)."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, date) else value
        return out

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Filters:
        data = dict(data)
        for key in ("since", "until"):
            if data.get(key):
                data[key] = date.fromisoformat(data[key])
        return cls(**data)


def check(filters: Filters) -> None:
    """Refuse, naming the field, a filter that names a row that does not exist."""
    for field, model in (("campaign_id", Campaign), ("locality_id", Locality),
                         ("label_id", ReplyLabel), ("assigned_to_id", User)):
        value = getattr(filters, field)
        if value is not None and db.session.get(model, value) is None:
            raise ValidationFailed.field(field, "No such record.")
    if filters.since and filters.until and filters.until < filters.since:
        raise ValidationFailed.field("until", "Must not be before the start date.")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=local_zone()).astimezone(UTC)


def conditions(filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for field in ("campaign_id", "locality_id", "operator", "label_id", "state", "kind",
                  "assigned_to_id"):
        value = getattr(filters, field)
        if value is not None:
            where.append(getattr(Reply, field) == value)
    if filters.since:
        where.append(Reply.received_at >= _start_of(filters.since))
    if filters.until:
        where.append(Reply.received_at < _start_of(filters.until + timedelta(days=1)))
    folded = fold_keyword(filters.q or "")
    if folded:
        escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Reply.text_folded.like(f"%{escaped}%", escape="\\"))
    return where


def query(filters: Filters) -> Select[Any]:
    """Replies matching `filters`, newest first (the caller pages it)."""
    return select(Reply).where(*conditions(filters)).order_by(Reply.received_at.desc(),
                                                              Reply.id.desc())


def get_reply(reply_id: int) -> Reply:
    reply = db.session.get(Reply, reply_id)
    if reply is None:
        raise NotFound(f"Reply {reply_id} not found.")
    return reply


# --- masking ---------------------------------------------------------------------------------

def masked(number: str | None) -> str:
    """A number as a person without the right to see it reads it: "0912 *** 678"."""
    shown = display(number)
    digits = shown.replace(" ", "")
    if not digits:
        return ""
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:4]} *** {digits[-3:]}"


def may_unmask(user: User) -> bool:
    return allowed(user.roles, UNMASK)


def demand_unmask(actor: User) -> None:
    if not may_unmask(actor):
        raise Forbidden(f"Your roles ({', '.join(actor.roles) or 'none'}) do not allow "
                        f"'{UNMASK}'.")


def unmask(replies: Iterable[Reply], actor: User) -> dict[int, str]:
    """The full numbers of `replies`, each view audited (caller commits)."""
    demand_unmask(actor)
    shown = {}
    for reply in replies:
        if reply.msisdn:
            audit.record(UNMASK, "reply", reply.id, actor=actor,
                         details={"number": masked(reply.msisdn)})
            shown[reply.id] = reply.msisdn
    return shown


# --- changes ---------------------------------------------------------------------------------

CHANGES = ("label_id", "state", "assigned_to_id", "note")


def _values(changes: dict[str, Any], actor: User, *, bulk: bool) -> dict[str, Any]:
    """The columns `changes` sets, checked: an active label, a staff member, a known state."""
    values: dict[str, Any] = {}
    for field, model, refusal in (("label_id", ReplyLabel, "No such active label."),
                                  ("assigned_to_id", User, "No such active user.")):
        if field in changes:
            found = None if changes[field] is None else db.session.get(model, changes[field])
            if changes[field] is not None and not getattr(found, "active", False):
                raise ValidationFailed.field(field, refusal)
            values[field] = changes[field]
    if "state" in changes:
        state = changes["state"]
        if state not in STATES:
            raise ValidationFailed.field("state", f"Must be one of: {', '.join(STATES)}.")
        values["state"] = state
        handled = state == "handled"
        values["handled_by_id"] = actor.id if handled else None
        values["handled_at"] = utcnow() if handled else None
    if "note" in changes and not bulk:
        values["note"] = changes["note"] or None
    if not values:
        raise ValidationFailed.field("_", "Nothing to change.")
    return values


def change(reply: Reply, changes: dict[str, Any], actor: User) -> Reply:
    """Label, handle (or reopen), assign or annotate one reply (caller commits)."""
    values = _values(changes, actor, bulk=False)
    if values.get("state") == reply.state:  # handled again: keep who handled it first
        for key in ("state", "handled_by_id", "handled_at"):
            values.pop(key)
    for key, value in values.items():
        setattr(reply, key, value)
    reply.updated_at = utcnow()
    return reply


def bulk(changes: dict[str, Any], actor: User, *, ids: list[int] | None = None,
         filters: Filters | None = None) -> int:
    """Apply `changes` to the replies `ids`, or to every reply matching `filters`, in one
    UPDATE of at most BULK_MAX rows (caller commits); answers how many changed."""
    values = _values(changes, actor, bulk=True)
    if (ids is None) == (filters is None):
        raise ValidationFailed.field("ids", "Give either the replies or a filter.")
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            raise ValidationFailed.field("ids", "Choose at least one reply.")
        if len(wanted) > BULK_MAX:
            raise ValidationFailed.field("ids", "At most 1000 replies at once.")
        found = set(db.session.scalars(select(Reply.id).where(Reply.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise ValidationFailed.field("ids", "Some of these replies do not exist.")
        where: list[ColumnElement[bool]] = [Reply.id.in_(wanted)]
    else:
        assert filters is not None
        check(filters)
        # The rows are fixed first (at most BULK_MAX + 1 ids read), so that changing a
        # filtered column (state=new → handled) cannot move rows out of the later updates.
        wanted = list(db.session.scalars(select(Reply.id).where(*conditions(filters))
                                         .limit(BULK_MAX + 1)))
        if len(wanted) > BULK_MAX:
            raise ValidationFailed.field(
                "filter", "More than 1000 replies match: narrow the filter.")
        where = [Reply.id.in_(wanted)]
    state_keys = ("state", "handled_by_id", "handled_at")
    rest = {k: v for k, v in values.items() if k not in state_keys}
    if "state" in values:
        # Rows already handled keep who handled them and when.
        state_where = [*where, Reply.state != values["state"]]
        _update(state_where, {k: values[k] for k in state_keys})
    if rest:
        _update(where, rest)
    audit.record("reply.bulk", "reply", None, actor=actor,
                 details={"changes": {k: changes[k] for k in changes if k in CHANGES},
                          "ids": len(ids) if ids is not None else None,
                          "filter": filters.plain() if filters is not None else None})
    db.session.expire_all()
    return len(wanted)


def _update(where: list[ColumnElement[bool]], values: dict[str, Any]) -> None:
    db.session.execute(update(Reply).where(and_(*where)).values(**values, updated_at=utcnow())
                       .execution_options(synchronize_session=False))


# --- labels ----------------------------------------------------------------------------------

def labels(*, active_only: bool = False) -> list[ReplyLabel]:
    stmt = select(ReplyLabel).order_by(ReplyLabel.active.desc(), ReplyLabel.name)
    if active_only:
        stmt = stmt.where(ReplyLabel.active.is_(True))
    return list(db.session.scalars(stmt.limit(500)))


def get_label(label_id: int) -> ReplyLabel:
    label = db.session.get(ReplyLabel, label_id)
    if label is None:
        raise NotFound(f"Label {label_id} not found.")
    return label


def _unique_name(name: str, label_id: int | None) -> None:
    # Compared here, not in SQL: SQLite's lower() knows ASCII only ("Ý" ≠ "ý"). Labels are few.
    folded = name.casefold()
    clash = next((i for i, other in db.session.execute(select(ReplyLabel.id, ReplyLabel.name))
                  if other.casefold() == folded), None)
    if clash is not None and clash != label_id:
        raise Conflict("A label with this name exists.",
                       errors={"name": ["A label with this name exists."]})


def create_label(name: str, actor: User) -> ReplyLabel:
    _unique_name(name, None)
    label = ReplyLabel(name=name, active=True)
    db.session.add(label)
    try:
        db.session.flush()
    except IntegrityError as err:  # a concurrent twin
        db.session.rollback()
        raise Conflict("A label with this name exists.",
                       errors={"name": ["A label with this name exists."]}) from err
    audit.record("reply_label.create", "reply_label", label.id, actor=actor,
                 details={"name": name})
    return label


def update_label(label: ReplyLabel, changes: dict[str, Any], actor: User) -> ReplyLabel:
    """Rename or (de)activate a label; replies keep it either way (caller commits)."""
    if "name" in changes:
        _unique_name(changes["name"], label.id)
        label.name = changes["name"]
    if "active" in changes:
        label.active = bool(changes["active"])
    audit.record("reply_label.update", "reply_label", label.id, actor=actor,
                 details={k: changes[k] for k in ("name", "active") if k in changes})
    return label


def label_names() -> dict[int, str]:
    return {i: n for i, n in db.session.execute(select(ReplyLabel.id, ReplyLabel.name))}
