"""Campaign actions: each checks the transition table, changes the campaign, writes the audit.

Views call one function and commit. Two rules sit on top of the role table:
- separation of duties: nobody who wrote the campaign (created, edited or submitted it) may
  approve or reject it, whatever roles they hold;
- approval binds to content: an approval names the snapshot hash the approver reviewed, and any
  later edit returns the campaign to draft and voids the approval.
Concurrent requests on one campaign are serialised by `_claim`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select, select

from dispatch.access.permissions import allowed
from dispatch.campaigns import audience, audit, content, frozen, kinds, lifecycle, notes
from dispatch.engine import control, ledger
from dispatch.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dispatch.extensions import db
from dispatch.hooks import events as hooks
from dispatch.models import (
    AuditEvent,
    Campaign,
    CampaignStatus,
    Message,
    MessagePart,
    MessageStatus,
    User,
)
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import chunks

S = CampaignStatus
ENTITY = "campaign"
SUBMITTED = (S.SUBMITTING, S.PENDING_APPROVAL)  # a submission an edit or a withdrawal voids
# Audit actions whose actor had a hand in the content: they may not approve or reject it.
AUTHORING = ("campaign.create", "campaign.update", "campaign.submit")
FREEZE_RETRY = "campaign.freeze_retry"  # not a move: the campaign stays `submitting`


def get_campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} does not exist.")
    return campaign


def events(c: Campaign) -> Select[Any]:
    """The select of this campaign's audit events, oldest first."""
    # An id freed by a deleted draft can be reused on SQLite: only events since creation count.
    return (select(AuditEvent)
            .where(AuditEvent.entity == ENTITY, AuditEvent.entity_id == str(c.id),
                   AuditEvent.at >= c.created_at)
            .order_by(AuditEvent.id))


def authors(c: Campaign) -> set[int]:
    """Everyone who created, edited or submitted the campaign."""
    stmt = events(c).with_only_columns(AuditEvent.actor_id).where(
        AuditEvent.action.in_(AUTHORING)).order_by(None)
    return {c.created_by_id} | {a for a in db.session.scalars(stmt) if a is not None}


def allowed_actions(c: Campaign, user: User) -> list[str]:
    """The actions `user` may take on `c` now (roles, status and separation of duties)."""
    out = []
    wrote: bool | None = None
    for action, permission in lifecycle.PERMISSION.items():
        if not (allowed(user.roles, permission) and lifecycle.can(c.status, action)):
            continue
        if action in ("approve", "reject"):
            if wrote is None:
                wrote = user.id in authors(c)
            if wrote:
                continue
        if action == "delete" and c.created_by_id != user.id:
            continue
        out.append(action)
    return out


def create(data: dict[str, Any], *, actor: User) -> Campaign:
    """Create a draft; it may be incomplete, but whatever it names must exist and be valid."""
    clean = content.clean_changes(data, now=utcnow())
    start, end = content.default_window()
    clean.setdefault("window_start", start)
    clean.setdefault("window_end", end)
    if errors := content.window_errors(clean["window_start"], clean["window_end"]):
        raise ValidationFailed("window_end: " + errors["window_end"][0], errors=errors)
    clean.setdefault("channels", "sms")
    clean.setdefault("audience", audience.empty())
    c = Campaign(**clean, status=S.DRAFT, version=1, created_by_id=actor.id, cap_exempt=False)
    db.session.add(c)
    db.session.flush()
    audit.record("campaign.create", ENTITY, c.id, actor=actor,
                 after_hash=content.content_hash(c), details={"version": 1})
    return c


def update(c: Campaign, changes: dict[str, Any], *, actor: User) -> Campaign:
    """Edit the content; after a submission or approval this returns it to draft, voiding them."""
    lifecycle.check(c.status, "edit")
    if c.kind == "correction":
        # Its audience is its original's recipients (dispatch.campaigns.corrections): a form's
        # lists and places do not replace it.
        changes = {k: v for k, v in changes.items() if k != "audience"}
    clean = content.clean_changes(changes, now=utcnow(), current=c)
    start = clean.get("window_start", c.window_start)
    end = clean.get("window_end", c.window_end)
    if errors := content.window_errors(start, end):
        raise ValidationFailed("window_end: " + errors["window_end"][0], errors=errors)
    before = content.snapshot(c)
    _claim(c)
    for field, value in clean.items():
        setattr(c, field, value)
    after = content.snapshot(c)
    if after == before:
        return c  # saving an unchanged form voids nothing
    before_hash, after_hash = audit.content_hash(before), audit.content_hash(after)
    old_status = c.status
    if old_status in (S.SUBMITTING, S.PENDING_APPROVAL, S.APPROVED, S.SCHEDULED):
        voided = "submission" if old_status in SUBMITTED else "approval"
        audit.record(
            "campaign.void", ENTITY, c.id, actor=actor,
            reason=notes.note(notes.VOIDED, what=voided, status=old_status.value),
            before_hash=c.snapshot_hash, after_hash=after_hash,
            details={"voided": voided, "from": old_status.value, "to": S.DRAFT.value,
                     "snapshot": c.snapshot, "snapshot_hash": c.snapshot_hash,
                     "approved_by_id": c.approved_by_id,
                     "approved_at": None if c.approved_at is None else c.approved_at.isoformat()},
        )
    _back_to_draft(c)
    c.version += 1
    audit.record("campaign.update", ENTITY, c.id, actor=actor,
                 before_hash=before_hash, after_hash=after_hash,
                 details={"version": c.version, "from": old_status.value, "to": S.DRAFT.value,
                          "changes": content.diff(before, after)})
    return c


