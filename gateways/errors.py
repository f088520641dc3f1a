"""The two ways a transport can fail, as every gateway reports them.

The dispatch side decides what to do with a message from the class alone: a `Retryable` failure
is tried again later (after `retry_after` seconds when the far end said so); a `Permanent` one
is final for that message. `code` is the far end's own error code (an SMPP command_status in
hex, an FCM error name), kept for the ledger and the report.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of transport failures; carries the far end's code and a readable reason."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Retryable(GatewayError):
    """Nothing was delivered and trying again later may work (throttled, link down, 5xx)."""

    def __init__(self, reason: str, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class Permanent(GatewayError):
    """The far end refused this message for good (bad number, invalid payload, dead token)."""


class Unknowable(GatewayError):
    """The request may or may not have been accepted (the link died after it was written).

    Never retried automatically: the message becomes `unknown` (DESIGN.md invariant 3).
    """


class AuthFailed(GatewayError):
    """The credentials were refused; retrying with the same ones cannot help."""
