"""What sets the pace of each SMPP account now, from the binds the smpp processes report.

An account sends at most its TPS, and at most what its windows carry: each sending bind has at
most `window` submits unanswered, so binds × window ÷ round trip submits a second whatever the
TPS (30 ms away, 2 binds of window 20 carry ≈ 1,333/s). The round trip is measured by each bind
(`SessionStatus.round_trip`). Read by `flask smpp status`, the campaign page (through
`dispatch.engine.progress`) and the duration estimate (`dispatch.campaigns.duration`).

Limits, the first that holds: `bind_down` (no sending bind up), `window` (the windows carry
less than the TPS), `refusals` (the SMSC answered 0x58/0x14 in the last minute: the throttle
backs off), `tps` (the allowance itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

LIMITS = ("bind_down", "window", "refusals", "tps")


@dataclass(frozen=True)
class Pace:
    account_id: int
    account: str
    tps: int  # the allowance
    rate: float  # submits accepted per second, recent (every bind of every process)
    refused: int  # 0x58/0x14 answers in the last minute
    binds: int  # sending binds up
    round_trip: float | None  # seconds, mean over the binds up
    window_limit: float | None  # submits per second the windows carry at that round trip
    limit: str  # one of LIMITS

    @property
    def expected_rate(self) -> float:
        """What the account can send per second now: its TPS or what its windows carry."""
        if self.window_limit is None:
            return float(self.tps)
        return min(float(self.tps), self.window_limit)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "expected_rate": self.expected_rate}


def window_limit(binds: list[dict[str, Any]]) -> float | None:
    """binds × window ÷ round trip over the sending binds up (None until a round trip is known)."""
    total, known = 0.0, False
    for row in binds:
        trip = row.get("round_trip")
        if trip and row.get("window"):
            total += row["window"] / trip
            known = True
    return total if known else None


def account_pace(account_id: int, name: str, tps: int, rows: list[dict[str, Any]]) -> Pace:
    """The pace of one account from its bind rows (`dispatch.sms.status.read`)."""
    mine = [r for r in rows if int(r["account_id"]) == account_id]
    senders = [r for r in mine if r.get("bind_mode") != "receiver" and r.get("state") == "bound"]
    trips = [r["round_trip"] for r in senders if r.get("round_trip")]
    carried = window_limit(senders)
    refused = sum(int(r.get("refused_recent") or 0) for r in mine)
    if not senders:
        limit = "bind_down"
    elif carried is not None and carried < tps * 0.97:
        limit = "window"
    elif refused:
        limit = "refusals"
    else:
        limit = "tps"
    return Pace(account_id=account_id, account=name, tps=tps,
                rate=round(sum(float(r.get("accepted_rate") or 0) for r in senders), 1),
                refused=refused, binds=len(senders),
                round_trip=sum(trips) / len(trips) if trips else None,
                window_limit=round(carried, 1) if carried is not None else None, limit=limit)


def paces(accounts: list[Any], rows: list[dict[str, Any]]) -> list[Pace]:
    """The pace of each account (objects with id, name, tps), in the order given."""
    return [account_pace(a.id, a.name, a.tps, rows) for a in accounts]
