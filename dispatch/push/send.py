"""Push send batches: claim ledger rows, send them through FCM, record each device's fate.

`send_batch(campaign_id, message_ids)` runs on the ordinary workers (queues `urgent`/`default`)
and follows docs/ENGINE.md: check the campaign may send, claim with `ledger.claim` and commit,
re-read each device's token, send through this process's `PushGateway` (one batch of at
most 500, sent as LOA_FCM_SENDER says), then move every row through `ledger.move`, to the
status the engine's one `classify` gives (dispatch.engine.outcomes, with push's `POLICY` from
dispatch.push.state):

  SENT        -> submitted; the FCM message id kept in `message_parts.smsc_id` (part 1). Push
                 has no receipts: `submitted` ("accepted by FCM") is a push row's final state.
  DEAD_TOKEN  -> failed (unregistered / sender_id_mismatch); the device is disabled for good
  RETRY       -> queued, re-enqueued after Retry-After or a backoff (never slept on); failed
                 after MAX_ATTEMPTS, except for quota, which only the validity ends
  FAILED      -> failed with FCM's error name;  EXPIRED -> expired;  UNKNOWN -> unknown
  AUTH        -> queued, and the campaign's push side is blocked (`campaigns.push_blocked`)
  no token / disabled device -> failed (no_token / device_disabled), nothing sent

Once its claim is committed, a batch's database steps (reading the tokens before the send,
writing the outcomes after it) run again (`dispatch.jobs.rerun_on_lost_connection`) when the
database connection breaks (a PostgreSQL restart or failover), instead of the rows ending
`unknown` at the claim timeout. Outcomes are written only for rows still `sending`: the COMMIT
that broke may have gone through.

A quota answer also marks the whole project as throttled in Redis until its Retry-After, so the
other batches already queued reschedule themselves without sending instead of collecting 429s.
Topic sends (one request for the whole audience) are in `dispatch.push.topic`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select, update

from dispatch.campaigns import audit, placeholders
from dispatch.engine import enqueue, flags, ledger
from dispatch.engine.outcomes import classify
from dispatch.extensions import db
from dispatch.jobs import in_app_context, rerun_on_lost_connection
from dispatch.models import Campaign, CampaignStatus, Device, Message, MessagePart, MessageStatus
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of, insert_rows
from dispatch.push.config import PushNotConfigured, campaign_content, gateway
from dispatch.push.state import (
    POLICY,
    block,
    may_start,
    quota,
    throttle_project,
    unsend,
)
from dispatch.push.topic import choose_push_mode, enqueue_topic, prepare_topic, send_topic
from gateways.fcm import PushAuthFailed, PushMessage, PushOutcome, PushStatus

__all__ = ["PUSH_FINAL", "choose_push_mode", "enqueue_topic", "prepare_topic", "send_batch",
           "send_topic", "unblock"]

log = logging.getLogger(__name__)
S = MessageStatus

# A push row is final at `submitted`: nothing after FCM's acceptance ever reaches Loa.
PUSH_FINAL: frozenset[MessageStatus] = ledger.FINAL | {S.SUBMITTED}
# Devices disabled because FCM said their token is dead, by FCM's error code.
_parts = MessagePart.__table__
DEAD_REASONS = {"UNREGISTERED": "fcm_unregistered",
                "SENDER_ID_MISMATCH": "fcm_sender_id_mismatch"}


@in_app_context
def send_batch(campaign_id: int, message_ids: Sequence[int]) -> dict[str, int]:
    """Send one batch (≤ 500 ledger ids) of a campaign's per-device pushes; return counts."""
    c = db.session.get(Campaign, campaign_id)
    if c is None:
        return {}
    if c.push_mode == "topic":
        return send_topic(campaign_id)  # the orphan sweep enqueued the topic row as a batch
    ids = list(message_ids)
    if not may_start(c, ids, lambda delay: enqueue.enqueue_push(c, ids, delay=delay)):
        return {"claimed": 0}
    claimed = ledger.claim(ids)
    db.session.commit()
    if not claimed:
        return {"claimed": 0}
    try:
        gw = gateway()
    except PushNotConfigured as exc:
        unsend(claimed)
        block(c, str(exc))
        db.session.commit()
        return {"claimed": len(claimed), "requeued": len(claimed)}

    counts: dict[str, int] = defaultdict(int, claimed=len(claimed))
    messages = rerun_on_lost_connection(
        lambda _: _prepare(campaign_id, claimed, counts),
        what=f"campaign {campaign_id}: reading a claimed push batch")
    if messages is None:
        return dict(counts)
    auth: PushAuthFailed | None = None
    outcomes: list[PushOutcome] = []
    if messages:
        try:
            outcomes = gw.send_batch(messages)
        except PushAuthFailed as exc:
            auth, outcomes = exc, list(exc.outcomes)
    fresh, later = rerun_on_lost_connection(
        lambda run: _record_sent(campaign_id, outcomes, auth, counts, again=run > 1),
        what=f"campaign {campaign_id}: writing the outcomes of {len(outcomes)} sent pushes")
    for delay, retry_ids in later.items():
        enqueue.enqueue_push(fresh, retry_ids, delay=delay)
    return dict(counts)