def delete(c: Campaign, *, actor: User) -> None:
    """Delete a draft; only its author may."""
    lifecycle.check(c.status, "delete")
    if c.created_by_id != actor.id:
        raise Forbidden("Only the author may delete a draft.", code="not_author")
    _claim(c)
    audit.record("campaign.delete", ENTITY, c.id, actor=actor,
                 before_hash=content.content_hash(c),
                 details={"title": c.title, "version": c.version})
    db.session.delete(c)


def submit(c: Campaign, *, actor: User) -> Campaign:
    """Ask for approval: freeze the content as a snapshot with its hash, and have a job freeze
    the audience (`freeze_audience`); the campaign awaits approval once that is done."""
    lifecycle.check(c.status, "submit")
    now = utcnow()
    if errors := content.submission_errors(c, now=now):
        raise content.incomplete(errors)
    _claim(c)
    snap = content.snapshot(c)
    digest = audit.content_hash(snap)
    c.snapshot, c.snapshot_hash, c.submitted_at = snap, digest, now
    c.rejection_reason = None
    _move(c, "submit", S.SUBMITTING, actor=actor, details={"snapshot": snap, "version": c.version})
    control.submitted(c)
    return c


def freeze_audience(c: Campaign) -> Campaign:
    """The freeze job's step: write the audience's members as they are now, with the figures
    the approver approves, and await approval.

    The members are written before the campaign's row is claimed, so a withdrawal or an edit
    meanwhile is not kept waiting on the freeze: the claim then fails (Conflict) and the caller
    rolls everything back. The claim also names the submission, so a freeze begun before a
    withdrawal and a new submission does not pass for the new one's.
    """
    lifecycle.check(c.status, "frozen")
    reach = frozen.freeze(c)
    _claim(c, same_submission=True)
    _move(c, "frozen", S.PENDING_APPROVAL, actor=None,
          details={"version": c.version, "frozen_reach": reach})
    return c


def freeze_failed(c: Campaign, *, reason: str) -> Campaign:
    """The freeze could not be made (`reason`: a note): back to draft, for its authors."""
    lifecycle.check(c.status, "freeze_failed")
    _claim(c, same_submission=True)
    _back_to_draft(c)
    _move(c, "freeze_failed", S.DRAFT, actor=None, reason=reason, from_status=S.SUBMITTING)
    return c


def freeze_retry(c: Campaign, *, reason: str) -> None:
    """A run of the freeze failed on the database and the clock will run it again (`reason`: a
    note): recorded, so the runs of this submission that failed can be counted."""
    audit.record(FREEZE_RETRY, ENTITY, c.id, actor=None, reason=reason)


def freeze_retries(c: Campaign) -> int:
    """How many runs of this submission's freeze failed on the database (`freeze_retry`)."""
    assert c.submitted_at is not None
    stmt = events(c).with_only_columns(sa.func.count()).where(
        AuditEvent.action == FREEZE_RETRY, AuditEvent.at >= c.submitted_at).order_by(None)
    return int(db.session.scalar(stmt) or 0)


def approve(c: Campaign, *, actor: User, snapshot_hash: str, cap_exempt: bool = False,
            comment: str | None = None, frozen_at: str | None = None) -> Campaign:
    """Approve the exact snapshot the approver reviewed (named by its hash).

    `frozen_at`, when given, names the freeze of the audience the approver reviewed: a
    withdrawal and a new submission of the same content freeze the audience anew, with the
    same hash.
    """
    lifecycle.check(c.status, "approve")
    _not_an_author(c, actor, "approve")
    _same_snapshot(c, snapshot_hash)
    if frozen_at is not None and frozen_at != (c.frozen_reach or {}).get("at"):
        stale = "The audience was frozen again since you reviewed it; review it again."
        raise Conflict(stale, code="stale_snapshot", errors={"snapshot_hash": [stale]})
    if cap_exempt and c.priority != "urgent":
        raise ValidationFailed.field("cap_exempt", "Only urgent campaigns may be exempt from "
                                                   "per-recipient caps.")
    _claim(c, code="stale_snapshot")
    c.approved_by_id, c.approved_at, c.cap_exempt = actor.id, utcnow(), cap_exempt
    _move(c, "approve", S.APPROVED, actor=actor, reason=(comment or "").strip() or None,
          details={"version": c.version, "cap_exempt": cap_exempt,
                   "frozen_reach": c.frozen_reach})
    return c


