"""What became of a submitted message, part by part, and the handle a caller waits on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable, Unknowable
from gateways.outcome import Fate, Outcome, outcome_of
from gateways.results import SendResult

PartState = Literal["accepted", "failed", "unknown", "not_sent"]


@dataclass(frozen=True, slots=True)
class PartOutcome:
    number: int  # 1-based
    state: PartState
    remote_id: str | None = None  # normalised SMSC message id, when accepted
    error: GatewayError | None = None  # why not accepted (classified from the status table)
    attempts: int = 0  # submit_sm PDUs written for this part (throttled resends included)


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    ref: str
    encoding: str
    parts: tuple[PartOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(part.state == "accepted" for part in self.parts)

    @property
    def remote_ids(self) -> tuple[str | None, ...]:
        return tuple(part.remote_id for part in self.parts)

    @property
    def reached_smsc(self) -> bool:
        """Whether any part was (or may have been) accepted: resending would duplicate it."""
        return any(part.state in ("accepted", "unknown") for part in self.parts)

    @property
    def error(self) -> GatewayError | None:
        """The error that decides the message's fate, None when every part was accepted.

        Unknowable first (never resend blindly), then Permanent, AuthFailed, Retryable.
        """
        errors = [part.error for part in self.parts if part.error is not None]
        for kind in (Unknowable, Permanent, AuthFailed, Retryable):
            for error in errors:
                if isinstance(error, kind):
                    return error
        return errors[0] if errors else None

    @property
    def outcome(self) -> Outcome:
        """The message's outcome as every gateway gives it (gateways.outcome)."""
        if self.ok:
            return Outcome(self.ref, Fate.SENT, reached=True)
        error = self.error
        assert error is not None  # a part not accepted says why
        return outcome_of(self.ref, error, reached=self.reached_smsc)

    def result(self) -> SendResult:
        """A SendResult when every part was accepted; otherwise raise the deciding error."""
        error = self.error
        if error is not None:
            raise error
        return SendResult(self.ref, tuple(p.remote_id or "" for p in self.parts), len(self.parts))


class SubmitHandle:
    """A submitted message not yet resolved: wait on it or register a callback."""

    __slots__ = ("_callbacks", "_event", "_lock", "_outcome", "ref")

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self._outcome: SubmitOutcome | None = None
        self._callbacks: list[Callable[[SubmitOutcome], None]] = []
        self._lock = threading.Lock()
        # Made by the first wait() only: the send jobs use callbacks, and an Event (a Condition
        # and its lock) per message is a cost every submit would pay.
        self._event: threading.Event | None = None

    def done(self) -> bool:
        return self._outcome is not None

    def wait(self, timeout: float | None = None) -> SubmitOutcome | None:
        """The outcome, or None if it did not come within `timeout` seconds."""
        with self._lock:
            if self._outcome is not None:
                return self._outcome
            if self._event is None:
                self._event = threading.Event()
            event = self._event
        event.wait(timeout)
        return self._outcome

    def add_done_callback(self, callback: Callable[[SubmitOutcome], None]) -> None:
        """Call `callback(outcome)` once resolved (at once if already; else on the session's
        reader or sender thread: keep it short)."""
        with self._lock:
            if self._outcome is None:
                self._callbacks.append(callback)
                return
        callback(self._outcome)

    def _resolve(self, outcome: SubmitOutcome) -> None:
        with self._lock:
            self._outcome = outcome
            callbacks, self._callbacks = self._callbacks, []
            event = self._event
        if event is not None:
            event.set()
        for callback in callbacks:
            callback(outcome)
