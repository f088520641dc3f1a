"""The funnel arithmetic every report shares, fed by GROUP BY rows over the ledger.

Where a row lands, by its status and whether it has a submit time (`sent`):

- `suppressed` (by reason): never sent (opt-out, invalid number, no route, cap, ...);
- not sent: `waiting` (pending, queued, or sending right now), `cancelled`, and
  `expired_unsent` (the validity ended before it was sent);
- `submitted`: every other row, i.e. it reached the gateway. Of those: `delivered`, `partial`
  (some parts of a multipart SMS delivered), `failed` (by reason; `refused_at_submit` of them
  were refused by the gateway outright), `expired` (the SMSC gave up), `unknown` (by reason),
  and, still open, `awaiting_receipt` for SMS and `accepted_by_fcm` for push. FCM's acceptance
  is not delivery and no receipt ever follows it, so push has no `delivered`.

Billing is per SMS part: `parts_billed` sums `parts` over submitted SMS rows except those the
SMSC refused outright (no message id: the operator charges only for messages it accepted), and
the estimated cost prices them with the operator's current price per part (setting
`sms_price_per_part`). A row `unknown` after a lost claim is billed: it may have been accepted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dispatch.campaigns import settings
from dispatch.models import MessageStatus
from dispatch.models.ledger import UNSENT

S = MessageStatus


def prices() -> dict[str, int]:
    """VND per SMS part by operator, as set now (`other` prices unknown operators)."""
    return {str(k): int(v) for k, v in settings.get("sms_price_per_part").items()}


def price_for(table: dict[str, int], operator: str | None) -> int:
    return table.get(operator or "other", table.get("other", 0))


@dataclass
class Tally:
    """Counts of one slice of the ledger (a campaign, a channel, an operator, or all of them)."""

    targeted: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    waiting: int = 0
    cancelled: int = 0
    expired_unsent: int = 0
    delivered: int = 0
    partial: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    refused_at_submit: int = 0
    expired: int = 0
    unknown: Counter[str] = field(default_factory=Counter)
    awaiting_receipt: int = 0
    accepted_by_fcm: int = 0
    sms_submitted: int = 0
    parts_billed: int = 0
    cost_vnd: int = 0

    def add(self, channel: str, status: MessageStatus | str, reason: str | None, sent: int,
            n: int, parts: int, price: int) -> None:
        """Count `n` rows of one channel, status, reason and sent flag, with their parts."""
        status = S(status)
        self.targeted += n
        if status is S.SUPPRESSED:
            self.suppressed[reason or "-"] += n
        elif status in UNSENT:
            self.waiting += n
        elif status is S.CANCELLED:
            self.cancelled += n
        elif status is S.EXPIRED and not sent:
            self.expired_unsent += n
        else:
            self._add_submitted(channel, status, reason, sent, n)
            if channel == "sms":
                self.sms_submitted += n
                if sent or status is not S.FAILED:  # not refused outright at submit
                    self.parts_billed += parts
                    self.cost_vnd += parts * price

    def _add_submitted(self, channel: str, status: MessageStatus, reason: str | None, sent: int,
                       n: int) -> None:
        if status is S.DELIVERED:
            self.delivered += n
        elif status is S.PARTIAL:
            self.partial += n
        elif status is S.FAILED:
            self.failed[reason or "-"] += n
            if not sent:
                self.refused_at_submit += n
        elif status is S.EXPIRED:
            self.expired += n
        elif status is S.UNKNOWN:
            self.unknown[reason or "-"] += n
        elif channel == "push":
            self.accepted_by_fcm += n
        else:
            self.awaiting_receipt += n

    def merge(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, name, mine + theirs)

    @property
    def submitted(self) -> int:
        return (self.delivered + self.partial + sum(self.failed.values()) + self.expired
                + sum(self.unknown.values()) + self.awaiting_receipt + self.accepted_by_fcm)

    def as_dict(self) -> dict[str, Any]:
        submitted = self.submitted
        return {
            "targeted": self.targeted,
            "suppressed": sum(self.suppressed.values()),
            "suppressed_by_reason": dict(sorted(self.suppressed.items())),
            "waiting": self.waiting,
            "cancelled": self.cancelled,
            "expired_unsent": self.expired_unsent,
            "submitted": submitted,
            "delivered": self.delivered,
            "partial": self.partial,
            "failed": sum(self.failed.values()),
            "failed_by_reason": dict(sorted(self.failed.items())),
            "refused_at_submit": self.refused_at_submit,
            "expired": self.expired,
            "unknown": sum(self.unknown.values()),
            "unknown_by_reason": dict(sorted(self.unknown.items())),
            "awaiting_receipt": self.awaiting_receipt,
            "accepted_by_fcm": self.accepted_by_fcm,
            # Of the SMS that reached the gateway, the share with a delivery receipt.
            "sms_delivered_percent": (round(100.0 * self.delivered / self.sms_submitted, 1)
                                      if self.sms_submitted else None),
            "parts_billed": self.parts_billed,
            "cost_vnd": self.cost_vnd,
        }
