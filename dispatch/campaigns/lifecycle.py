"""The campaign state machine: every allowed move, in one table."""

from __future__ import annotations

from dispatch.errors import InvalidTransition
from dispatch.models import CampaignStatus

S = CampaignStatus

# action -> (statuses it may start from, statuses it may lead to). `launch` picks its target
# (scheduled when send_at is still ahead); `delete` removes the row, so it leads nowhere.
TRANSITIONS: dict[str, tuple[frozenset[CampaignStatus], frozenset[CampaignStatus]]] = {
    # Editing anything not yet sending returns it to draft, voiding a submission or approval.
    "edit": (frozenset({S.DRAFT, S.SUBMITTING, S.PENDING_APPROVAL, S.REJECTED, S.APPROVED,
                        S.SCHEDULED}), frozenset({S.DRAFT})),
    "delete": (frozenset({S.DRAFT}), frozenset()),
    # Submitting freezes the content at once and the audience in a job (`frozen`), which can take
    # minutes for a national audience: the request does not wait for it.
    "submit": (frozenset({S.DRAFT}), frozenset({S.SUBMITTING})),
    # Back to draft without changing anything: withdraw a submission, or take up a rejection.
    "reopen": (frozenset({S.SUBMITTING, S.PENDING_APPROVAL, S.REJECTED}), frozenset({S.DRAFT})),
    "approve": (frozenset({S.PENDING_APPROVAL}), frozenset({S.APPROVED})),
    "reject": (frozenset({S.PENDING_APPROVAL}), frozenset({S.REJECTED})),
    "launch": (frozenset({S.APPROVED}), frozenset({S.SCHEDULED, S.SENDING})),
    "pause": (frozenset({S.SENDING}), frozenset({S.PAUSED})),
    "resume": (frozenset({S.PAUSED}), frozenset({S.SENDING})),
    "cancel": (frozenset({S.APPROVED, S.SCHEDULED, S.SENDING, S.PAUSED}),
               frozenset({S.CANCELLED})),
    # Re-send failed/unknown messages: a completed campaign starts sending again.
    "retry": (frozenset({S.SENDING, S.PAUSED, S.COMPLETED}),
              frozenset({S.SENDING, S.PAUSED})),
    # Moves made by the system, not by a person: the freeze job, the scheduler and the sender.
    # A freeze that failed returns the campaign to its authors (`freeze_failed`).
    "frozen": (frozenset({S.SUBMITTING}), frozenset({S.PENDING_APPROVAL})),
    "freeze_failed": (frozenset({S.SUBMITTING}), frozenset({S.DRAFT})),
    "start": (frozenset({S.SCHEDULED}), frozenset({S.SENDING})),
    "complete": (frozenset({S.SENDING}), frozenset({S.COMPLETED})),
}

# The permission (dispatch.access.permissions) each person-made action needs.
PERMISSION: dict[str, str] = {
    "edit": "campaign.edit",
    "delete": "campaign.edit",
    "submit": "campaign.submit",
    "reopen": "campaign.edit",
    "approve": "campaign.approve",
    "reject": "campaign.reject",
    "launch": "campaign.launch",
    "pause": "campaign.pause",
    "resume": "campaign.resume",
    "cancel": "campaign.cancel",
    "retry": "campaign.retry",
}

SYSTEM_ACTIONS = frozenset({"frozen", "freeze_failed", "start", "complete"})


def can(status: CampaignStatus, action: str) -> bool:
    """Whether `action` may start from `status`."""
    sources, _ = TRANSITIONS[action]
    return status in sources


def check(status: CampaignStatus, action: str,
          target: CampaignStatus | None = None) -> None:
    """Refuse `action` from `status` (and to `target`, when given) unless the table allows it."""
    sources, targets = TRANSITIONS[action]
    if status not in sources or (target is not None and target not in targets):
        allowed_from = ", ".join(sorted(s.value for s in sources))
        raise InvalidTransition(
            f"Cannot {action} a campaign that is {status.value} (only from: {allowed_from})."
        )
