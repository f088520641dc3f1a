"""Contacts and contact lists: lookups, edits (audited) and the queries behind the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, event, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from dispatch.audiences.columns import fold_name
from dispatch.audiences.localities import get_locality
from dispatch.audiences.msisdn import normalise, search_digits
from dispatch.campaigns import audit
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.models import OPERATORS, Contact, ContactList, ListMember, User

_AUDITED = ("msisdn", "operator", "operator_override", "locality_id", "name", "attributes")


def search_form(name: str | None) -> str | None:
    """A name as it is searched: lower case, no diacritics ('Nguyễn' -> 'nguyen')."""
    return fold_name(name)[:200] if name else None


@event.listens_for(Contact.name, "set")
def _fold_name(contact: Contact, name: str | None, _old: Any, _initiator: Any) -> None:
    """Keep `name_folded` in step with every name the ORM writes (the importer writes both)."""
    contact.name_folded = search_form(name)


def _state(contact: Contact) -> dict[str, Any]:
    return {field: getattr(contact, field) for field in _AUDITED}


def get_contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"Contact {contact_id} does not exist.")
    return contact


def list_ids_of(contact: Contact) -> list[int]:
    return list(db.session.scalars(
        select(ListMember.list_id).where(ListMember.contact_id == contact.id)
        .order_by(ListMember.list_id)))


def _check_operator(value: str | None) -> str | None:
    if value is not None and value not in OPERATORS:
        raise ValidationFailed.field("operator_override", f"Use one of {', '.join(OPERATORS)}.")
    return value


def _check_locality(locality_id: int | None) -> int | None:
    if locality_id is None:
        return None
    try:
        return get_locality(locality_id).id
    except NotFound:
        raise ValidationFailed.field(
            "locality_id", f"Locality {locality_id} does not exist.") from None


def create_contact(msisdn: str, *, actor: User | None, name: str | None = None,
                   locality_id: int | None = None, operator_override: str | None = None,
                   attributes: dict[str, Any] | None = None,
                   list_ids: list[int] | None = None) -> Contact:
    number = normalise(msisdn)
    if not number.ok:
        raise ValidationFailed.field("msisdn", f"{number.error}: {msisdn!r}")
    existing = db.session.scalar(select(Contact).where(Contact.msisdn == number.msisdn))
    if existing is not None:
        raise Conflict(f"Contact {number.msisdn} already exists (id {existing.id}).",
                       errors={"msisdn": ["Taken."]})
    contact = Contact(msisdn=number.msisdn, operator=number.operator, name=name or None,
                      operator_override=_check_operator(operator_override),
                      locality_id=_check_locality(locality_id), attributes=attributes or {})
    db.session.add(contact)
    db.session.flush()
    for list_id in list_ids or []:
        add_members(get_list(list_id, field="list_ids"), [contact.id], actor=None)
    audit.record("contact.create", "contact", contact.id, actor=actor,
                 after_hash=audit.content_hash(_state(contact)),
                 details={"msisdn": contact.msisdn, "list_ids": list_ids or []})
    return contact


def update_contact(contact: Contact, *, actor: User | None, **changes: Any) -> Contact:
    """Change name, locality, operator override or attributes; None clears a field."""
    before = _state(contact)
    if "name" in changes:
        contact.name = changes["name"] or None
    if "locality_id" in changes:
        contact.locality_id = _check_locality(changes["locality_id"])
    if "operator_override" in changes:
        contact.operator_override = _check_operator(changes["operator_override"])
    if "attributes" in changes:
        contact.attributes = dict(changes["attributes"] or {})
    after = _state(contact)
    if after != before:
        changed = sorted(k for k in after if after[k] != before[k])
        audit.record("contact.update", "contact", contact.id, actor=actor,
                     before_hash=audit.content_hash(before), after_hash=audit.content_hash(after),
                     details={"changed": changed,
                              "before": {k: before[k] for k in changed},
                              "after": {k: after[k] for k in changed}})
    return contact


def delete_contact(contact: Contact, *, actor: User | None) -> None:
    """Delete a contact and its list memberships (an opt-out of its number stays)."""
    state = _state(contact)
    db.session.execute(delete(ListMember).where(ListMember.contact_id == contact.id))
    db.session.delete(contact)
    audit.record("contact.delete", "contact", contact.id, actor=actor,
                 before_hash=audit.content_hash(state), details={"msisdn": state["msisdn"]})


def effective_operator() -> Any:
    return func.coalesce(Contact.operator_override, Contact.operator)


def contacts_query(*, q: str | None = None, operator: str | None = None,
                   locality_id: int | None = None, list_id: int | None = None) -> Select[Any]:
    """Contacts matching the filters, oldest first."""
    stmt = select(Contact).order_by(Contact.id)
    if q:
        text = q.strip()
        number = normalise(text)
        if number.ok:
            stmt = stmt.where(Contact.msisdn == number.msisdn)
        else:
            digits = search_digits(text)
            # Folded on both sides, in Python: the same answer on SQLite and PostgreSQL, with
            # no extension (unaccent) and no collation to rely on.
            matches = [Contact.name_folded.contains(search_form(text) or "", autoescape=True)]
            if digits:
                matches.append(Contact.msisdn.like(f"%{digits}%"))
            stmt = stmt.where(or_(*matches))
    if operator:
        stmt = stmt.where(effective_operator() == operator)
    if locality_id is not None:
        stmt = stmt.where(Contact.locality_id == locality_id)
    if list_id is not None:
        stmt = stmt.join(ListMember, ListMember.contact_id == Contact.id).where(
            ListMember.list_id == list_id)
    return stmt


# --- lists -----------------------------------------------------------------------------------

def get_list(list_id: int, *, field: str | None = None) -> ContactList:
    """The list, or NotFound (or a validation error on `field` when the id came in a body)."""
    contact_list = db.session.get(ContactList, list_id)
    if contact_list is None:
        if field:
            raise ValidationFailed.field(field, f"List {list_id} does not exist.")
        raise NotFound(f"List {list_id} does not exist.")
    return contact_list


def find_list(name: str) -> ContactList | None:
    return db.session.scalar(select(ContactList).where(ContactList.name == name.strip()))


def create_list(name: str, *, actor: User | None, description: str = "") -> ContactList:
    name = name.strip()
    if not name:
        raise ValidationFailed.field("name", "Give the list a name.")
    if find_list(name) is not None:
        raise Conflict(f"A list named {name!r} exists.", errors={"name": ["Taken."]})
    contact_list = ContactList(name=name, description=description,
                               created_by_id=actor.id if actor else None)
    db.session.add(contact_list)
    db.session.flush()
    audit.record("list.create", "contact_list", contact_list.id, actor=actor,
                 details={"name": name})
    return contact_list


def update_list(contact_list: ContactList, *, actor: User | None,
                name: str | None = None, description: str | None = None) -> ContactList:
    before = {"name": contact_list.name, "description": contact_list.description}
    if name is not None and name.strip() != contact_list.name:
        other = find_list(name)
        if other is not None:
            raise Conflict(f"A list named {name.strip()!r} exists.", errors={"name": ["Taken."]})
        contact_list.name = name.strip()
    if description is not None:
        contact_list.description = description
    after = {"name": contact_list.name, "description": contact_list.description}
    if after != before:
        audit.record("list.update", "contact_list", contact_list.id, actor=actor,
                     details={"before": before, "after": after})
    return contact_list


def delete_list(contact_list: ContactList, *, actor: User | None) -> None:
    """Delete a list, its memberships and import records; the contacts stay."""
    count = member_counts([contact_list.id]).get(contact_list.id, 0)
    db.session.execute(delete(ListMember).where(ListMember.list_id == contact_list.id))
    db.session.delete(contact_list)
    audit.record("list.delete", "contact_list", contact_list.id, actor=actor,
                 details={"name": contact_list.name, "members": count})


def member_counts(list_ids: list[int]) -> dict[int, int]:
    if not list_ids:
        return {}
    rows = db.session.execute(
        select(ListMember.list_id, func.count()).where(ListMember.list_id.in_(list_ids))
        .group_by(ListMember.list_id))
    return {list_id: count for list_id, count in rows}


def add_members(contact_list: ContactList, contact_ids: list[int], *,
                actor: User | None) -> int:
    """Add existing contacts to a list; returns how many were not members yet."""
    ids = sorted(set(contact_ids))
    found = set(db.session.scalars(select(Contact.id).where(Contact.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed.field("contact_ids", f"Unknown contact id(s): {missing[:10]}.")
    before = member_counts([contact_list.id]).get(contact_list.id, 0)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if ids:
        db.session.execute(insert(ListMember).on_conflict_do_nothing(),
                           [{"list_id": contact_list.id, "contact_id": i} for i in ids])
    added = member_counts([contact_list.id]).get(contact_list.id, 0) - before
    if actor is not None and added:
        audit.record("list.add_members", "contact_list", contact_list.id, actor=actor,
                     details={"added": added})
    return added


def remove_member(contact_list: ContactList, contact_id: int, *, actor: User | None) -> None:
    result = db.session.execute(delete(ListMember).where(
        ListMember.list_id == contact_list.id, ListMember.contact_id == contact_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"Contact {contact_id} is not in list {contact_list.id}.")
    audit.record("list.remove_member", "contact_list", contact_list.id, actor=actor,
                 details={"contact_id": contact_id})
