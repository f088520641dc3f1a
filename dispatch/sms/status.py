"""Bind status in Redis: written every second by each smpp process, read by `flask smpp status`.

One key per bind (`loa:smpp:bind:<account id>:<host>:<pid>:<bind name>`) holding the JSON of its
`SessionStatus`, expiring a few seconds after the process stops writing it, so a dead process's
binds disappear by themselves. Also usable by a readiness check (`problems`).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from dispatch.jobs import keys
from gateways.smpp import SessionStatus

PREFIX = keys.SMPP_BIND_PREFIX
PROCESS_PREFIX = keys.SMPP_PROCESS_PREFIX


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def row(account_id: int, account: str, status: SessionStatus) -> dict[str, Any]:
    data = asdict(status)
    data["since"] = status.since.isoformat()
    data.update(account_id=account_id, account=account, process=process_name(),
                updated_at=datetime.now(UTC).isoformat())
    return data


def publish(client: Any, rows: list[dict[str, Any]], *, ttl: int = 5) -> list[str]:
    """Write the rows (from `row`) and this process's heartbeat; return the keys written."""
    keys = []
    pipe = client.pipeline(transaction=False)
    for data in rows:
        key = f"{PREFIX}{data['account_id']}:{data['process']}:{data['name']}"
        pipe.set(key, json.dumps(data), ex=ttl)
        keys.append(key)
    heartbeat = f"{PROCESS_PREFIX}{process_name()}"
    pipe.set(heartbeat, json.dumps({"binds": len(rows),
                                    "at": datetime.now(UTC).isoformat()}), ex=ttl)
    keys.append(heartbeat)
    pipe.execute()
    return keys


def read(client: Any) -> list[dict[str, Any]]:
    """Every bind of every running smpp process, by account and name."""
    keys = sorted(client.scan_iter(match=f"{PREFIX}*", count=500))
    if not keys:
        return []
    rows = [json.loads(value) for value in client.mget(keys) if value]
    return sorted(rows, key=lambda r: (r["account"], r["name"], r["process"]))


def processes(client: Any) -> int:
    """How many smpp processes reported in the last few seconds."""
    return sum(1 for _ in client.scan_iter(match=f"{PROCESS_PREFIX}*", count=100))


def problems(rows: list[dict[str, Any]]) -> list[str]:
    """Accounts with no bound bind, each with why (e.g. 'viettel: auth_failed (…)')."""
    by_account: dict[str, list[dict[str, Any]]] = {}
    for data in rows:
        by_account.setdefault(data["account"], []).append(data)
    out = []
    for account, binds in sorted(by_account.items()):
        if not any(b["state"] == "bound" for b in binds):
            worst = binds[0]
            detail = f" ({worst['detail']})" if worst.get("detail") else ""
            out.append(f"{account}: {worst['state']}{detail}")
    return out
