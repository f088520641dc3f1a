"""Plan pages: the plans, a plan and its phases, their forms, and the plan's calendar."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from dispatch.access.auth import require
from dispatch.campaigns import plans
from dispatch.models import Phase, Plan
from dispatch.schemas.plans import PhaseCreateSchema, PlanCreateSchema
from dispatch.web import forms, pages
from dispatch.web.pages import Errors, me

bp = pages.blueprint("web_plans", __name__, url_prefix="/plans")

PLAN_BLANKS = {"title": "Give the plan a title.", "starts_on": "Give the first day.",
               "ends_on": "Give the last day."}
PHASE_BLANKS = {"name": "Give the phase a name.", "starts_on": "Give the first day.",
                "ends_on": "Give the last day."}


@bp.get("")
@require("plan.view")
def index() -> Any:
    return render_template("plans/list.html", choices=plans.choices())


def _values(obj: Plan | Phase | None, names: tuple[str, ...]) -> MultiDict[str, str]:
    values: MultiDict[str, str] = MultiDict()
    for name in names:
        value = None if obj is None else getattr(obj, name)
        values[name] = "" if value is None else str(value)
    return values


def _input(names: tuple[str, ...], multiline: tuple[str, ...]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in names:
        value = forms.text(request.form, name)
        if name in multiline or name == "reference" or value:
            raw[name] = value
    return raw


@bp.route("/new", methods=["GET", "POST"])
@require("plan.manage")
def new() -> Any:
    return _plan_form(None)


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@require("plan.manage")
def edit(plan_id: int) -> Any:
    return _plan_form(plans.get_plan(plan_id))


def _plan_form(plan: Plan | None) -> Any:
    errors: Errors = {}
    values = _values(plan, plans.PLAN_FIELDS)
    if request.method == "POST":
        values = request.form
        data, errors = forms.load(PlanCreateSchema(),
                                  _input(plans.PLAN_FIELDS, ("description",)), PLAN_BLANKS)
        if not errors:
            done, errors = pages.save(
                lambda: plans.create_plan(data, actor=me()) if plan is None
                else plans.update_plan(plan, data, actor=me()))
            if done is not None:
                flash(_("The plan has been saved."), "success")
                return redirect(url_for(".show", plan_id=done.id))
    return render_template("plans/form.html", plan=plan, values=values,
                           errors=errors), 422 if errors else 200


@bp.route("/<int:plan_id>/phases/new", methods=["GET", "POST"])
@require("plan.manage")
def new_phase(plan_id: int) -> Any:
    return _phase_form(plans.get_plan(plan_id), None)


@bp.route("/<int:plan_id>/phases/<int:phase_id>/edit", methods=["GET", "POST"])
@require("plan.manage")
def edit_phase(plan_id: int, phase_id: int) -> Any:
    plan = plans.get_plan(plan_id)
    return _phase_form(plan, plans.get_phase(phase_id, plan))


def _phase_form(plan: Plan, phase: Phase | None) -> Any:
    errors: Errors = {}
    values = _values(phase, plans.PHASE_FIELDS)
    if request.method == "POST":
        values = request.form
        if phase is not None and request.form.get("intent") == "delete":
            errors = pages.save(lambda: _delete(phase))[1]
            if not errors:
                flash(_("The phase has been deleted."), "success")
                return redirect(url_for(".show", plan_id=plan.id))
            values = _values(phase, plans.PHASE_FIELDS)
        else:
            data, errors = forms.load(PhaseCreateSchema(),
                                      _input(plans.PHASE_FIELDS, ("purpose",)), PHASE_BLANKS)
            if not errors:
                done, errors = pages.save(
                    lambda: plans.create_phase(plan, data, actor=me()) if phase is None
                    else plans.update_phase(phase, data, actor=me()))
                if done is not None:
                    flash(_("The phase has been saved."), "success")
                    return redirect(url_for(".show", plan_id=plan.id))
        plan = plans.get_plan(plan.id)
    return render_template("plans/phase_form.html", plan=plan, phase=phase, values=values,
                           errors=errors), 422 if errors else 200


def _delete(phase: Phase) -> bool:
    plans.delete_phase(phase, actor=me())
    return True


@bp.get("/<int:plan_id>")
@require("plan.view")
def show(plan_id: int) -> Any:
    plan = plans.get_plan(plan_id)
    entries = plans.calendar(plan)
    return render_template("plans/show.html", plan=plan, entries=entries)


@bp.get("/<int:plan_id>/calendar")
@require("plan.view")
def calendar(plan_id: int) -> Any:
    """Per phase, the days its campaigns were sent or are scheduled on."""
    plan = plans.get_plan(plan_id)
    entries = plans.calendar(plan)
    return render_template("plans/calendar.html", plan=plan, entries=entries,
                           long_day=lambda d: format_date(d, "EEEE, dd/MM/yyyy"),
                           within=plans.within, moment=plans.campaign_moment)
