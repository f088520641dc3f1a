"""What became of one message at a gateway: the one outcome type every channel hands back.

FCM gives one per device push (`gateways.fcm`); an SMPP submit gives a `SubmitOutcome` with a
state per part, whose `.outcome` is this. The dispatch side turns it into a ledger status with
one `classify` (dispatch.engine.outcomes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable, Unknowable


class Fate(StrEnum):
    """What became of one message."""

    SENT = "sent"  # the far end accepted it; `message_name` is its id there (FCM)
    DEAD_TOKEN = "dead_token"  # UNREGISTERED / SENDER_ID_MISMATCH: disable the device for good
    RETRY = "retry"  # not delivered; try again later (after `retry_after` when the far end said)
    FAILED = "failed"  # refused for good for this message (invalid argument, payload too big…)
    EXPIRED = "expired"  # its validity ended before it could be sent; nothing was sent
    UNKNOWN = "unknown"  # it may have reached the far end (timeout, link cut): do not resend
    AUTH = "auth"  # the credentials were refused; nothing sent, fix them then retry


@dataclass(frozen=True, slots=True)
class Outcome:
    """The fate of one message, in the order the messages were given."""

    ref: str  # the caller's reference (the ledger row id, as text)
    status: Fate
    message_name: str | None = None
    code: str | None = None  # the far end's error code (UNREGISTERED, 0x45…) when not sent
    reason: str = ""
    retry_after: float | None = None  # seconds, when the far end said
    reached: bool = False  # a part of it was (or may have been) taken: resending duplicates it

    @property
    def ok(self) -> bool:
        return self.status is Fate.SENT

    def error(self) -> GatewayError | None:
        """Return the failure as the gateway error class it stands for."""
        if self.status is Fate.SENT:
            return None
        if self.status is Fate.RETRY:
            return Retryable(self.reason, code=self.code, retry_after=self.retry_after)
        if self.status is Fate.UNKNOWN:
            return Unknowable(self.reason, code=self.code)
        if self.status is Fate.AUTH:
            return AuthFailed(self.reason, code=self.code)
        return Permanent(self.reason, code=self.code)


EXPIRED_CODE = "EXPIRED"  # a Permanent failure with this code: the validity ended, nothing sent


def fate_of(error: GatewayError | None) -> Fate:
    """The fate a gateway error stands for (None: sent)."""
    if error is None:
        return Fate.SENT
    if isinstance(error, Unknowable):
        return Fate.UNKNOWN
    if isinstance(error, AuthFailed):
        return Fate.AUTH
    if isinstance(error, Permanent):
        return Fate.EXPIRED if error.code == EXPIRED_CODE else Fate.FAILED
    return Fate.RETRY  # Retryable, or a failure no class says more of


def outcome_of(ref: str, error: GatewayError, *, reached: bool = False) -> Outcome:
    """The outcome of a message whose send raised `error`."""
    return Outcome(ref, fate_of(error), code=error.code, reason=error.reason,
                   retry_after=getattr(error, "retry_after", None), reached=reached)
