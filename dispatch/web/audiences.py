"""Audience pages: contact lists and their imports, contacts, opt-outs and app devices."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.audiences import contacts, import_jobs, optouts
from dispatch.audiences.devices import device_summary
from dispatch.errors import LoaError, NotFound
from dispatch.extensions import db
from dispatch.models import OPERATORS, ContactImport, ContactList, Locality
from dispatch.schemas.audiences import ListCreateSchema, OptOutCreateSchema, OptOutRemoveSchema
from dispatch.schemas.translate import tr
from dispatch.web import forms, pages
from dispatch.web.pages import Errors, errors_of, me

bp = pages.blueprint("web_audiences", __name__, url_prefix="/audiences")


@bp.get("")
@require("audience.view")
def index() -> Response:
    return redirect(url_for(".lists"))


@bp.route("/lists", methods=["GET", "POST"])
@require("audience.view")
def lists() -> Any:
    errors: Errors = {}
    if request.method == "POST":
        pages.demand("audience.edit")
        data, errors = forms.load(ListCreateSchema(), {
            "name": forms.text(request.form, "name"),
            "description": forms.text(request.form, "description")},
            blank={"name": "Give the list a name."})
        if not errors:
            try:
                created = contacts.create_list(data["name"], actor=me(),
                                               description=data["description"])
                db.session.commit()
            except LoaError as err:
                db.session.rollback()
                errors = errors_of(err)
            else:
                flash(_("The list has been created. Now import a file into it."), "success")
                return redirect(url_for(".list_page", list_id=created.id))
    stmt = select(ContactList).order_by(ContactList.name)
    if request.args.get("q"):
        stmt = stmt.where(ContactList.name.ilike(f"%{request.args['q']}%"))
    page = pages.page_of(stmt)
    counts = contacts.member_counts([cl.id for cl in page["items"]])
    return render_template("audiences/lists.html", page=page, counts=counts, errors=errors,
                           form=request.form), 422 if errors else 200


@bp.get("/lists/<int:list_id>")
@require("audience.view")
def list_page(list_id: int) -> Any:
    contact_list = contacts.get_list(list_id)
    page = pages.page_of(contacts.contacts_query(list_id=list_id))
    imports = db.session.scalars(select(ContactImport).where(ContactImport.list_id == list_id)
                                 .order_by(ContactImport.id.desc()).limit(20)).all()
    count = contacts.member_counts([list_id]).get(list_id, 0)
    return render_template("audiences/list.html", cl=contact_list, page=page, imports=imports,
                           count=count, places=_places())


@bp.post("/lists/<int:list_id>/import")
@require("audience.edit")
def upload(list_id: int) -> Any:
    """Store an uploaded CSV/XLSX and queue its import; its page follows, and shows progress."""
    contact_list = contacts.get_list(list_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV or Excel file first."), "error")
        return redirect(url_for(".list_page", list_id=list_id))
    record = import_jobs.submit(upload.stream, upload.filename, contact_list, me())
    return redirect(url_for(".import_page", import_id=record.id))


def _import(import_id: int) -> ContactImport:
    record = db.session.get(ContactImport, import_id)
    if record is None:
        raise NotFound(f"Import {import_id} does not exist.")
    return record


@bp.get("/imports/<int:import_id>")
@require("audience.view")
def import_page(import_id: int) -> Any:
    record = _import(import_id)
    contact_list = contacts.get_list(record.list_id)
    return render_template("audiences/import.html", record=record, cl=contact_list,
                           view=import_jobs.describe(record))


@bp.post("/imports/<int:import_id>/cancel")
@require("audience.edit")
def import_cancel(import_id: int) -> Any:
    record = import_jobs.cancel(_import(import_id), me())
    if record.status == "running":
        flash(_("Cancelling: the import stops within a few seconds and nothing of it is kept."),
              "success")
    return redirect(url_for(".import_page", import_id=import_id))


@bp.get("/imports/<int:import_id>/refused.csv")
@require("audience.view")
def import_refused(import_id: int) -> Response:
    record = _import(import_id)
    body = stream_with_context(import_jobs.refused_rows(record, tr))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{record.id}-refused.csv"',
        "Cache-Control": "no-store"})


@bp.get("/contacts")
@require("audience.view")
def contact_search() -> Any:
    args = request.args
    locality = args.get("locality_id", "")
    list_id = args.get("list_id", "")
    operator = args.get("operator", "")
    stmt = contacts.contacts_query(
        q=args.get("q") or None, operator=operator if operator in OPERATORS else None,
        locality_id=pages.whole(locality), list_id=pages.whole(list_id))
    page = pages.page_of(stmt)
    all_lists = db.session.scalars(select(ContactList).order_by(ContactList.name)).all()
    return render_template("audiences/contacts.html", page=page, args=args, places=_places(),
                           lists=all_lists, operators=OPERATORS)


def _places() -> dict[int, Locality]:
    return {p.id: p for p in db.session.scalars(select(Locality).order_by(Locality.name))}


@bp.route("/optouts", methods=["GET", "POST"])
@require("audience.view")
def optout_list() -> Any:
    errors: Errors = {}
    if request.method == "POST":
        pages.demand("optout.edit")
        data, errors = forms.load(OptOutCreateSchema(), {
            "channel": request.form.get("channel", "sms"),
            "address": forms.text(request.form, "address"),
            "reason": forms.text(request.form, "reason"), "source": "staff"})
        if not errors and not data["reason"]:
            # The page asks staff for a reason; the API leaves it optional for scripts.
            errors = {"reason": ["Say why the address is opted out."]}
        if not errors:
            try:
                optouts.add_opt_out(data["channel"], data["address"], source="staff",
                                    reason=data["reason"], actor=me())
                db.session.commit()
            except LoaError as err:
                db.session.rollback()
                errors = errors_of(err)
            else:
                flash(_("The opt-out has been recorded."), "success")
                return redirect(url_for(".optout_list"))
    args = request.args
    channel = args.get("channel", "")
    stmt = optouts.opt_outs_query(channel=channel if channel in ("sms", "push") else None,
                                  source=args.get("source") or None,
                                  address=args.get("address") or None)
    return render_template("audiences/optouts.html", page=pages.page_of(stmt), args=args,
                           errors=errors, form=request.form), 422 if errors else 200


@bp.route("/optouts/<int:opt_out_id>/remove", methods=["GET", "POST"])
@require("optout.edit")
def optout_remove(opt_out_id: int) -> Any:
    opt_out = optouts.get_opt_out(opt_out_id)
    errors: Errors = {}
    if request.method == "POST":
        data, errors = forms.load(OptOutRemoveSchema(),
                                  {"reason": forms.text(request.form, "reason")},
                                  blank={"reason": "Say why the opt-out is lifted."})
        if not errors:
            try:
                optouts.remove_opt_out(opt_out, reason=data["reason"], actor=me())
                db.session.commit()
            except LoaError as err:
                db.session.rollback()
                errors = errors_of(err)
            else:
                flash(_("The opt-out has been lifted."), "success")
                return redirect(url_for(".optout_list"))
    return render_template("audiences/optout_remove.html", opt_out=opt_out,
                           errors=errors), 422 if errors else 200


@bp.get("/devices")
@require("audience.view")
def devices() -> Any:
    return render_template("audiences/devices.html", summary=device_summary())
