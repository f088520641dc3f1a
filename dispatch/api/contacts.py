"""Contacts: search, show, create, edit (audited), delete."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, page_of, paginate, with_extra
from dispatch.audiences import contacts
from dispatch.extensions import db
from dispatch.models import Contact
from dispatch.schemas.audiences import (
    ContactCreateSchema,
    ContactDetailSchema,
    ContactQuery,
    ContactSchema,
    ContactUpdateSchema,
)

blp = Blueprint("contacts", __name__, url_prefix="/api", description="Contacts (phone numbers)")


def _detail(contact: Contact) -> dict[str, Any]:
    return with_extra(contact, ContactSchema, list_ids=contacts.list_ids_of(contact))


@blp.route("/contacts")
class Contacts(MethodView):
    @require("audience.view")
    @blp.arguments(ContactQuery, location="query")
    @blp.response(200, page_of(ContactSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Search contacts by number or name, operator, locality and list."""
        stmt = contacts.contacts_query(q=args.get("q"), operator=args.get("operator"),
                                       locality_id=args.get("locality_id"),
                                       list_id=args.get("list_id"))
        return paginate(stmt, args)

    @require("audience.edit")
    @blp.arguments(ContactCreateSchema)
    @blp.response(201, ContactDetailSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a contact; the number is normalised to E.164 and its operator looked up."""
        contact = contacts.create_contact(data.pop("msisdn"), actor=actor(), **data)
        db.session.commit()
        return _detail(contact)


@blp.route("/contacts/<int:contact_id>")
class ContactById(MethodView):
    @require("audience.view")
    @blp.response(200, ContactDetailSchema)
    def get(self, contact_id: int) -> dict[str, Any]:
        """Show a contact and the lists it belongs to."""
        return _detail(contacts.get_contact(contact_id))

    @require("audience.edit")
    @blp.arguments(ContactUpdateSchema)
    @blp.response(200, ContactDetailSchema)
    def patch(self, data: dict[str, Any], contact_id: int) -> dict[str, Any]:
        """Change name, locality, operator override (ported number) or attributes; null clears."""
        contact = contacts.update_contact(contacts.get_contact(contact_id), actor=actor(), **data)
        db.session.commit()
        return _detail(contact)

    @require("audience.edit")
    @blp.response(204)
    def delete(self, contact_id: int) -> None:
        """Delete a contact and its list memberships (an opt-out of the number stays)."""
        contacts.delete_contact(contacts.get_contact(contact_id), actor=actor())
        db.session.commit()
