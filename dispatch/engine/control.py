"""What the engine does when a person submits, launches, pauses, resumes or cancels a campaign.

Commit, then enqueue (DESIGN.md invariant 2): the campaigns service calls these inside its
transaction; the Redis side effects are deferred until that transaction commits, and dropped if it
rolls back, so a job never sees a campaign state that was not stored. Deferred actions touch
Redis only (the session is closed for SQL at that point): they capture ids, not objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from dispatch.engine import enqueue, flags, ledger
from dispatch.extensions import db
from dispatch.jobs import in_app_context
from dispatch.models import Campaign, CampaignStatus, MessageStatus

_KEY = "loa_after_commit"


def after_commit(action: Callable[[], Any]) -> None:
    """Run `action` once the current transaction has committed (never if it rolls back)."""
    db.session.info.setdefault(_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    actions = session.info.pop(_KEY, [])
    for action in actions:
        action()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_KEY, None)


def submitted(c: Campaign) -> None:
    """Submitted: have a worker freeze its audience once committed (the clock enqueues it again
    if this is lost)."""
    campaign_id, urgent = c.id, c.priority == "urgent"
    after_commit(lambda: enqueue.enqueue_freeze(campaign_id, urgent))


def launched(c: Campaign) -> None:
    """Sending now: expand the audience once committed. Scheduled: the clock starts it later."""
    if c.status is CampaignStatus.SENDING:
        campaign_id, urgent = c.id, c.priority == "urgent"

        def go() -> None:
            flags.clear_stop(campaign_id)
            enqueue.enqueue_expand(campaign_id, urgent)

        after_commit(go)


def started(c: Campaign) -> None:
    """The clock moved a scheduled campaign to sending."""
    launched(c)


def paused(c: Campaign, reason: str) -> None:
    campaign_id = c.id
    after_commit(lambda: flags.set_stop(campaign_id, reason))


def resumed(c: Campaign) -> None:
    campaign_id, urgent = c.id, c.priority == "urgent"

    def go() -> None:
        flags.clear_stop(campaign_id)
        enqueue.wake_sms()  # its queued SMS rows are claimable again
        enqueue.enqueue_requeue(campaign_id, urgent)

    after_commit(go)


@in_app_context
def requeue(campaign_id: int) -> int:
    """Job: enqueue the unsent push rows of a resumed campaign, and finish its expansion if
    needed (its SMS rows need nothing: the smpp process claims them from the ledger)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.SENDING:
        return 0
    if campaign.expanded_at is None:
        # Idempotent: the expand job continues from its checkpoint.
        enqueue.enqueue_expand(campaign.id, campaign.priority == "urgent")
    return enqueue.enqueue_queued(campaign)


def cancelled(c: Campaign) -> int:
    """Mark every unsent row cancelled (in the caller's transaction); in-flight ones finish."""
    campaign_id = c.id
    moved = ledger.finish_unsent(campaign_id, MessageStatus.CANCELLED, reason="cancelled")
    after_commit(lambda: flags.set_stop(campaign_id, "cancelled"))
    return moved
