"""Contact lists: CRUD, members and counts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, page_of, paginate
from dispatch.audiences import contacts
from dispatch.extensions import db
from dispatch.models import ContactList
from dispatch.schemas.audiences import (
    ContactSchema,
    ListCreateSchema,
    ListQuery,
    ListSchema,
    ListUpdateSchema,
    MembersAddedSchema,
    MembersAddSchema,
)
from dispatch.schemas.common import PageQuery

blp = Blueprint("lists", __name__, url_prefix="/api", description="Contact lists")
_LIST_FIELDS = [name for name in ListSchema().fields if name != "contact_count"]


def _with_count(contact_list: ContactList, counts: dict[int, int] | None = None) -> dict[str, Any]:
    if counts is None:
        counts = contacts.member_counts([contact_list.id])
    fields = {name: getattr(contact_list, name) for name in _LIST_FIELDS}
    return fields | {"contact_count": counts.get(contact_list.id, 0)}


@blp.route("/lists")
class Lists(MethodView):
    @require("audience.view")
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, page_of(ListSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List contact lists with their number of contacts."""
        stmt = select(ContactList).order_by(ContactList.name)
        if args.get("q"):
            stmt = stmt.where(ContactList.name.ilike(f"%{args['q']}%"))
        page = paginate(stmt, args)
        counts = contacts.member_counts([cl.id for cl in page["items"]])
        page["items"] = [_with_count(cl, counts) for cl in page["items"]]
        return page

    @require("audience.edit")
    @blp.arguments(ListCreateSchema)
    @blp.response(201, ListSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create an empty list (fill it with an import or by adding contacts)."""
        contact_list = contacts.create_list(data["name"], actor=actor(),
                                            description=data["description"])
        db.session.commit()
        return _with_count(contact_list, {})


@blp.route("/lists/<int:list_id>")
class ListById(MethodView):
    @require("audience.view")
    @blp.response(200, ListSchema)
    def get(self, list_id: int) -> dict[str, Any]:
        """Show a list and its number of contacts."""
        return _with_count(contacts.get_list(list_id))

    @require("audience.edit")
    @blp.arguments(ListUpdateSchema)
    @blp.response(200, ListSchema)
    def patch(self, data: dict[str, Any], list_id: int) -> dict[str, Any]:
        """Rename a list or change its description."""
        contact_list = contacts.update_list(contacts.get_list(list_id), actor=actor(), **data)
        db.session.commit()
        return _with_count(contact_list)

    @require("audience.edit")
    @blp.response(204)
    def delete(self, list_id: int) -> None:
        """Delete a list with its memberships and import records; contacts stay."""
        contacts.delete_list(contacts.get_list(list_id), actor=actor())
        db.session.commit()


@blp.route("/lists/<int:list_id>/members")
class ListMembers(MethodView):
    @require("audience.view")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(ContactSchema))
    def get(self, args: dict[str, Any], list_id: int) -> dict[str, Any]:
        """Page through the contacts of a list."""
        contacts.get_list(list_id)
        return paginate(contacts.contacts_query(list_id=list_id), args)

    @require("audience.edit")
    @blp.arguments(MembersAddSchema)
    @blp.response(200, MembersAddedSchema)
    def post(self, data: dict[str, Any], list_id: int) -> dict[str, int]:
        """Add existing contacts to a list (up to 1,000 ids a call)."""
        contact_list = contacts.get_list(list_id)
        added = contacts.add_members(contact_list, data["contact_ids"], actor=actor())
        db.session.commit()
        return {"added": added,
                "contact_count": contacts.member_counts([list_id]).get(list_id, 0)}


@blp.route("/lists/<int:list_id>/members/<int:contact_id>")
class ListMemberById(MethodView):
    @require("audience.edit")
    @blp.response(204)
    def delete(self, list_id: int, contact_id: int) -> None:
        """Take a contact out of a list (the contact stays)."""
        contacts.remove_member(contacts.get_list(list_id), contact_id, actor=actor())
        db.session.commit()
