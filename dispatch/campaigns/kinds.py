"""What a campaign is, and the one rule for whether it counts.

A campaign's `kind` (dispatch.models.campaigns.Campaign.kind):
- `campaign`: one staff wrote; `correction`: a đính chính of a sent one (parent_id the original);
- `ack`: the acknowledgements of replies to one (dispatch.replies.ack). Real SMS to citizens,
  billed per part: it counts like a campaign, and is reached from its parent;
- `test`: a test send of a draft to the test list (dispatch.campaigns.testsend). Staff phones
  only, before approval: it never counts.

"Counts" means: it is in the campaign lists and dashboards, the reports and summaries, the plan
and phase figures, the metrics, and the messages a per-recipient cap counts. Every such query
takes `counted()` (or `counted_ids()` for ledger rows), so a new kind that must not count is
added to NOT_COUNTED here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from dispatch.models import Campaign

KINDS = ("campaign", "correction", "ack", "test")
NOT_COUNTED = ("test",)


def counts(c: Campaign) -> bool:
    """Whether this campaign counts (the Python side of `counted()`)."""
    return (c.kind or "campaign") not in NOT_COUNTED


def counted() -> ColumnElement[bool]:
    """The condition on campaigns: those that count."""
    return Campaign.kind.not_in(NOT_COUNTED)


def counted_ids() -> Select[Any]:
    """The ids of the campaigns that count, for a condition on ledger rows."""
    return select(Campaign.id).where(counted())


def not_counted_ids() -> Select[Any]:
    """The ids of the campaigns that do not count (few: tests), for excluding ledger rows."""
    return select(Campaign.id).where(Campaign.kind.in_(NOT_COUNTED))
