"""Report pages: a campaign's, a date range's, a plan's and a phase's; the report document asked
for and downloaded.

The figures are dispatch.reports.scope's (the same arithmetic as `GET /api/.../report`); the
document is written by a job (dispatch.reports.document) and downloaded from here. Whoever may
see a campaign's report (`report.view`) may see these pages and ask for the document: it holds
aggregates only, no personal data.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.campaigns import audit, plans, service
from dispatch.errors import NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.reports import charts, document, inquiry, places, survey
from dispatch.reports import scope as scopes
from dispatch.reports import strategy as strategy_report
from dispatch.reports.scope import ReportScope
from dispatch.web import corrections as correction_links
from dispatch.web import pages
from dispatch.web.i18n import label
from dispatch.web.labels import reason as reason_words

bp = pages.blueprint("web_reports", __name__)


@bp.get("/campaigns/<int:campaign_id>/report")
@require("report.view")
def campaign(campaign_id: int) -> Any:
    c = service.get_campaign(campaign_id)
    scope = scopes.for_campaign(c)
    return _page(scope, url_for(".campaign_document", campaign_id=c.id))


@bp.get("/reports")
@require("report.view")
def period() -> Any:
    raw = {k: request.args.get(k, "") for k in ("since", "until")}
    if not any(v.strip() for v in raw.values()):
        since, until = scopes.this_month()
        raw = {"since": since.isoformat(), "until": until.isoformat()}
    try:
        since, until = scopes.read_range(raw["since"], raw["until"])
    except ValidationFailed as err:
        return render_template("reports/period.html", values=raw, errors=dict(err.errors),
                               fig=None), 422
    scope = scopes.for_range(since, until)
    return _page(scope, url_for(".period_document"), values=raw)


@bp.get("/plans/<int:plan_id>/report")
@require("report.view")
def plan(plan_id: int) -> Any:
    scope = scopes.for_plan(plans.get_plan(plan_id))
    return _page(scope, url_for(".plan_document", plan_id=plan_id))


@bp.get("/plans/<int:plan_id>/phases/<int:phase_id>/report")
@require("report.view")
def phase(plan_id: int, phase_id: int) -> Any:
    scope = scopes.for_phase(plans.get_phase(phase_id, plans.get_plan(plan_id)))
    return _page(scope, url_for(".phase_document", plan_id=plan_id, phase_id=phase_id))


def _page(scope: ReportScope, document_url: str, values: dict[str, str] | None = None) -> Any:
    fig = scopes.figures(scope)
    template = "reports/campaign.html" if scope.kind == "campaign" else "reports/period.html"
    return render_template(template, fig=fig, scope=scope, charts=_charts(fig),
                           **_free_texts(scope, fig),
                           document_url=document_url, values=values or {}, errors={},
                           doc=document.newest(scope.key),
                           pending=document.pending_since(scope.key),
                           download=lambda name: url_for(".download", key=scope.key, name=name),
                           phase_of=scopes.phase_of, strategy_of=strategy_report.figures,
                           correction_links=correction_links.links)


def _free_texts(scope: ReportScope, fig: dict[str, Any]) -> dict[str, Any]:
    """A page of the free replies of a campaign that asked for an answer, with their district."""
    if scope.kind != "campaign" or not fig["surveys"]:
        return {"free_page": None}
    known = places.names()
    return {"free_page": pages.page_of(survey.free_replies(scope.campaigns[0])),
            "district": lambda locality_id: places.district(locality_id, known)}


def _survey_charts(fig: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in fig["surveys"]:
        cid = r["campaign_id"]
        if r["choices"]:
            out[f"choices-{cid}"] = charts.bars_svg(
                _("Answers by choice"), [(ch["label"], ch["answers"]) for ch in r["choices"]],
                ident=f"chart-survey-{cid}", colour=charts.COLOURS[3])
        buckets = r.get("timeline", {}).get("buckets")
        if buckets:
            out[f"timeline-{cid}"] = charts.lines_svg(
                _("Replies and counted answers over time"),
                [b["start"].strftime("%d/%m %H:%M") for b in buckets],
                [(_("Replies received"), [b["replies"] for b in buckets]),
                 (_("Answers counted"), [b["answers"] for b in buckets])],
                ident=f"chart-survey-time-{cid}")
    return out


def _charts(fig: dict[str, Any]) -> dict[str, Any]:
    funnel = [(row["label"], row["count"]) for row in fig["funnel"]]
    operators = [(label(op), t["delivered"]) for op, t in fig["by_operator"].items()]
    places = [(row["name"], row["delivered"]) for row in fig["by_locality"]]
    buckets = fig["timeline"]["buckets"]
    times = [b["start"].strftime("%d/%m %H:%M") for b in buckets]
    return {
        "funnel": charts.bars_svg(_("Funnel: from approved recipients to delivered"), funnel,
                                  ident="chart-funnel"),
        "operators": charts.bars_svg(_("Delivered SMS by operator"), operators,
                                     ident="chart-operators", colour=charts.COLOURS[1]),
        "localities": charts.bars_svg(_("Delivered by locality"), places,
                                      ident="chart-localities", colour=charts.COLOURS[1]),
        "timeline": charts.lines_svg(
            _("Sent and delivered over time"), times,
            [(_("Sent"), [b["submitted"] for b in buckets]),
             (_("Delivered"), [b["delivered"] for b in buckets])],
            ident="chart-timeline") if buckets else None,
        "surveys": _survey_charts(fig),
    }


@bp.post("/campaigns/<int:campaign_id>/report/document")
@require("report.view")
def campaign_document(campaign_id: int) -> Response:
    c = service.get_campaign(campaign_id)
    _ask(scopes.for_campaign(c))
    return redirect(url_for(".campaign", campaign_id=c.id))


@bp.post("/reports/document")
@require("report.view")
def period_document() -> Any:
    raw = {k: request.form.get(k, "") for k in ("since", "until")}
    try:
        since, until = scopes.read_range(raw["since"], raw["until"])
    except ValidationFailed as err:
        return render_template("reports/period.html", values=raw, errors=dict(err.errors),
                               fig=None), 422
    _ask(scopes.for_range(since, until))
    return redirect(url_for(".period", since=since.isoformat(), until=until.isoformat()))


@bp.post("/plans/<int:plan_id>/report/document")
@require("report.view")
def plan_document(plan_id: int) -> Response:
    _ask(scopes.for_plan(plans.get_plan(plan_id)))
    return redirect(url_for(".plan", plan_id=plan_id))


@bp.post("/plans/<int:plan_id>/phases/<int:phase_id>/report/document")
@require("report.view")
def phase_document(plan_id: int, phase_id: int) -> Response:
    _ask(scopes.for_phase(plans.get_phase(phase_id, plans.get_plan(plan_id))))
    return redirect(url_for(".phase", plan_id=plan_id, phase_id=phase_id))


def _ask(scope: ReportScope) -> None:
    try:
        document.request_document(scope)
    except (RedisError, OSError):
        flash(_("The background queue cannot be reached now: the document was not asked for. "
                "Try again in a few minutes."), "error")
    else:
        flash(_("The report document is being written; it appears here when ready."),
              "success")


@bp.get("/reports/documents/<key>/<name>")
@require("report.view")
def download(key: str, name: str) -> Any:
    try:
        path = document.path_of(key, name)
    except ValueError:
        path = None
    if path is None:
        raise NotFound("No such report document.")
    made = name.removesuffix(".docx")[:15]
    return send_file(path, mimetype=document.DOCX_TYPE, as_attachment=True,
                     download_name=f"bao-cao-{key}-{made}.docx", max_age=0)


@bp.get("/campaigns/<int:campaign_id>/received")
@require("report.view")
def received(campaign_id: int) -> Any:
    """What one number received from the campaign: the exact text (audited, as in the API)."""
    c = service.get_campaign(campaign_id)
    number = request.args.get("msisdn", "").strip()
    answer, errors = None, {}
    if number:
        try:
            answer = inquiry.received(c, number)
        except ValidationFailed as err:
            errors = err.errors
        else:
            audit.record("report.inquiry", "campaign", c.id, actor=pages.me(),
                         details={"msisdn": answer["msisdn"]})
            db.session.commit()
    return render_template("reports/received.html", c=c, number=number, answer=answer,
                           errors=errors, reason=reason_words)
