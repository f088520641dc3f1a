"""The append-only audit log and the content hashes it records."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dispatch.extensions import db
from dispatch.models import AuditEvent, User


def content_hash(value: Any) -> str:
    """Stable SHA-256 of a JSON-able value (sorted keys, no whitespace)."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def record(
    action: str,
    entity: str,
    entity_id: Any = None,
    *,
    actor: User | None,
    reason: str | None = None,
    before_hash: str | None = None,
    after_hash: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the change it describes)."""
    event = AuditEvent(
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        actor_id=actor.id if actor is not None else None,
        reason=reason,
        before_hash=before_hash,
        after_hash=after_hash,
        details=details or {},
    )
    db.session.add(event)
    return event


@db.event.listens_for(AuditEvent, "before_update")
@db.event.listens_for(AuditEvent, "before_delete")
def _append_only(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise RuntimeError("audit events are append-only")
