"""The inbox (Hộp thư phản hồi): replies by campaign, place, operator, day, label, state and
kind; one reply's page (label, handle, assign, note, the number on request); bulk changes;
exports written in the background; the labels, edited by admins.

The filters go through the API's schema (`InboxFilterSchema`): a filter the page cannot read
is named in the page's error list (422), never silently dropped.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import false, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.campaigns import kinds
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.models import OPERATORS, Campaign, Locality, User
from dispatch.models.replies import Reply
from dispatch.replies import export, inbox
from dispatch.schemas.replies import (
    BulkSchema,
    InboxFilterSchema,
    LabelChangeSchema,
    LabelCreateSchema,
    ReplyChangeSchema,
)
from dispatch.schemas.translate import tr
from dispatch.web import pages, queries
from dispatch.web.i18n import label
from dispatch.web.pages import Errors, errors_of, me
from dispatch.web.templating import field_label

bp = pages.blueprint("web_inbox", __name__, url_prefix="/inbox")
FILTERS = tuple(inbox.Filters.__dataclass_fields__)
CHANGES = ("label_id", "state", "assigned_to_id")


def _filters(args: MultiDict[str, str]) -> tuple[inbox.Filters, Errors]:
    """The filters of a query string (or of a form's `f_` fields)."""
    raw: MultiDict[str, str] = MultiDict([(k, v) for k, v in args.items(multi=True)
                                          if k in FILTERS])
    try:
        filters = inbox.Filters.of(InboxFilterSchema().load(raw))
        inbox.check(filters)
    except (ma.ValidationError, LoaError) as err:
        return inbox.Filters(), errors_of(err)
    return filters, {}


def _choices() -> dict[str, Any]:
    campaigns = db.session.execute(select(Campaign.id, Campaign.title).where(
        Campaign.id.in_(select(Reply.campaign_id).distinct()), kinds.counted())
        .order_by(Campaign.id.desc()).limit(200)).all()
    places = db.session.execute(select(Locality.id, Locality.name).where(
        Locality.active.is_(True)).order_by(Locality.kind, Locality.name).limit(500)).all()
    staff = db.session.execute(select(User.id, User.full_name, User.username).where(
        User.active.is_(True)).order_by(User.username).limit(500)).all()
    return {"campaign_options": [(i, f"#{i} {t}") for i, t in campaigns],
            "place_options": list(places),
            "operator_options": [(op, label(op)) for op in OPERATORS],
            "state_options": [(s, label(s)) for s in inbox.STATES],
            "kind_options": [(k, label(k)) for k in inbox.KINDS],
            "label_options": [(la.id, la.name) for la in inbox.labels(active_only=True)],
            "staff_options": [(i, full or user) for i, full, user in staff]}


@bp.get("")
@require("reply.view")
def index() -> Any:
    filters, errors = _filters(request.args)
    stmt = inbox.query(filters)
    page = pages.page_of(stmt.where(false()) if errors else stmt)  # a bad filter shows nothing
    values = {k: request.args.get(k, "") for k in FILTERS} if not errors else {}
    return render_template("inbox/list.html", page=page, filters=values, errors=errors,
                           labels=inbox.label_names(), masked=inbox.masked,
                           places=_place_names(page["items"]),
                           names=queries.names({r.assigned_to_id for r in page["items"]}),
                           exporting=export.pending(me().id), **_choices()), \
        422 if errors else 200


def _place_names(replies: list[Reply]) -> dict[int, str]:
    ids = {r.locality_id for r in replies if r.locality_id}
    if not ids:
        return {}
    return {i: n for i, n in db.session.execute(select(Locality.id, Locality.name)
                                                .where(Locality.id.in_(ids)))}


@bp.get("/<int:reply_id>")
@require("reply.view")
def show(reply_id: int) -> Any:
    return _reply_page(inbox.get_reply(reply_id), {}, None)


def _reply_page(reply: Reply, errors: Errors, number: str | None,
                values: dict[str, Any] | None = None) -> Any:
    campaign = db.session.get(Campaign, reply.campaign_id) if reply.campaign_id else None
    place = db.session.get(Locality, reply.locality_id) if reply.locality_id else None
    form = values or {"label_id": reply.label_id or "", "state": reply.state,
                      "assigned_to_id": reply.assigned_to_id or "", "note": reply.note or ""}
    return render_template("inbox/show.html", r=reply, campaign=campaign, place=place,
                           number=number, masked=inbox.masked(reply.msisdn), errors=errors,
                           values=form, labels=inbox.label_names(),
                           names=queries.names({reply.assigned_to_id, reply.handled_by_id}),
                           **_choices()), 422 if errors else 200


@bp.post("/<int:reply_id>")
@require("reply.handle")
def change(reply_id: int) -> Any:
    reply = inbox.get_reply(reply_id)
    form = {k: request.form.get(k, "") for k in (*CHANGES, "note")}
    try:
        data = ReplyChangeSchema().load({k: (v or None) if k != "state" else v
                                         for k, v in form.items() if k != "state" or v})
    except ma.ValidationError as err:
        return _reply_page(reply, errors_of(err), None, form)
    _done, errors = pages.save(lambda: inbox.change(reply, data, me()))
    if errors:
        return _reply_page(inbox.get_reply(reply_id), errors, None, form)
    flash(_("The reply has been saved."), "success")
    return pages.back(url_for(".show", reply_id=reply_id))


@bp.post("/<int:reply_id>/number")
@require("reply.unmask")
def number(reply_id: int) -> Any:
    """The full number, on an explicit request, audited (never in the page's first view)."""
    reply = inbox.get_reply(reply_id)
    full = inbox.unmask([reply], me())
    db.session.commit()
    return _reply_page(reply, {}, full.get(reply.id))


@bp.post("/bulk")
@require("reply.handle")
def bulk() -> Any:
    body: dict[str, Any] = {k: request.form[k] for k in CHANGES if request.form.get(k)}
    target = request.form.get("target", "selected")
    filters, errors = _filters(MultiDict([(k[2:], v) for k, v in request.form.items(multi=True)
                                          if k.startswith("f_")]))
    if target == "matching":
        body["filter"] = filters.plain()
    else:
        body["ids"] = [pages.whole(v) or 0 for v in request.form.getlist("ids")]
        if not body["ids"]:
            errors = {"ids": ["Choose at least one reply."]}
    if not errors:
        try:
            data = BulkSchema().load(body)
        except ma.ValidationError as err:
            errors = errors_of(err)
    if not errors:
        changes = {k: data[k] for k in CHANGES if k in data}
        done, errors = pages.save(lambda: inbox.bulk(
            changes, me(), ids=data.get("ids"),
            filters=filters if target == "matching" else None))
    if errors:
        for field, messages in errors.items():
            for message in messages:
                flash(_("Bulk change refused (%(field)s): %(message)s",
                        field=_field_word(field), message=tr(message)), "error")
    else:
        flash(_("%(n)s replies changed.", n=done), "success")
    return pages.back(url_for(".index"))


def _field_word(field: str) -> str:
    return str(field_label(field.split(".")[0]))


@bp.post("/export")
@require("reply.view")
def ask_export() -> Any:
    fmt = request.form.get("format", "")
    filters, errors = _filters(MultiDict([(k[2:], v) for k, v in request.form.items(multi=True)
                                          if k.startswith("f_")]))
    if fmt not in export.FORMATS:
        errors = {"format": ["Must be one of: csv, xlsx."]}
    if errors:
        flash(_("Export refused: %(message)s", message="; ".join(
            f"{_field_word(k)}: {tr(m)}" for k, ms in errors.items() for m in ms)), "error")
        return pages.back(url_for(".index"))
    unmask = request.form.get("unmask") == "1"
    if unmask:
        pages.demand("reply.unmask")
    export.request_export(filters, fmt, me(), unmask=unmask, words=export_words())
    flash(_("The export is being prepared: it appears below when ready."), "success")
    return redirect(url_for(".exports"))


def export_words() -> dict[str, str]:
    """The codes of an export in Vietnamese (the department's files), whatever the page."""
    with force_locale("vi"):
        return {code: label(code) for code in (*inbox.KINDS, *inbox.STATES, *OPERATORS,
                                               "sms", "app")}


@bp.get("/exports")
@require("reply.view")
def exports() -> Any:
    return render_template("inbox/exports.html", files=export.stored(me().id),
                           pending=export.pending(me().id))


@bp.get("/exports/<name>")
@require("reply.view")
def download(name: str) -> Response:
    path = export.path_of(me().id, name)
    if path is None:
        abort(404)
    return send_file(path, as_attachment=True, download_name=f"loa-phan-hoi-{name}",
                     max_age=0)


@bp.get("/labels")
@require("reply.view")
def labels() -> Any:
    return _labels_page({})


def _labels_page(errors: Errors) -> Any:
    return render_template("inbox/labels.html", items=inbox.labels(), errors=errors,
                           values=request.form if errors else {}), 422 if errors else 200


@bp.post("/labels")
@require("reply.labels")
def create_label() -> Any:
    try:
        data = LabelCreateSchema().load({"name": request.form.get("name", "")})
    except ma.ValidationError as err:
        return _labels_page(errors_of(err))
    _done, errors = pages.save(lambda: inbox.create_label(data["name"], me()))
    if errors:
        return _labels_page(errors)
    flash(_("The label has been added."), "success")
    return redirect(url_for(".labels"))


@bp.post("/labels/<int:label_id>")
@require("reply.labels")
def change_label(label_id: int) -> Any:
    label_row = inbox.get_label(label_id)
    body: dict[str, Any] = {}
    if "name" in request.form:
        body["name"] = request.form["name"]
    if "active" in request.form:
        body["active"] = request.form["active"] == "1"
    try:
        data = LabelChangeSchema().load(body)
    except ma.ValidationError as err:
        return _labels_page(errors_of(err))
    _done, errors = pages.save(lambda: inbox.update_label(label_row, data, me()))
    if errors:
        return _labels_page(errors)
    flash(_("The label has been saved."), "success")
    return redirect(url_for(".labels"))