def _prepare(campaign_id: int, claimed: list[int], counts: dict[str, int]
             ) -> list[PushMessage] | None:
    """The batch's sendable messages, the unusable rows failed and committed; None (the rows
    put back) when the campaign may not send any more."""
    c = db.session.get(Campaign, campaign_id)
    assert c is not None
    tally: dict[str, int] = defaultdict(int)
    messages, unusable = _messages(c, claimed)
    for reason, rows in unusable.items():
        tally["failed"] += ledger.move(rows, S.FAILED, only_from=[S.SENDING], reason=reason)
    sending = _may_send(c)
    if not sending:
        # Paused or cancelled while we claimed: nothing has left yet.
        tally["requeued"] += unsend([int(m.ref) for m in messages])
    db.session.commit()
    for key, n in tally.items():
        counts[key] += n
    return messages if sending else None


def _record_sent(campaign_id: int, outcomes: list[PushOutcome], auth: PushAuthFailed | None,
                 counts: dict[str, int], *, again: bool) -> tuple[Campaign, dict[float, list[int]]]:
    """Write what FCM answered for a batch it has taken (`again`: only for the rows still
    `sending`, as the COMMIT of the run before may have gone through)."""
    c = db.session.get(Campaign, campaign_id)
    assert c is not None
    pending = outcomes
    if again:
        ours = ledger.still_in([int(o.ref) for o in outcomes], S.SENDING)
        pending = [o for o in outcomes if int(o.ref) in ours]
    tally: dict[str, int] = defaultdict(int)
    attempts = _attempts([int(o.ref) for o in pending if o.status is PushStatus.RETRY])
    later = record(c, pending, attempts, tally)
    if auth is not None:
        block(c, f"FCM refused the service account ({auth.code}): {auth.reason}")
    db.session.commit()
    for key, n in tally.items():
        counts[key] += n
    return c, later


def _may_send(c: Campaign) -> bool:
    """The stop flag between the claim and the send. With Redis away the campaign's status in
    the database decides, as for SMS: failing the job here would leave the claimed batch
    `sending`, to become `unknown` without having been sent."""
    try:
        return flags.may_send(c.id)
    except RedisError:
        log.warning("campaign %s: Redis unavailable; checking the database only", c.id)
        db.session.refresh(c)
        return c.status is CampaignStatus.SENDING


def _messages(c: Campaign, claimed: list[int]
              ) -> tuple[list[PushMessage], dict[str, list[int]]]:
    """Return the sendable messages, and the claimed rows that cannot be sent, by reason.

    Tokens are read now, not at expansion: the app may have refreshed its token since, and a
    device FCM rejected in another batch must not be tried again.
    """
    content = campaign_content(c)
    # Personalised: a device knows its locality ({xa}, {huyen}); other placeholders take
    # their default, and without one the device is not sent the notification.
    title = placeholders.parse_or_none(c.push_title)
    body = placeholders.parse_or_none(c.push_body)
    personal = any(t is not None and t.personal for t in (title, body))
    places = placeholders.load_places() if personal else {}
    stmt = (
        select(Message.id, Device.id, Device.fcm_token, Device.disabled_reason,
               Device.disabled_at, Device.locality_id)
        .outerjoin(Device, Device.id == Message.recipient_id)
        .where(any_of(Message.id, claimed))
        .order_by(Message.id)
    )
    messages: list[PushMessage] = []
    unusable: dict[str, list[int]] = defaultdict(list)
    for msg_id, device_id, token, disabled_reason, disabled_at, place in db.session.execute(
            stmt):
        if device_id is None:
            unusable["device_missing"].append(msg_id)
        elif disabled_reason is not None or disabled_at is not None:
            unusable["device_disabled"].append(msg_id)
        elif not token:
            unusable["no_token"].append(msg_id)
        elif personal:
            values = placeholders.locality_values(places, place)
            texts = [None if t is None or not t.personal else t.render(values)
                     for t in (title, body)]
            if any(t is not None and t.personal and r is None
                   for t, r in zip((title, body), texts, strict=True)):
                unusable["missing_value"].append(msg_id)
                continue
            own = dataclasses.replace(
                content, title=content.title if texts[0] is None else texts[0],
                body=content.body if texts[1] is None else texts[1])
            messages.append(PushMessage(str(msg_id), token, own))
        else:
            messages.append(PushMessage(str(msg_id), token, content))
    return messages, unusable


