"""Hooks as admins register them: create, change, rotate the secret, test, disable, enable.

Input arrives validated (dispatch.schemas.hooks: the URL rule and why private addresses are
allowed). The secret is generated here (32 random bytes, URL-safe), stored encrypted and
returned once, by `create` and `rotate`; every change is audited without it.

A hook is disabled with a reason, a code (dispatch.models.codes): `failing?since=…&last=…`
(its failures ran unbroken for a day, dispatch.hooks.deliver) or `by_admin` (an admin turned it
off). Enabling it clears the reason and the failure run, and its waiting deliveries are due
at once.
"""

from __future__ import annotations

import secrets as random
from datetime import datetime
from typing import Any

from sqlalchemy import update

from dispatch.access import secrets
from dispatch.campaigns import audit
from dispatch.errors import NotFound
from dispatch.extensions import db
from dispatch.hooks import events
from dispatch.models import HookDelivery, User, Webhook
from dispatch.models.codes import decode, encode
from dispatch.models.common import utcnow

ENTITY = "webhook"
FAILING, BY_ADMIN = "failing", "by_admin"
REASONS = frozenset({FAILING, BY_ADMIN})


def get(hook_id: int) -> Webhook:
    hook = db.session.get(Webhook, hook_id)
    if hook is None:
        raise NotFound(f"Webhook {hook_id} does not exist.")
    return hook


def _public(hook: Webhook) -> dict[str, Any]:
    return {"name": hook.name, "url": hook.url, "events": list(hook.events)}


def create(data: dict[str, Any], *, actor: User | None) -> tuple[Webhook, str]:
    """A new, enabled hook and its secret (shown once)."""
    secret = random.token_urlsafe(32)
    hook = Webhook(name=data["name"], url=data["url"], events=list(data["events"]),
                   secret_encrypted=secrets.encrypt(secret),
                   created_by_id=actor.id if actor else None)
    db.session.add(hook)
    db.session.flush()
    audit.record("webhook.create", ENTITY, hook.id, actor=actor, details=_public(hook))
    events.forget()
    return hook, secret


def update_hook(hook: Webhook, data: dict[str, Any], *, actor: User | None) -> Webhook:
    for name in ("name", "url", "events"):
        if name in data:
            setattr(hook, name, list(data[name]) if name == "events" else data[name])
    audit.record("webhook.update", ENTITY, hook.id, actor=actor, details=_public(hook))
    events.forget()
    return hook


def rotate(hook: Webhook, *, actor: User | None) -> str:
    """A new secret (shown once); deliveries from now on are signed with it."""
    secret = random.token_urlsafe(32)
    hook.secret_encrypted = secrets.encrypt(secret)
    audit.record("webhook.rotate", ENTITY, hook.id, actor=actor)
    return secret


def failing_reason(since: datetime, last: str | None) -> str:
    return encode(REASONS, FAILING, since=since.isoformat(timespec="seconds"),
                  last=last or "unknown")


def reason_of(hook: Webhook) -> tuple[str, dict[str, str]] | None:
    return decode(REASONS, hook.disabled_reason)


def disable(hook: Webhook, reason: str, *, at: datetime | None = None,
            actor: User | None = None) -> None:
    hook.enabled = False
    hook.disabled_reason = reason
    hook.disabled_at = at or utcnow()
    audit.record("webhook.disable", ENTITY, hook.id, actor=actor, reason=reason)
    events.forget()


def enable(hook: Webhook, *, actor: User | None) -> None:
    hook.enabled = True
    hook.disabled_reason = hook.disabled_at = hook.failing_since = hook.paused_until = None
    hook.failures = 0
    now = utcnow()
    db.session.execute(update(HookDelivery)
                       .where(HookDelivery.hook_id == hook.id, HookDelivery.status == "pending")
                       .values(next_attempt_at=now, enqueued_at=None))
    audit.record("webhook.enable", ENTITY, hook.id, actor=actor)
    events.forget()


def send_test(hook: Webhook, *, actor: User | None) -> HookDelivery:
    """A delivery of one `hook.test` event to this hook alone; the caller commits, then
    enqueues it (dispatch.hooks.deliver.enqueue)."""
    from dispatch.hooks.deliver import new_delivery

    now = utcnow().isoformat()
    item = {"id": random.token_hex(16), "event": events.TEST, "occurred_at": now,
            "data": {"hook_id": hook.id, "by": actor.username if actor else None}}
    delivery = new_delivery(hook, events.TEST, [item])
    db.session.flush()
    return delivery


def attempts(hook_id: int, *, limit: int = 100) -> list[dict[str, Any]]:
    """The hook's latest attempts, newest first, with their delivery's id, event and state."""
    from sqlalchemy import select

    from dispatch.models import HookAttempt

    rows = db.session.execute(
        select(HookAttempt, HookDelivery.uid, HookDelivery.event, HookDelivery.events,
               HookDelivery.status)
        .join(HookDelivery, HookDelivery.id == HookAttempt.delivery_id)
        .where(HookAttempt.hook_id == hook_id)
        .order_by(HookAttempt.at.desc(), HookAttempt.id.desc()).limit(limit))
    return [{"id": a.id, "delivery_id": a.delivery_id, "uid": uid, "event": event,
             "events": n, "at": a.at, "status_code": a.status_code, "error": a.error,
             "duration_ms": a.duration_ms, "next_attempt_at": a.next_attempt_at,
             "delivery_status": status}
            for a, uid, event, n, status in rows]


def waiting(hook_id: int) -> int:
    """Deliveries of the hook not delivered yet (nor given up)."""
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(HookDelivery).where(
        HookDelivery.hook_id == hook_id, HookDelivery.status == "pending")) or 0
