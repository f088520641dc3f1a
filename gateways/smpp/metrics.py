"""What a session reports about itself, for the status page and the CLI."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SessionStatus:
    name: str
    bind_mode: str
    state: str  # idle, connecting, binding, bound, disconnected, auth_failed, closing, closed
    since: datetime
    detail: str | None  # why the last state change (e.g. "ESME_RINVPASWD: Invalid password")
    in_flight: int  # submit_sm written and unanswered
    queued: int  # messages and parts waiting for the window
    sent: int  # submit_sm PDUs written (resends included)
    accepted: int
    errors: int  # parts that ended failed or unknown
    throttled: int  # 0x58/0x14 answers
    receipts: int
    inbound: int
    binds: int  # successful binds so far
    rate: float  # submit_sm per second over the last 5 s
    accepted_rate: float = 0.0  # submit_sm accepted per second over the last 5 s
    refused_recent: int = 0  # 0x58/0x14 answers in the last minute
    round_trip: float | None = None  # seconds from submit_sm to its response (recent mean)
    window: int = 0  # the most submit_sm this bind may have unanswered


class RoundTrip:
    """A moving mean of response times: recent ones weigh most, one odd value little."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float | None = None

    def add(self, seconds: float) -> None:
        self.value = seconds if self.value is None else 0.95 * self.value + 0.05 * seconds


class RateMeter:
    """Events per second over the last few whole seconds."""

    def __init__(self, seconds: int = 5) -> None:
        self.seconds = seconds
        self._counts: deque[list[int]] = deque()

    def add(self, now: float) -> None:
        second = int(now)
        if self._counts and self._counts[-1][0] == second:
            self._counts[-1][1] += 1
        else:
            self._counts.append([second, 1])
            while self._counts and self._counts[0][0] < second - self.seconds:
                self._counts.popleft()

    def rate(self, now: float) -> float:
        second = int(now)
        total = sum(c for s, c in self._counts if second - self.seconds <= s < second)
        return total / self.seconds
