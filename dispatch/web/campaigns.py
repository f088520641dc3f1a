"""Campaign pages: the list, the composer, the campaign page and its actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.campaigns import (
    audience,
    content,
    corrections,
    estimate,
    frozen,
    lifecycle,
    personal,
    placeholders,
    plans,
    service,
    settings,
    strategy,
)
from dispatch.campaigns.preview import MAX_TEXT_CHARS
from dispatch.engine import progress
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.models import (
    OPERATORS,
    Campaign,
    CampaignStatus,
    ContactList,
    Locality,
    Message,
    MessageStatus,
    Phase,
    User,
)
from dispatch.models.common import utcnow
from dispatch.replies.ask import sent_text
from dispatch.schemas.campaigns import OptionalReasonSchema, ReasonSchema, RetrySchema
from dispatch.schemas.common import StrictSchema
from dispatch.schemas.translate import tr
from dispatch.web import corrections as correction_links
from dispatch.web import forms, pages, queries, reply_form
from dispatch.web.i18n import label, num
from dispatch.web.pages import Errors, errors_of, me

bp = pages.blueprint("web_campaigns", __name__, url_prefix="/campaigns")
S = CampaignStatus
LIVE = (S.SCHEDULED, S.SENDING, S.PAUSED)
# Actions asked for on a page of their own, where the person confirms and may give a reason.
CONFIRMED = ("launch", "pause", "cancel", "retry", "delete")
DIRECT = ("submit", "reopen", "resume")


class NoBody(StrictSchema):
    """Launch and delete take nothing but the confirmation."""


@bp.get("")
@require("campaign.view")
def index() -> Any:
    filters = {k: request.args.get(k, "").strip() for k in
               ("status", "phase_id", "plan_id", "channel", "author_id", "q", "since",
                "until")}
    if filters["status"] not in {s.value for s in S}:
        filters["status"] = ""
    for name in ("author_id", "phase_id", "plan_id"):
        if pages.whole(filters[name]) is None:
            filters[name] = ""
    bounds = {}
    for name in ("since", "until"):
        try:
            moment = forms.parse_local(filters[name] + "T00:00") if filters[name] else None
        except ValueError:
            moment = None
            filters[name] = ""
        if moment is not None and name == "until":
            moment += timedelta(days=1)  # the whole of the last day
        bounds[name] = moment
    page = pages.page_of(queries.campaigns({**filters, **bounds}))
    authors = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("campaigns/list.html", page=page, filters=filters, authors=authors,
                           names=queries.names({c.created_by_id for c in page["items"]}),
                           phase_choices=plans.choices(), statuses=[s.value for s in S])


@bp.route("/new", methods=["GET", "POST"])
@require("campaign.create")
def new() -> Any:
    if request.method == "POST":
        data, errors = forms.campaign_input(request.form, creating=True)
        if not errors:
            created, errors = pages.save(lambda: service.create(data, actor=me()))
            if created is not None:
                return _after_save(created)
        return _composer(None, request.form, errors)
    start, end = content.default_window()
    return _composer(None, forms.campaign_values(None, {
        "window_start": start.strftime("%H:%M"), "window_end": end.strftime("%H:%M"),
        "validity_hours": "24"}), {})


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@require("campaign.edit")
def edit(campaign_id: int) -> Any:
    c = service.get_campaign(campaign_id)
    if request.method == "POST":
        data, errors = forms.campaign_input(request.form, creating=False)
        if not errors:
            errors = pages.save(lambda: service.update(c, data, actor=me()))[1]
            if not errors:
                return _after_save(c)
        return _composer(c, request.form, errors)
    if not lifecycle.can(c.status, "edit"):
        flash(_("This campaign can no longer be edited."), "error")
        return redirect(url_for(".show", campaign_id=c.id))
    return _composer(c, forms.campaign_values(c, {}), {})


def _after_save(c: Campaign) -> Any:
    """Save draft, or save and submit when that button was pressed."""
    if request.form.get("intent") != "submit":
        flash(_("The draft has been saved."), "success")
        return redirect(url_for(".edit", campaign_id=c.id))
    try:
        service.submit(c, actor=me())
        db.session.commit()
    except LoaError as err:
        db.session.rollback()
        c = service.get_campaign(c.id)
        return _composer(c, request.form, errors_of(err), saved=True)
    flash(_("The campaign has been submitted: Loa is freezing its list of recipients, then it "
            "awaits approval."), "success")
    return redirect(url_for(".show", campaign_id=c.id))


def _composer(c: Campaign | None, values: MultiDict[str, str], errors: Errors,
              saved: bool = False) -> Any:
    lists = db.session.scalars(select(ContactList).order_by(ContactList.name).limit(500)).all()
    counts = _member_counts([cl.id for cl in lists])
    localities = db.session.scalars(select(Locality).where(Locality.active.is_(True))
                                    .order_by(Locality.kind, Locality.name)).all()
    list_options = [(cl.id, f"{cl.name} ({num(counts.get(cl.id, 0))})") for cl in lists]
    place_options = [(p.code, p.name) for p in localities]
    return render_template("campaigns/form.html", c=c, values=values, errors=errors,
                           list_options=list_options, place_options=place_options,
                           phase_choices=plans.choices(), outside=_composer_warning(c, values),
                           today=plans.local_day(utcnow()).isoformat(),
                           saved=saved), 422 if errors else 200


def _composer_warning(c: Campaign | None, values: MultiDict[str, str]) -> dict[str, Any] | None:
    """The phase warning for what the composer holds (as posted, else as saved)."""
    phase_id = pages.whole(values.get("phase_id", ""))
    phase = None if phase_id is None else db.session.get(Phase, phase_id)
    try:
        send_at = forms.parse_local(values.get("send_at", ""))
    except ValueError:
        send_at = c.send_at if c is not None else None
    return plans.outside_phase(phase, send_at)


def _member_counts(ids: list[int]) -> dict[int, int]:
    from dispatch.audiences.contacts import member_counts

    return member_counts(ids)


@bp.get("/estimate")
@require("campaign.preview")
def estimate_audience() -> Any:
    """Recipients of an audience not yet saved, for the composer's live preview."""
    defined: dict[str, Any] = {
        "lists": forms.ints(request.args.getlist("lists")),
        "exclude_lists": forms.ints(request.args.getlist("exclude_lists")),
        "localities": request.args.getlist("localities"),
        "all_app_users": request.args.get("all_app_users") == "1",
    }
    channels = request.args.get("channels", "sms")
    errors = audience.reference_errors(defined)
    if errors:
        return jsonify({"errors": errors}), 422
    out: dict[str, Any] = {"sms": None, "push": None, "localities": []}
    if content.uses_sms(channels):
        out["sms"] = audience.sms_recipients(defined)
        out["sms_total"] = sum(out["sms"].values())
    if content.uses_push(channels):
        out["push"] = audience.push_recipients(defined)
    names = dict(db.session.execute(select(Locality.code, Locality.name)
                                    .where(Locality.code.in_(defined["localities"]))).all())
    for code in defined["localities"][:50]:
        one = {"lists": [], "exclude_lists": defined["exclude_lists"], "localities": [code],
               "all_app_users": False}
        row: dict[str, Any] = {"code": code, "name": names.get(code, code)}
        if content.uses_sms(channels):
            row["sms"] = sum(audience.sms_recipients(one).values())
        if content.uses_push(channels):
            row["push"] = audience.push_recipients(one)
        out["localities"].append(row)
    return jsonify(out)