def reject(c: Campaign, *, actor: User, reason: str,
           snapshot_hash: str | None = None) -> Campaign:
    """Send the campaign back to its authors with a reason."""
    lifecycle.check(c.status, "reject")
    _not_an_author(c, actor, "reject")
    reason = _reason(reason)
    if snapshot_hash is not None:
        _same_snapshot(c, snapshot_hash)
    _claim(c, code="stale_snapshot")
    c.rejection_reason = reason
    _move(c, "reject", S.REJECTED, actor=actor, reason=reason, details={"version": c.version})
    return c


def reopen(c: Campaign, *, actor: User) -> Campaign:
    """Return a pending or rejected campaign to draft unchanged (withdraws a submission)."""
    lifecycle.check(c.status, "reopen")
    _claim(c)
    old = c.status
    snapshot_hash = c.snapshot_hash
    _back_to_draft(c)
    _move(c, "reopen", S.DRAFT, actor=actor, from_status=old,
          details={"voided": "submission" if old in SUBMITTED else None,
                   "snapshot_hash": snapshot_hash})
    return c


def launch(c: Campaign, *, actor: User) -> Campaign:
    """Start sending an approved campaign now, or schedule it when its send time is ahead."""
    lifecycle.check(c.status, "launch")
    digest = content.content_hash(c)
    if c.approved_by_id is None or c.snapshot_hash != digest:
        # Edits void approvals, so this means the row was changed behind the service's back.
        raise Conflict("The content no longer matches what was approved; submit it again.",
                       code="approval_mismatch")
    if c.frozen_reach is None:
        # Approved before audiences were frozen: nothing says whom the approval covered.
        raise Conflict("This campaign was approved before Loa froze audiences at submission: "
                       "nobody approved an exact list of recipients. Cancel it and submit a "
                       "copy for approval.", code="audience_not_frozen")
    now = utcnow()
    target = S.SCHEDULED if c.send_at is not None and c.send_at > now else S.SENDING
    _claim(c)
    c.launched_at = now
    # The launch reaches at most the approved members; say what it leaves out (the audience
    # as it is now against the frozen one), so the record shows it was known.
    reach = frozen.reach(c) or {}
    _move(c, "launch", target, actor=actor,
          details={"send_at": None if c.send_at is None else c.send_at.isoformat(),
                   "not_approved": reach.get("not_approved"),
                   "no_longer_reached": reach.get("no_longer_reached")})
    control.launched(c)
    return c


def pause(c: Campaign, *, actor: User | None, reason: str | None = None) -> Campaign:
    """Pause sending; `actor` None is the system (auto-pause), which must give a reason."""
    reason = (reason or "").strip() or None
    _simple(c, "pause", S.PAUSED, actor=actor, reason=reason)
    # A person's reason as typed; else a code (dispatch.campaigns.notes), put in words where shown.
    c.pause_reason = reason or (notes.PAUSED_BY_SYSTEM if actor is None else notes.PAUSED_BY_STAFF)
    control.paused(c, c.pause_reason)
    return c


def resume(c: Campaign, *, actor: User) -> Campaign:
    _simple(c, "resume", S.SENDING, actor=actor)
    c.pause_reason = None
    control.resumed(c)
    return c


def cancel(c: Campaign, *, actor: User, reason: str) -> Campaign:
    lifecycle.check(c.status, "cancel")
    reason = _reason(reason)
    _claim(c)
    c.finished_at = utcnow()
    _move(c, "cancel", S.CANCELLED, actor=actor, reason=reason)
    if c.expanded_at is None:
        frozen.release(c)  # nothing will expand it now
    cancelled = control.cancelled(c)
    if cancelled:
        audit.record("campaign.cancel_unsent", ENTITY, c.id, actor=actor,
                     details={"messages": cancelled})
    return c


