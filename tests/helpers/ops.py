"""Bind status as the smpp process publishes it, for the operations tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dispatch.models import SmppAccount
from dispatch.sms import status
from gateways.smpp import SessionStatus


def bind(name: str = "bind-1", state: str = "bound", **counts: Any) -> SessionStatus:
    values: dict[str, Any] = dict(
        name=name, bind_mode="trx", state=state, since=datetime.now(UTC), detail=None,
        in_flight=0, queued=0, sent=0, accepted=0, errors=0, throttled=0, receipts=0,
        inbound=0, binds=1, rate=0.0)
    return SessionStatus(**(values | counts))


def publish(redis: Any, account: SmppAccount, *sessions: SessionStatus) -> None:
    status.publish(redis, [status.row(account.id, account.name, s) for s in sessions], ttl=30)
