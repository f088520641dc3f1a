"""What the campaign page and the report show of corrections (đính chính), both ways."""

from __future__ import annotations

from typing import Any

from dispatch.access.permissions import allowed
from dispatch.campaigns import corrections
from dispatch.models import Campaign, User


def links(c: Campaign) -> dict[str, Any]:
    """The corrections of `c` and the campaign it corrects (for the report: no form)."""
    return {"of": corrections.corrections_of(c), "corrects": corrections.corrected(c),
            "may_start": False, "may_cancel": False}


def context(c: Campaign, user: User) -> dict[str, Any]:
    """The links both ways, and whether `user` may start a correction (and cancel first)."""
    may_start = allowed(user.roles, "campaign.create") and corrections.refusal(c) is None
    return {
        **links(c),
        "may_start": may_start,
        "may_cancel": (may_start and c.status in corrections.STILL_SENDING
                       and allowed(user.roles, "campaign.cancel")),
    }
