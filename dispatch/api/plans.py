"""Communication plans and their phases; the campaigns of a plan by date."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.campaigns import plans
from dispatch.extensions import db
from dispatch.models import Phase, Plan
from dispatch.schemas.plans import (
    CalendarSchema,
    PhaseCreateSchema,
    PhaseSchema,
    PhaseWriteSchema,
    PlanCreateSchema,
    PlanSchema,
    PlanWriteSchema,
)

blp = Blueprint("plans", __name__, url_prefix="/api",
                description="Communication plans (kế hoạch) and their phases (đợt)")


def _plan(plan: Plan) -> dict[str, Any]:
    fields = {name: getattr(plan, name) for name in PlanSchema().fields if name != "phases"}
    return fields | {"phases": plans.ordered(plan.phases)}


@blp.route("/plans")
class Plans(MethodView):
    @require("plan.view")
    @blp.response(200, PlanSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every plan with its phases, the latest first."""
        return [_plan(p) for p in plans.all_plans()]

    @require("plan.manage")
    @blp.arguments(PlanCreateSchema)
    @blp.response(201, PlanSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a plan (add its phases next)."""
        plan = plans.create_plan(data, actor=actor())
        db.session.commit()
        return _plan(plan)


@blp.route("/plans/<int:plan_id>")
class PlanById(MethodView):
    @require("plan.view")
    @blp.response(200, PlanSchema)
    def get(self, plan_id: int) -> dict[str, Any]:
        """Show a plan and its phases."""
        return _plan(plans.get_plan(plan_id))

    @require("plan.manage")
    @blp.arguments(PlanWriteSchema)
    @blp.response(200, PlanSchema)
    def patch(self, data: dict[str, Any], plan_id: int) -> dict[str, Any]:
        """Edit a plan; its dates must keep every phase inside them."""
        plan = plans.update_plan(plans.get_plan(plan_id), data, actor=actor())
        db.session.commit()
        return _plan(plan)


@blp.route("/plans/<int:plan_id>/phases")
class Phases(MethodView):
    @require("plan.manage")
    @blp.arguments(PhaseCreateSchema)
    @blp.response(201, PhaseSchema)
    def post(self, data: dict[str, Any], plan_id: int) -> Phase:
        """Add a phase: inside the plan's dates, overlapping no other phase."""
        phase = plans.create_phase(plans.get_plan(plan_id), data, actor=actor())
        db.session.commit()
        return phase


@blp.route("/plans/<int:plan_id>/phases/<int:phase_id>")
class PhaseById(MethodView):
    @require("plan.view")
    @blp.response(200, PhaseSchema)
    def get(self, plan_id: int, phase_id: int) -> Phase:
        """Show a phase."""
        return plans.get_phase(phase_id, plans.get_plan(plan_id))

    @require("plan.manage")
    @blp.arguments(PhaseWriteSchema)
    @blp.response(200, PhaseSchema)
    def patch(self, data: dict[str, Any], plan_id: int, phase_id: int) -> Phase:
        """Edit a phase (its campaigns stay in it)."""
        phase = plans.update_phase(plans.get_phase(phase_id, plans.get_plan(plan_id)), data,
                                   actor=actor())
        db.session.commit()
        return phase

    @require("plan.manage")
    @blp.response(204)
    def delete(self, plan_id: int, phase_id: int) -> None:
        """Delete a phase no campaign belongs to (409 phase_in_use otherwise)."""
        plans.delete_phase(plans.get_phase(phase_id, plans.get_plan(plan_id)), actor=actor())
        db.session.commit()


@blp.route("/plans/<int:plan_id>/calendar")
class Calendar(MethodView):
    @require("plan.view")
    @blp.response(200, CalendarSchema)
    def get(self, plan_id: int) -> dict[str, Any]:
        """The plan's campaigns per phase by date: sent, scheduled, then unscheduled."""
        plan = plans.get_plan(plan_id)
        out = []
        for entry in plans.calendar(plan):
            items = []
            for d in entry.days:
                for c, kind in d.entries:
                    items.append({"id": c.id, "title": c.title, "status": c.status.value,
                                  "channels": c.channels, "kind": kind,
                                  "at": plans.campaign_moment(c)[0],
                                  "outside_phase": not plans.within(entry.phase, d.day)})
            items += [{"id": c.id, "title": c.title, "status": c.status.value,
                       "channels": c.channels, "kind": "unscheduled", "at": None,
                       "outside_phase": False} for c in entry.unscheduled]
            out.append({"phase": entry.phase, "campaigns": items})
        return {"plan_id": plan.id, "phases": out}
