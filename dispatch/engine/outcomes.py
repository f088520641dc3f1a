"""A gateway's outcome → the ledger row's next status: the one `classify` of every channel.

Each channel gives its numbers and its words (`Policy`): how many claims a retryable refusal
may take, the delay before the next try, how long credentials refused hold a row, how a
failure is named in the ledger. The decision itself is channel-neutral:
- sent → `submitted`;
- unknown (it may have reached the far end) → `unknown`, never resent (DESIGN.md, 3);
- a part reached the far end, or refused for good, or a dead token → `failed`;
- expired (the validity ended before the send) → `expired`;
- retryable → `queued` after the policy's delay, `failed` once the row had its tries (unless
  the policy says the refusal is not the message's: FCM's project quota);
- credentials refused → `queued`, after the policy's delay (None: held until an operator
  fixes them), `failed` once the row had its tries when the policy has a delay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dispatch.models import MessageStatus
from gateways.outcome import Fate, Outcome

S = MessageStatus


def _limited(_: Outcome) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Policy:
    """What one channel decides for itself (see the module docstring)."""

    max_attempts: int  # claims of one row before a retryable refusal is final
    backoff: Callable[[Outcome, int], float]  # s before a retryable row is tried again
    describe: Callable[[Outcome], tuple[str, str | None]]  # (reason, error code) for the ledger
    auth_delay: float | None = None  # s before a row refused for its credentials goes again
    unlimited: Callable[[Outcome], bool] = field(default=_limited)  # no attempt limit ends it


@dataclass(frozen=True, slots=True)
class Verdict:
    """The row's next status, why, and when to send it again (`queued` only; None: not
    enqueued again until an operator acts)."""

    status: MessageStatus
    reason: str | None = None
    code: str | None = None
    delay: float | None = None


SUBMITTED = Verdict(S.SUBMITTED)


def classify(outcome: Outcome, attempts: int, policy: Policy) -> Verdict:
    """The verdict on one outcome of a row claimed `attempts` times (this claim included)."""
    fate = outcome.status
    if fate is Fate.SENT:
        return SUBMITTED
    reason, code = policy.describe(outcome)
    if fate is Fate.UNKNOWN:
        return Verdict(S.UNKNOWN, reason, code)
    if fate is Fate.EXPIRED:
        return Verdict(S.EXPIRED, "validity_ended", code)
    if outcome.reached or fate in (Fate.FAILED, Fate.DEAD_TOKEN):
        return Verdict(S.FAILED, reason, code)  # a part is out: resending would duplicate it
    if fate is Fate.RETRY and policy.unlimited(outcome):
        return Verdict(S.QUEUED, reason, code, policy.backoff(outcome, attempts))
    if fate is Fate.AUTH:
        if policy.auth_delay is None:
            return Verdict(S.QUEUED, reason, code, None)
        if attempts < policy.max_attempts:
            return Verdict(S.QUEUED, reason, code, policy.auth_delay)
        return Verdict(S.FAILED, reason, code)
    if attempts >= policy.max_attempts:
        return Verdict(S.FAILED, reason, code)
    return Verdict(S.QUEUED, reason, code, policy.backoff(outcome, attempts))
