"""Campaigns: drafts, the approval lifecycle, audit trail, diff and preview."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor, page_of, paginate, with_extra
from dispatch.campaigns import corrections, estimate, frozen, history, kinds, plans, service
from dispatch.engine import progress
from dispatch.extensions import db
from dispatch.models import Campaign, Phase
from dispatch.schemas.audit import AuditEventSchema
from dispatch.schemas.campaigns import (
    ApproveSchema,
    CampaignCreateSchema,
    CampaignDetailSchema,
    CampaignQuery,
    CampaignSchema,
    CampaignSummarySchema,
    CampaignWriteSchema,
    DiffQuery,
    DiffSchema,
    OptionalReasonSchema,
    PreviewSchema,
    ProgressSchema,
    ReasonSchema,
    RejectSchema,
    RetriedSchema,
    RetrySchema,
)
from dispatch.schemas.common import PageQuery
from dispatch.schemas.corrections import CorrectionStartSchema

blp = Blueprint("campaigns", __name__, url_prefix="/api",
                description="Campaigns and their two-person approval")


def detail(c: Campaign) -> dict[str, Any]:
    """The campaign with what the caller may do next, and its approved against actual reach."""
    return with_extra(c, CampaignSchema, allowed_actions=service.allowed_actions(c, actor()),
                      reach=frozen.reach(c), outside_phase=plans.campaign_warning(c),
                      corrections=[k.id for k in corrections.corrections_of(c)])


def saved(c: Campaign) -> dict[str, Any]:
    db.session.commit()
    return detail(c)


@blp.route("/campaigns")
class Campaigns(MethodView):
    @require("campaign.view")
    @blp.arguments(CampaignQuery, location="query")
    @blp.response(200, page_of(CampaignSummarySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List campaigns, newest first, by status, phase or plan, channel, author and time."""
        stmt = select(Campaign).where(kinds.counted()).order_by(Campaign.id.desc())
        if args.get("status") is not None:
            stmt = stmt.where(Campaign.status == args["status"])
        if args.get("phase_id") is not None:
            stmt = stmt.where(Campaign.phase_id == args["phase_id"])
        if args.get("plan_id") is not None:
            stmt = stmt.where(Campaign.phase_id.in_(
                select(Phase.id).where(Phase.plan_id == args["plan_id"])))
        if args.get("channel"):
            channel = args["channel"]
            wanted = [channel] if channel == "both" else [channel, "both"]
            stmt = stmt.where(Campaign.channels.in_(wanted))
        if args.get("author_id") is not None:
            stmt = stmt.where(Campaign.created_by_id == args["author_id"])
        if args.get("created_since"):
            stmt = stmt.where(Campaign.created_at >= args["created_since"])
        if args.get("created_until"):
            stmt = stmt.where(Campaign.created_at < args["created_until"])
        if args.get("q"):
            stmt = stmt.where(Campaign.title.ilike(f"%{args['q']}%"))
        return paginate(stmt.options(selectinload(Campaign.phase)), args)

    @require("campaign.create")
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignDetailSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a draft (it may be incomplete until submitted)."""
        return saved(service.create(data, actor=actor()))


@blp.route("/campaigns/<int:campaign_id>")
class CampaignById(MethodView):
    @require("campaign.view")
    @blp.response(200, CampaignDetailSchema)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Show a campaign, its frozen snapshot and the actions open to you."""
        return detail(service.get_campaign(campaign_id))

    @require("campaign.edit")
    @blp.arguments(CampaignWriteSchema)
    @blp.response(200, CampaignDetailSchema)
    def patch(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Edit the content; after submission or approval it goes back to draft (approval void)."""
        return saved(service.update(service.get_campaign(campaign_id), data, actor=actor()))

    @require("campaign.edit")
    @blp.response(204)
    def delete(self, campaign_id: int) -> None:
        """Delete a draft (its author only)."""
        service.delete(service.get_campaign(campaign_id), actor=actor())
        db.session.commit()


@blp.route("/campaigns/<int:campaign_id>/submit")
class Submit(MethodView):
    @require("campaign.submit")
    @blp.response(200, CampaignDetailSchema)
    def post(self, campaign_id: int) -> dict[str, Any]:
        """Ask for approval: freezes the content as a snapshot with its hash, and starts the
        freeze of the audience; the campaign is `submitting` until that is done, then
        `pending_approval` (a freeze that fails returns it to `draft`)."""
        return saved(service.submit(service.get_campaign(campaign_id), actor=actor()))


@blp.route("/campaigns/<int:campaign_id>/reopen")
class Reopen(MethodView):
    @require("campaign.edit")
    @blp.response(200, CampaignDetailSchema)
    def post(self, campaign_id: int) -> dict[str, Any]:
        """Back to draft unchanged: withdraw a submission or take up a rejection."""
        return saved(service.reopen(service.get_campaign(campaign_id), actor=actor()))


@blp.route("/campaigns/<int:campaign_id>/approve")
class Approve(MethodView):
    @require("campaign.approve")
    @blp.arguments(ApproveSchema)
    @blp.response(200, CampaignDetailSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Approve the snapshot you reviewed; never your own campaign."""
        c = service.approve(service.get_campaign(campaign_id), actor=actor(), **data)
        return saved(c)


@blp.route("/campaigns/<int:campaign_id>/reject")
class Reject(MethodView):
    @require("campaign.reject")
    @blp.arguments(RejectSchema)
    @blp.response(200, CampaignDetailSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Reject with a reason; never your own campaign."""
        return saved(service.reject(service.get_campaign(campaign_id), actor=actor(), **data))


@blp.route("/campaigns/<int:campaign_id>/launch")
class Launch(MethodView):
    @require("campaign.launch")
    @blp.response(200, CampaignDetailSchema)
    def post(self, campaign_id: int) -> dict[str, Any]:
        """Launch an approved campaign: sending now, or scheduled when send_at is ahead."""
        return saved(service.launch(service.get_campaign(campaign_id), actor=actor()))


@blp.route("/campaigns/<int:campaign_id>/pause")
class Pause(MethodView):
    @require("campaign.pause")
    @blp.arguments(OptionalReasonSchema)
    @blp.response(200, CampaignDetailSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Pause sending."""
        return saved(service.pause(service.get_campaign(campaign_id), actor=actor(), **data))


@blp.route("/campaigns/<int:campaign_id>/resume")
class Resume(MethodView):
    @require("campaign.resume")
    @blp.response(200, CampaignDetailSchema)
    def post(self, campaign_id: int) -> dict[str, Any]:
        """Resume a paused campaign."""
        return saved(service.resume(service.get_campaign(campaign_id), actor=actor()))


@blp.route("/campaigns/<int:campaign_id>/cancel")
class Cancel(MethodView):
    @require("campaign.cancel")
    @blp.arguments(ReasonSchema)
    @blp.response(200, CampaignDetailSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Cancel an approved, scheduled, sending or paused campaign, with a reason."""
        return saved(service.cancel(service.get_campaign(campaign_id), actor=actor(), **data))


@blp.route("/campaigns/<int:campaign_id>/correction")
class Correction(MethodView):
    @require("campaign.create")
    @blp.arguments(CorrectionStartSchema)
    @blp.response(201, CampaignDetailSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Start a correction (đính chính) of a sent campaign: a draft to its recipients."""
        original = service.get_campaign(campaign_id)
        return saved(corrections.start(original, actor=actor(), **data))


@blp.route("/campaigns/<int:campaign_id>/retry")
class Retry(MethodView):
    @require("campaign.retry")
    @blp.arguments(RetrySchema)
    @blp.response(200, RetriedSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Send failed and/or unknown messages again (may reach someone twice; audited)."""
        c = service.get_campaign(campaign_id)
        count = service.retry(c, actor=actor(), **data)
        db.session.commit()
        return {"messages": count, "campaign": CampaignDetailSchema().dump(detail(c))}


@blp.route("/campaigns/<int:campaign_id>/audit")
class CampaignAudit(MethodView):
    @require("campaign.view")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(AuditEventSchema))
    def get(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """The campaign's audit trail, oldest first."""
        return paginate(service.events(service.get_campaign(campaign_id)), args)


@blp.route("/campaigns/<int:campaign_id>/diff")
class CampaignDiff(MethodView):
    @require("campaign.view")
    @blp.arguments(DiffQuery, location="query")
    @blp.response(200, DiffSchema)
    def get(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """What changed since the last submitted (or approved) version."""
        return history.diff(service.get_campaign(campaign_id), against=args["against"])


@blp.route("/campaigns/<int:campaign_id>/preview")
class CampaignPreview(MethodView):
    @require("campaign.preview")
    @blp.response(200, PreviewSchema)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Recipients per operator (SMS) and devices (push), with the SMS encoding and cost."""
        return estimate.campaign_preview(service.get_campaign(campaign_id))


@blp.route("/campaigns/<int:campaign_id>/progress")
class CampaignProgress(MethodView):
    @require("campaign.view")
    @blp.response(200, ProgressSchema)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Live counts per status, channel, operator and account, with rate and ETA."""
        return progress.progress(service.get_campaign(campaign_id))
