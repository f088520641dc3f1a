"""Topic sends: one FCM request for a whole audience, when that is as good as per-device sends.

The expand job asks `choose_push_mode(c)`. For "devices" it writes one `queued` row per device
and enqueues `dispatch.push.send.send_batch`; for "topic" it calls `prepare_topic(c, reason)`
(one `queued` ledger row standing for the whole topic send: `recipient_id` = TOPIC_RECIPIENT,
no address), commits, then `enqueue_topic(c)`. That row goes through the same claim and states
as a device row, so the topic send is sent at most once, and the campaign completes when it is
final; its outcome goes through the same `classify` (dispatch.engine.outcomes). What FCM does
with the message afterwards (which devices receive it) Loa cannot know: the report says
"topic send, accepted by FCM", with the device count at the time of choosing.

Topics, by the app's contract: every installation subscribes to `all`, and to `loc-<code>` for
its locality and each locality above it, and reports its topics at registration.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Text, cast, exists, func, insert, select, true
from sqlalchemy.exc import IntegrityError

from dispatch.campaigns import audience as audiences
from dispatch.campaigns import frozen, notes
from dispatch.campaigns.placeholders import is_personal
from dispatch.engine import enqueue, flags, ledger
from dispatch.engine.outcomes import classify
from dispatch.extensions import db
from dispatch.jobs import in_app_context
from dispatch.models import Campaign, Device, Message, MessagePart, MessageStatus, OptOut
from dispatch.models.common import utcnow
from dispatch.push.config import PushNotConfigured, campaign_content, gateway
from dispatch.push.state import POLICY, block, may_start, unsend
from gateways.errors import GatewayError
from gateways.fcm import PayloadInvalid, PayloadTooLarge, check_payload
from gateways.outcome import Fate, Outcome, outcome_of

S = MessageStatus
TOPIC_ALL = "all"
LOCALITY_PREFIX = "loc-"
TOPIC_RECIPIENT = 0  # recipient_id of a topic send's single ledger row (no device has id 0)
TOPIC_JOB = "dispatch.push.topic.send_topic"


def topic_for(audience: dict[str, Any]) -> str | None:
    """Return the topic reaching exactly this audience, or None when no single topic does."""
    defined = audiences.normalise(audience)
    if defined["all_app_users"]:
        return TOPIC_ALL
    if len(defined["localities"]) == 1:
        return LOCALITY_PREFIX + defined["localities"][0]
    return None


def frozen_audience(c: Campaign) -> dict[str, Any]:
    """The audience approved (the snapshot's), else the draft's."""
    return audiences.normalise(c.snapshot.get("audience") if c.snapshot else c.audience)


def choose_push_mode(c: Campaign) -> tuple[str, str]:
    """Decide how the campaign's pushes go out: ("topic" | "devices", why, for operators).

    "topic" only when all of these hold, else "devices" (one ledger row per device):
    - the setting PUSH_TOPIC_SENDS (LOA_PUSH_TOPICS) allows it: a topic send has no per-device
      ledger rows, results or dead-token pruning, so the department opts in;
    - the audience is all app users (topic `all`) or exactly one locality (`loc-<code>`);
    - the payload fits FCM's 2 KB topic limit;
    - every device the audience targets reports being subscribed to the topic, and no device
      outside it (opted out of push, or registered elsewhere) does: a topic send cannot honour
      an opt-out, so one subscribed opted-out installation is enough to send per device;
    - no device joined the audience since it was frozen for approval: a topic would reach it.
    The caller stores the result: `c.push_mode, c.push_mode_reason = choose_push_mode(c)`.
    """
    if not current_app.config.get("PUSH_TOPIC_SENDS"):
        # Topic sends have no per-device rows or results: the department opts in.
        return "devices", notes.note(notes.TOPICS_OFF)
    if (c.strategy or "both") != "both":
        # A strategy decides per device (verified numbers, refusals, opens): a topic has none.
        return "devices", notes.note(notes.STRATEGY, strategy=c.strategy)
    if is_personal(c.push_title) or is_personal(c.push_body):
        return "devices", notes.note(notes.PERSONAL_PUSH)  # each device its own words
    defined = frozen_audience(c)
    topic = topic_for(defined)
    if topic is None:  # a topic covers all app users or one locality
        return "devices", notes.note(notes.MANY_LOCALITIES,
                                     localities=len(defined["localities"]))
    try:
        check_payload(campaign_content(c), topic=True)
    except (PayloadTooLarge, PayloadInvalid) as exc:
        return "devices", notes.note(notes.PAYLOAD_TOO_LARGE, why=exc.reason)
    targeted, subscribed, outside = _topic_counts(defined, topic)
    if targeted == 0:
        return "devices", notes.note(notes.NO_DEVICE)
    if subscribed < targeted:
        return "devices", notes.note(notes.NOT_SUBSCRIBED, missing=targeted - subscribed,
                                     targeted=targeted, topic=topic)
    if outside:  # opted out of push, or registered elsewhere: a topic cannot leave them out
        return "devices", notes.note(notes.OUTSIDE_SUBSCRIBED, outside=outside, topic=topic)
    # A topic reaches every subscriber: if the audience gained devices since it was frozen for
    # approval, only per-device sends keep to the approved ones.
    gained = frozen.not_approved(c, "push") if c.frozen_reach is not None else 0
    if gained:
        return "devices", notes.note(notes.JOINED_SINCE_APPROVAL, devices=gained)
    return "topic", notes.note(notes.TOPIC_SEND, topic=topic, devices=targeted)


_ACTIVE = (Device.disabled_at.is_(None), Device.disabled_reason.is_(None))


def _opted_out() -> ColumnElement[bool]:
    return exists().where(OptOut.channel == "push", OptOut.address == Device.installation_id)


def _inside(defined: dict[str, Any]) -> ColumnElement[bool]:
    if defined["all_app_users"]:
        return true()
    return Device.locality_id.in_(audiences.locality_ids(defined["localities"]))


def _count(*where: ColumnElement[bool]) -> int:
    return db.session.scalar(select(func.count()).select_from(Device).where(*where)) or 0


def targeted_devices(defined: dict[str, Any]) -> int:
    """Active, not opted-out devices of the audience: whom a topic send stands for."""
    return _count(*_ACTIVE, ~_opted_out(), _inside(defined))


def _topic_counts(defined: dict[str, Any], topic: str) -> tuple[int, int, int]:
    """Return (devices targeted, of them subscribed, subscribed devices outside the audience)."""
    # Topics are stored as a JSON list of names drawn from [a-zA-Z0-9-_.~%]; with the quotes
    # around it the name cannot match a longer one. Portable between SQLite and PostgreSQL.
    subscribed = cast(Device.topics, Text).contains(f'"{topic}"', autoescape=True)
    inside, opted_out = _inside(defined), _opted_out()
    return (targeted_devices(defined),
            _count(*_ACTIVE, ~opted_out, inside, subscribed),
            _count(*_ACTIVE, subscribed, opted_out | ~inside))


def prepare_topic(c: Campaign, reason: str) -> int:
    """Record the topic mode and write the send's single `queued` row; return its id.

    Idempotent; runs in the caller's transaction (commit, then `enqueue_topic`). The devices
    the row stands for are counted now and kept with the expansion's figures
    (`topic_devices`), since they have no ledger rows of their own for the report to count.
    """
    c.push_mode, c.push_mode_reason = "topic", reason
    existing = _topic_row(c.id)
    if existing is not None:
        return existing
    defined = frozen_audience(c)
    c.expansion = {**(c.expansion or {}), "push_topic": topic_for(defined),
                   "topic_devices": targeted_devices(defined)}
    now = utcnow()
    return int(db.session.execute(
        insert(Message).values(campaign_id=c.id, channel="push", recipient_id=TOPIC_RECIPIENT,
                               status=S.QUEUED, queued_at=now, created_at=now)
        .returning(Message.id)
    ).scalar_one())


def enqueue_topic(c: Campaign, delay: float | None = None) -> None:
    """Enqueue the topic send (after the commit that made it necessary)."""
    # Through enqueue's bookkeeping, so the clock counts the job as live, not its row an orphan.
    enqueue._send(enqueue.work_queue(c), c.id, TOPIC_JOB, (c.id,), delay, 300)


def _topic_row(campaign_id: int) -> int | None:
    return db.session.scalar(select(Message.id).where(
        Message.campaign_id == campaign_id, Message.channel == "push",
        Message.recipient_id == TOPIC_RECIPIENT))


@in_app_context
def send_topic(campaign_id: int) -> dict[str, int]:
    """Send the campaign's topic push: one request, recorded on its single ledger row."""
    c = db.session.get(Campaign, campaign_id)
    if c is None:
        return {}
    row = _topic_row(c.id)
    if row is None:  # enqueued without prepare_topic: write the row now
        try:
            row = prepare_topic(c, c.push_mode_reason or notes.note(notes.TOPIC_SEND))
            db.session.commit()
        except IntegrityError:  # a second copy of this job wrote it first
            db.session.rollback()
            row = _topic_row(c.id)
            if row is None:
                raise
    if not may_start(c, [row], lambda delay: enqueue_topic(c, delay)):
        return {"claimed": 0}
    if not ledger.claim([row]):
        db.session.commit()
        return {"claimed": 0}
    db.session.commit()
    topic = topic_for(frozen_audience(c))
    try:
        gw = gateway()
    except PushNotConfigured as exc:
        unsend([row])
        block(c, str(exc))
        db.session.commit()
        return {"claimed": 1, "requeued": 1}
    if topic is None or not flags.may_send(c.id):
        moved = (unsend([row]) if topic is not None else
                 ledger.move([row], S.FAILED, only_from=[S.SENDING], reason="no_topic"))
        db.session.commit()
        return {"claimed": 1, "requeued" if topic else "failed": moved}
    return _send(c, row, topic, gw)


def _send(c: Campaign, row: int, topic: str, gw: Any) -> dict[str, int]:
    now = utcnow()
    try:
        result = gw.send_topic(campaign_content(c), topic=topic, ref=str(row))
        name = result.remote_ids[0] if result.remote_ids else None
        outcome = Outcome(str(row), Fate.SENT, message_name=name)
    except GatewayError as exc:
        outcome = outcome_of(str(row), exc)
    attempts = db.session.scalar(select(Message.attempts).where(Message.id == row)) or 1
    verdict = classify(outcome, attempts, POLICY)
    delay = verdict.delay
    said = verdict.status.value
    if verdict.status is S.SUBMITTED:
        ledger.move([row], S.SUBMITTED, only_from=[S.SENDING], at=now)
        name = outcome.message_name
        db.session.execute(insert(MessagePart), [{
            "message_id": row, "part_no": 1, "account_id": None, "status": S.SUBMITTED,
            "smsc_id": None if name is None else name.rsplit("/messages/", 1)[-1][:64],
            "submitted_at": now}])
    elif verdict.status is S.QUEUED:
        unsend([row])
        if outcome.status is Fate.AUTH:
            block(c, f"FCM refused the service account ({outcome.code}): {outcome.reason}")
        said = "requeued"
    elif verdict.status is S.EXPIRED:
        unsend([row])
        ledger.move([row], S.EXPIRED, only_from=[S.QUEUED], reason=verdict.reason)
    else:
        if outcome.status is Fate.FAILED:
            current_app.logger.warning("campaign %s: topic send failed: %s", c.id,
                                       outcome.reason)
        ledger.move([row], verdict.status, only_from=[S.SENDING], reason=verdict.reason)
    db.session.commit()
    if delay is not None:
        enqueue_topic(c, delay)
    return {"claimed": 1, said: 1}