def _attempts(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = db.session.execute(select(Message.id, Message.attempts)
                              .where(any_of(Message.id, ids)))
    return {msg_id: n for msg_id, n in rows}


def record(c: Campaign, outcomes: Sequence[PushOutcome], attempts: dict[int, int],
           counts: dict[str, int]) -> dict[float, list[int]]:
    """Move each sent row to its outcome; return the rows to re-enqueue, by delay in seconds."""
    now = utcnow()
    submitted: list[tuple[int, str | None]] = []
    final: dict[tuple[MessageStatus, str], list[int]] = defaultdict(list)
    requeue: list[int] = []
    expired: list[int] = []
    later: dict[float, list[int]] = defaultdict(list)
    dead_tokens: dict[str, str] = {}
    messages: dict[str, tuple[int, str, str]] = {}
    for o in outcomes:
        msg_id = int(o.ref)
        verdict = classify(o, attempts.get(msg_id, 1), POLICY)
        if verdict.status is S.SUBMITTED:
            submitted.append((msg_id, o.message_name))
        elif verdict.status is S.QUEUED:
            requeue.append(msg_id)  # AUTH (delay None): it goes when the account is fixed
            if verdict.delay is not None:
                later[verdict.delay].append(msg_id)
                if quota(o):
                    throttle_project(verdict.delay)
        elif verdict.status is S.EXPIRED:
            expired.append(msg_id)
        else:
            why = verdict.reason or ""
            final[verdict.status, why].append(msg_id)
            code = (o.code or o.status.value).upper()
            if o.status is PushStatus.DEAD_TOKEN:
                dead_tokens[o.ref] = DEAD_REASONS.get(code, "fcm_" + code.lower())
            elif o.status is PushStatus.FAILED:
                # The ledger keeps FCM's error name; its message goes to the log, once per kind.
                messages.setdefault(code, (msg_id, o.reason, why))
    for code, (msg_id, reason, why) in messages.items():
        n = len(final[S.FAILED, why])
        log.warning("campaign %s: %d push(es) failed with %s, e.g. row %s: %s",
                    c.id, n, code, msg_id, reason)
    if submitted:
        ids = [msg_id for msg_id, _ in submitted]
        counts["submitted"] += ledger.move(ids, S.SUBMITTED, only_from=[S.SENDING], at=now)
        # One INSERT … SELECT FROM unnest(…) on PostgreSQL, not an executemany of 500 rows.
        insert_rows(_parts, [
            {"message_id": msg_id, "part_no": 1, "account_id": None,
             "smsc_id": _fcm_id(name), "status": S.SUBMITTED, "submitted_at": now}
            for msg_id, name in submitted
        ])
    for (status, reason), ids in final.items():
        counts[status.value] += ledger.move(ids, status, only_from=[S.SENDING],
                                            reason=reason[:48], at=now)
    counts["requeued"] += unsend(requeue)
    if expired:
        # The validity ended between the claim and the send: back to the queue, then expired.
        unsend(expired)
        counts["expired"] += ledger.move(expired, S.EXPIRED, only_from=[S.QUEUED],
                                         reason="validity_ended", at=now)
    if dead_tokens:
        disable_dead_devices(dead_tokens, now)
    counts["retry_jobs"] += len(later)
    return later


def disable_dead_devices(dead: dict[str, str], now: datetime) -> None:
    """Disable the devices holding tokens FCM called dead, so they are never targeted again."""
    ids = [int(ref) for ref in dead]
    tokens = dict(db.session.execute(
        select(Message.id, Device.fcm_token)
        .join(Device, Device.id == Message.recipient_id)
        .where(any_of(Message.id, ids))
    ).all())
    by_reason: dict[str, list[str]] = defaultdict(list)
    for ref, reason in dead.items():
        token = tokens.get(int(ref))
        if token:
            by_reason[reason].append(token)
    for reason, dead_tokens in by_reason.items():
        # By token, not device id: if the app registered a new token since, it is not dead.
        db.session.execute(
            update(Device)
            .where(any_of(Device.fcm_token, dead_tokens), Device.disabled_reason.is_(None))
            .values(disabled_reason=reason, disabled_at=now)
            .execution_options(synchronize_session=False)
        )


def unblock(c: Campaign, *, actor: Any = None) -> int:
    """Clear the push block, commit, and re-enqueue the campaign's queued push rows.

    Returns the number of jobs enqueued. Audited: it is an operator's decision.
    """
    if not c.push_blocked:
        return 0
    audit.record("campaign.push_unblocked", "campaign", c.id, actor=actor,
                 reason=c.push_blocked)
    c.push_blocked = None
    db.session.commit()
    if c.push_mode == "topic":
        enqueue_topic(c)
        return 1
    ids = db.session.scalars(
        select(Message.id)
        .where(Message.campaign_id == c.id, Message.channel == "push",
               Message.status == S.QUEUED)
        .order_by(Message.id)
    ).all()
    return enqueue.enqueue_push(c, ids)


def _fcm_id(name: str | None) -> str | None:
    """Keep the id part of `projects/<p>/messages/<id>`: the project is the same for all."""
    if not name:
        return None
    return name.rsplit("/messages/", 1)[-1][:64]