def _composer_body() -> tuple[dict[str, Any], dict[str, Any]]:
    """The composer's fields as its scripts POST them (JSON: a Vietnamese text percent-encoded
    in a URL would outgrow gunicorn's request line), and the audience they define."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}

    def listed(name: str) -> list[str]:
        values = body.get(name)
        return [str(v) for v in values] if isinstance(values, list) else []

    defined: dict[str, Any] = {
        "lists": forms.ints(listed("lists")),
        "exclude_lists": forms.ints(listed("exclude_lists")),
        "localities": listed("localities"),
        "all_app_users": body.get("all_app_users") is True,
    }
    return body, defined


@bp.post("/estimate/strategy")
@require("campaign.preview")
def estimate_strategy() -> Any:
    """SMS for all against SMS to the numbers the app does not cover, for the composer."""
    body, defined = _composer_body()
    errors = audience.reference_errors(defined)
    if errors:
        return jsonify({"errors": errors}), 422
    text = body.get("sms_text")
    return jsonify(strategy.estimate(defined, text=text[:MAX_TEXT_CHARS] if isinstance(
                                         text, str) else "",
                                     plain=body.get("sms_plain") is True))


@bp.post("/estimate/text")
@require("campaign.preview")
def estimate_text() -> Any:
    """The SMS as the draft's page previews it, for the composer: `text` as sent (braces of a
    text without placeholders undoubled, the survey's question appended), and `personal`, a
    personalised text rendered for the chosen audience's first recipients
    (dispatch.campaigns.personal.sampled), null without placeholders. The composer's parts and
    cost follow these, not the text as typed."""
    body, defined = _composer_body()
    fields: MultiDict[str, str] = MultiDict()
    for name in ("sms_text", "reply_mode", "survey_question", "survey_choices"):
        if isinstance(body.get(name), str):
            fields[name] = body[name]
    errors = audience.reference_errors(defined)
    if errors:
        return jsonify({"errors": errors}), 422
    raw: dict[str, Any] = {}
    reply_form.reply_input(fields, raw)
    mode = raw["reply_mode"] if raw["reply_mode"] in ("free", "survey") else "none"
    draft = Campaign(sms_text=forms.text(fields, "sms_text")[:MAX_TEXT_CHARS],
                     sms_plain=body.get("sms_plain") is True, reply_mode=mode,
                     survey=raw.get("survey"))
    text = sent_text(placeholders.as_written(draft.sms_text or ""), mode, draft.survey)
    return jsonify({"text": text,
                    "personal": personal.sampled(draft, audience.sms_reachable(defined))})


@bp.get("/<int:campaign_id>")
@require("campaign.view")
def show(campaign_id: int) -> Any:
    c = service.get_campaign(campaign_id)
    actions = service.allowed_actions(c, me())
    launched = c.launched_at is not None or c.status in (S.COMPLETED, *LIVE)
    figures = progress.progress(c) if launched else None
    preview = None if launched else estimate.campaign_preview(c, frozen=True)
    events = list(db.session.scalars(service.events(c)))
    people = queries.names({e.actor_id for e in events} | {c.created_by_id, c.approved_by_id})
    return render_template(
        "campaigns/show.html", c=c, actions=actions, figures=figures, preview=preview,
        problems=queries.problems(c) if launched else [], events=events, people=people,
        reports=queries.report_links(c) if launched else [], lists=_list_names(c),
        outside=plans.campaign_warning(c), correction=correction_links.context(c, me()),
        localities=_locality_names(c), live=c.status in LIVE, reach=frozen.reach(c),
        operator_names={op: label(op) for op in (*OPERATORS, "other")} | {"app": label("push")},
    )


@bp.post("/<int:campaign_id>/correction")
@require("campaign.create")
def correct(campaign_id: int) -> Response:
    """Start a correction (đính chính) and open its draft for the editor to write."""
    original = service.get_campaign(campaign_id)
    try:
        fix = corrections.start(
            original, actor=me(), only_delivered=bool(request.form.get("only_delivered")),
            cancel_original=bool(request.form.get("cancel_original")),
            reason=forms.text(request.form, "reason") or None)
        db.session.commit()
    except LoaError as err:
        db.session.rollback()
        _flash_error(err)
        return redirect(url_for(".show", campaign_id=campaign_id))
    flash(_("The correction's draft has been made: write its text, then submit it."), "success")
    return redirect(url_for(".edit", campaign_id=fix.id))


def _list_names(c: Campaign) -> dict[int, str]:
    defined = audience.normalise(c.snapshot["audience"] if c.snapshot else c.audience)
    ids = defined["lists"] + defined["exclude_lists"]
    if not ids:
        return {}
    return dict(db.session.execute(select(ContactList.id, ContactList.name)
                                   .where(ContactList.id.in_(ids))).all())


def _locality_names(c: Campaign) -> dict[str, str]:
    defined = audience.normalise(c.snapshot["audience"] if c.snapshot else c.audience)
    if not defined["localities"]:
        return {}
    return dict(db.session.execute(select(Locality.code, Locality.name)
                                   .where(Locality.code.in_(defined["localities"]))).all())


def _demand(action: str) -> None:
    pages.demand(lifecycle.PERMISSION[action])


@bp.post("/<int:campaign_id>/<any(submit, reopen, resume):action>")
@require("campaign.view")
def act(campaign_id: int, action: str) -> Response:
    _demand(action)
    c = service.get_campaign(campaign_id)
    try:
        getattr(service, action)(c, actor=me())
        db.session.commit()
    except LoaError as err:
        db.session.rollback()
        _flash_error(err)
    else:
        flash(_("Done: %(action)s.", action=_label(action)), "success")
    return redirect(url_for(".show", campaign_id=campaign_id))


@bp.route("/<int:campaign_id>/confirm/<any(launch, pause, cancel, retry, delete):action>",
          methods=["GET", "POST"])
@require("campaign.view")
def confirm(campaign_id: int, action: str) -> Any:
    """Ask before launching, pausing, cancelling, retrying or deleting."""
    _demand(action)
    c = service.get_campaign(campaign_id)
    errors: Errors = {}
    if request.method == "POST":
        data, errors = forms.load(CONFIRM_SCHEMAS[action](), _confirm_input(action))
        if not errors:
            errors = pages.save(lambda: _perform(c, action, data))[1]
            if errors:
                c = service.get_campaign(campaign_id)
            else:
                if action == "delete":
                    flash(_("The draft has been deleted."), "success")
                    return redirect(url_for(".index"))
                if action != "retry":
                    flash(_("Done: %(action)s.", action=_label(action)), "success")
                if action == "launch":
                    _flash_not_approved(c)
                return redirect(url_for(".show", campaign_id=campaign_id))
    possible = action in service.allowed_actions(c, me())
    launching = action == "launch" and possible
    preview = estimate.campaign_preview(c, frozen=True) if launching else None
    retryable = _retryable(c) if action == "retry" else {}
    return render_template("campaigns/confirm.html", c=c, action=action, possible=possible,
                           preview=preview, reach=frozen.reach(c) if launching else None,
                           errors=errors, retryable=retryable,
                           window=settings.get("send_window")), 422 if errors else 200


def _flash_not_approved(c: Campaign) -> None:
    """Say, on launching, whom the approval does not cover (the audience grew since)."""
    reach = frozen.reach(c)
    if reach and reach["not_approved_total"]:
        flash(_("%(n)s members joined the audience after it was frozen for approval: this "
                "campaign does not reach them. To reach them, send a new campaign (or edit this "
                "one and submit it again).", n=num(reach["not_approved_total"])), "warn")


# The API's schema of each confirmed action's body (dispatch.api.campaigns), for its form.
CONFIRM_SCHEMAS: dict[str, type[ma.Schema]] = {
    "launch": NoBody, "delete": NoBody, "pause": OptionalReasonSchema, "cancel": ReasonSchema,
    "retry": RetrySchema,
}


def _perform(c: Campaign, action: str, data: dict[str, Any]) -> None:
    reason = data.get("reason") or ""
    if action == "launch":
        service.launch(c, actor=me())
    elif action == "pause":
        service.pause(c, actor=me(), reason=reason or None)
    elif action == "cancel":
        service.cancel(c, actor=me(), reason=reason)
    elif action == "retry":
        count = service.retry(c, actor=me(), statuses=data["statuses"], reason=reason)
        flash(_("%(count)s messages will be sent again.", count=count), "success")
    else:
        service.delete(c, actor=me())


def _confirm_input(action: str) -> dict[str, Any]:
    if action in ("launch", "delete"):
        return {}
    raw: dict[str, Any] = {"reason": forms.text(request.form, "reason")}
    if action == "retry":
        raw["statuses"] = request.form.getlist("statuses")
    return raw


def _retryable(c: Campaign) -> dict[str, int]:
    rows = db.session.execute(
        select(Message.status, func.count()).where(
            Message.campaign_id == c.id,
            Message.status.in_((MessageStatus.FAILED, MessageStatus.UNKNOWN)))
        .group_by(Message.status))
    return {MessageStatus(s).value: n for s, n in rows}


def _label(action: str) -> str:
    return label(action)


def _flash_error(err: LoaError) -> None:
    flash(tr(err.message), "error")
