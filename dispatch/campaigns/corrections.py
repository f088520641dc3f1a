"""Corrections (đính chính): a new campaign to exactly the people a sent campaign reached.

A correction is a campaign of kind `correction` whose parent is the original. It starts as a
draft with the original's channels and sender, its text prefixed for the editor to rewrite, the
urgent priority (its sends are claimed before bulk work) and the audience
``{"correction_of": id, "only_delivered": bool}``: the original's recipients the ledger says were
sent it (dispatch.campaigns.audience.sent_to), frozen at submission like any audience and
approved by two people like any campaign. Opt-outs since the original hold: the freeze and the
expansion apply them as to every audience.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.access.permissions import allowed
from dispatch.campaigns import audit, notes, service
from dispatch.errors import Conflict, Forbidden
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, User

S = CampaignStatus
PREFIX = "ĐÍNH CHÍNH: "
# A campaign was sent once its launch handed messages out: these are the statuses after that.
SENT = (S.SENDING, S.PAUSED, S.COMPLETED)
STILL_SENDING = (S.SENDING, S.PAUSED)
CORRECTABLE_KINDS = ("campaign", "correction")
COPIED = ("channels", "sms_sender", "sms_plain", "push_image", "push_link", "push_data",
          "phase_id", "decision_ref", "validity_hours", "window_start", "window_end")


def _prefixed(text: str | None, limit: int | None = None) -> str | None:
    if text is None:
        return None
    out = text if text.startswith(PREFIX) else PREFIX + text
    return out[:limit] if limit else out


def refusal(original: Campaign) -> Conflict | None:
    """Why `original` cannot be corrected now, or None."""
    if original.kind not in CORRECTABLE_KINDS:
        return Conflict("A test or an acknowledgement cannot be corrected.",
                        code="correction_not_allowed")
    if original.status not in SENT:
        return Conflict("Only a campaign that was sent can be corrected.",
                        code="correction_not_sent")
    return None


def start(original: Campaign, *, actor: User, only_delivered: bool = False,
          cancel_original: bool = False, reason: str | None = None) -> Campaign:
    """Create the correction's draft; cancel the original first when asked (it must be sending)."""
    if err := refusal(original):
        raise err
    if cancel_original:
        if original.status not in STILL_SENDING:
            raise Conflict("The original is no longer sending: there is nothing to cancel.",
                           code="original_not_sending")
        if not allowed(actor.roles, "campaign.cancel"):
            raise Forbidden("You may not cancel campaigns.", code="forbidden")
        service.cancel(original, actor=actor,
                       reason=reason or notes.note(notes.CORRECTED, id=original.id))
    data: dict[str, Any] = {field: getattr(original, field) for field in COPIED}
    data.update({
        "title": _prefixed(original.title, 200),
        "sms_text": _prefixed(original.sms_text),
        "push_title": _prefixed(original.push_title, 200),
        "push_body": original.push_body,
        "priority": "urgent",
        "audience": {"correction_of": original.id, "only_delivered": bool(only_delivered)},
    })
    c = service.create(data, actor=actor)
    c.kind, c.parent_id = "correction", original.id
    audit.record("campaign.correction", service.ENTITY, original.id, actor=actor,
                 details={"correction_id": c.id, "only_delivered": bool(only_delivered),
                          "cancelled_original": bool(cancel_original)})
    return c


def corrections_of(c: Campaign) -> list[Campaign]:
    """The corrections started from `c`, oldest first."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.parent_id == c.id, Campaign.kind == "correction")
        .order_by(Campaign.id)))


def corrected(c: Campaign) -> Campaign | None:
    """The campaign `c` corrects, if it is a correction."""
    if c.kind != "correction" or c.parent_id is None:
        return None
    return db.session.get(Campaign, c.parent_id)