def retry(c: Campaign, *, actor: User, statuses: list[str], reason: str) -> int:
    """Queue the campaign's failed and/or unknown messages again; return how many.

    Unknown messages may already have reached the phone, so this is never automatic: a person
    decides, with a reason, and the audit records how many rows it touched. Their earlier parts
    are dropped (a late receipt for them stays in raw_receipts, unmatched).
    """
    lifecycle.check(c.status, "retry")
    wanted = [MessageStatus(s) for s in statuses]
    if not wanted or any(s not in (MessageStatus.FAILED, MessageStatus.UNKNOWN) for s in wanted):
        raise ValidationFailed.field("statuses", "Retry failed and/or unknown messages only.")
    reason = _reason(reason)
    _claim(c)
    target = S.SENDING if c.status is S.COMPLETED else c.status
    ids = list(db.session.scalars(select(Message.id).where(
        Message.campaign_id == c.id, Message.status.in_(wanted))))
    if not ids:
        raise Conflict("There are no messages in those statuses to retry.", code="nothing_to_retry")
    for part in chunks(ids, 5000):
        db.session.execute(sa.delete(MessagePart).where(MessagePart.message_id.in_(part)))
        ledger.move(part, MessageStatus.QUEUED, only_from=wanted, reason="retry")
    c.finished_at = None
    if target is not c.status:
        _move(c, "retry", target, actor=actor, reason=reason,
              details={"messages": len(ids), "statuses": [s.value for s in wanted]})
    else:
        audit.record("campaign.retry", ENTITY, c.id, actor=actor, reason=reason,
                     details={"messages": len(ids), "statuses": [s.value for s in wanted]})
    if target is S.SENDING:
        control.resumed(c)
    return len(ids)


def start(c: Campaign) -> Campaign:
    """Scheduled → sending, when its time has come (called by the scheduler)."""
    _simple(c, "start", S.SENDING, actor=None)
    control.started(c)
    return c


def complete(c: Campaign) -> Campaign:
    """Sending → completed, once every message has reached a final state (called by the sender)."""
    lifecycle.check(c.status, "complete")
    _claim(c)
    c.finished_at = utcnow()
    _move(c, "complete", S.COMPLETED, actor=None)
    if kinds.counts(c):  # a test send is no event for the systems listening
        hooks.campaign_completed(c)
    return c


def _simple(c: Campaign, action: str, target: CampaignStatus, *, actor: User | None,
            reason: str | None = None) -> Campaign:
    lifecycle.check(c.status, action, target)
    _claim(c)
    _move(c, action, target, actor=actor, reason=reason)
    return c


def _move(c: Campaign, action: str, target: CampaignStatus, *, actor: User | None,
          reason: str | None = None, details: dict[str, Any] | None = None,
          from_status: CampaignStatus | None = None) -> None:
    """Set the new status and record the transition; content is unchanged, so both hashes match."""
    old = from_status or c.status
    lifecycle.check(old, action, target)
    digest = content.content_hash(c)
    c.status = target
    audit.record(f"campaign.{action}", ENTITY, c.id, actor=actor, reason=reason,
                 before_hash=digest, after_hash=digest,
                 details={"from": old.value, "to": target.value, **(details or {})})


def _back_to_draft(c: Campaign) -> None:
    c.status = S.DRAFT
    c.snapshot = c.snapshot_hash = None
    c.submitted_at = c.approved_at = c.launched_at = None
    c.approved_by_id = None
    c.cap_exempt = False
    frozen.thaw(c)


def _claim(c: Campaign, *, code: str = "concurrent_change", same_submission: bool = False
           ) -> None:
    """Lock the campaign's row for this change, refusing if it changed since it was read.

    The guarded UPDATE waits for any other writer of the row; once it commits, the row no longer
    matches the status and version read here, so the loser gets a 409 instead of a lost update.
    `same_submission`: the submission time must be the one read, too (a withdrawal and a new
    submission leave the status and the version as they were).
    """
    same = [Campaign.submitted_at == c.submitted_at] if same_submission else []
    result = db.session.execute(
        sa.update(Campaign)
        .where(Campaign.id == c.id, Campaign.status == c.status, Campaign.version == c.version,
               *same)
        .values(version=Campaign.version)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The campaign was changed by someone else meanwhile; reload it.",
                       code=code)


def _same_snapshot(c: Campaign, snapshot_hash: str) -> None:
    if snapshot_hash != c.snapshot_hash or c.snapshot_hash != content.content_hash(c):
        raise Conflict(f"The campaign changed since you reviewed it (now {c.snapshot_hash}); "
                       "review it again.", code="stale_snapshot",
                       errors={"snapshot_hash": ["Not the current snapshot."]})


def _not_an_author(c: Campaign, actor: User, action: str) -> None:
    if actor.id in authors(c):
        raise Forbidden(f"You wrote or edited this campaign: another person must {action} it.",
                        code="own_campaign")


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Give a reason.")
    return reason
