"""A campaign's audit trail, and what changed since a version the approver saw."""

from __future__ import annotations

from typing import Any

from dispatch.campaigns import content
from dispatch.campaigns.service import events
from dispatch.extensions import db
from dispatch.models import AuditEvent, Campaign


def diff(c: Campaign, *, against: str = "submitted") -> dict[str, Any]:
    """Changes from the last submitted (or approved) snapshot that differs from the content now.

    Every submission keeps its snapshot in its audit event, so the versions an approver saw
    outlive the edits that voided them.
    """
    current = content.snapshot(c)
    current_hash = content.content_hash(c)
    trail = list(db.session.scalars(events(c)))
    submitted: dict[str, AuditEvent] = {
        e.after_hash: e for e in trail if e.action == "campaign.submit" and e.after_hash
    }
    wanted = {"submitted": "campaign.submit", "approved": "campaign.approve"}[against]
    candidates: list[tuple[AuditEvent, AuditEvent]] = []  # (the event naming it, its submission)
    for event in reversed(trail):
        if event.action == wanted and event.after_hash in submitted:
            candidates.append((event, submitted[event.after_hash]))
    base = next(((e, s) for e, s in candidates if e.after_hash != current_hash), None)
    if base is None:
        return {"base": None, "current_hash": current_hash, "current_version": c.version,
                "changes": []}
    event, submission = base
    snap = submission.details["snapshot"]
    return {
        "base": {"kind": against, "snapshot_hash": event.after_hash, "at": event.at,
                 "actor_id": event.actor_id, "version": submission.details.get("version"),
                 "snapshot": snap},
        "current_hash": current_hash,
        "current_version": c.version,
        "changes": content.diff(snap, current),
    }
