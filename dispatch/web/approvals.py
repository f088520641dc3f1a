"""Approval: the queue, and the review page where an approver approves or rejects."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from dispatch.access.auth import require
from dispatch.campaigns import audience, estimate, frozen, history, plans, service
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, ContactList, Locality, Phase
from dispatch.schemas.campaigns import ApproveSchema, RejectSchema
from dispatch.web import forms, pages, queries
from dispatch.web.pages import Errors, me

bp = pages.blueprint("web_approvals", __name__, url_prefix="/approvals")


@bp.get("")
@require("campaign.approve")
def index() -> Any:
    pending = queries.with_status(CampaignStatus.PENDING_APPROVAL, limit=200)
    rows = [(c, "approve" in service.allowed_actions(c, me())) for c in pending]
    names = queries.names({c.created_by_id for c in pending})
    return render_template("approvals/list.html", rows=rows, names=names)


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
@require("campaign.approve")
def review(campaign_id: int) -> Any:
    """The frozen snapshot, what changed since the last version submitted, approve or reject."""
    c = service.get_campaign(campaign_id)
    errors: Errors = {}
    if request.method == "POST":
        decision = request.form.get("decision")
        snapshot_hash = forms.text(request.form, "snapshot_hash")
        if decision == "approve":
            data, errors = forms.load(ApproveSchema(), {
                "snapshot_hash": snapshot_hash,
                "cap_exempt": request.form.get("cap_exempt") == "on",
                "comment": forms.text(request.form, "comment") or None})
        else:
            data, errors = forms.load(RejectSchema(), {
                "reason": forms.text(request.form, "reason"),
                "snapshot_hash": snapshot_hash or None})
        if not errors:
            errors = pages.save(lambda: _decide(c, decision, data))[1]
        if errors:
            c = service.get_campaign(campaign_id)
        else:
            if decision == "approve":
                flash(_("Approved. The campaign can now be launched."), "success")
            else:
                flash(_("Rejected. The authors have been given your reason."), "success")
            return redirect(url_for("web_campaigns.show", campaign_id=c.id))
    snap = c.snapshot
    defined = audience.normalise(snap["audience"]) if snap else audience.empty()
    list_names = dict(db.session.query(ContactList.id, ContactList.name).filter(
        ContactList.id.in_(defined["lists"] + defined["exclude_lists"])).all())
    place_names = dict(db.session.query(Locality.code, Locality.name).filter(
        Locality.code.in_(defined["localities"])).all())
    actions = service.allowed_actions(c, me())
    changes = history.diff(c) if snap else None
    if changes:
        changes["changes"] = _readable(changes["changes"])
    people = queries.names({c.created_by_id} | ({changes["base"]["actor_id"]}
                                                if changes and changes["base"] else set()))
    return render_template(
        "approvals/show.html", c=c, snap=snap, defined=defined, list_names=list_names,
        place_names=place_names, actions=actions, changes=changes, people=people,
        # The figures frozen with the snapshot: what an approval covers, whatever the lists
        # became since; `reach` sets them against the audience now.
        preview=estimate.campaign_preview(c, frozen=True) if snap else None,
        reach=frozen.reach(c) if snap else None, errors=errors,
        phase=db.session.get(Phase, snap["phase_id"]) if snap and snap.get("phase_id") else None,
        outside=plans.snapshot_warning(snap),
        form=request.form,
    ), 422 if errors else 200


def _readable(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Phases by name, not id; a version submitted before plans named it by its old tag."""
    legacy = next((ch for ch in changes if ch["field"] == "phase_tag"), None)
    out = []
    for ch in changes:
        if ch["field"] == "phase_tag":
            continue
        if ch["field"] == "phase_id":
            before = _phase_name(ch["before"])
            if ch["before"] is None and legacy is not None and legacy["before"]:
                before = plans.LEGACY_TAGS.get(legacy["before"], legacy["before"])
            after = _phase_name(ch["after"])
            if before is not None and (after == before or (after or "").startswith(before + " (")):
                continue  # the same phase, named by its old tag in that version
            ch = {**ch, "before": before, "after": after}
        out.append(ch)
    return out


def _phase_name(phase_id: Any) -> str | None:
    phase = db.session.get(Phase, phase_id) if isinstance(phase_id, int) else None
    return plans.phase_label(phase) if phase is not None else None


def _decide(c: Campaign, decision: str | None, data: dict[str, Any]) -> None:
    if decision == "approve":
        service.approve(c, actor=me(), snapshot_hash=data["snapshot_hash"],
                        cap_exempt=data["cap_exempt"], comment=data["comment"],
                        frozen_at=request.form.get("frozen_at") or None)
    else:
        service.reject(c, actor=me(), reason=data["reason"], snapshot_hash=data["snapshot_hash"])
