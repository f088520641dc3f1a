"""Test sends: the current draft of a campaign to the test list, or one member, before approval.

One mechanism marks a test in the ledger: each member's test is a child campaign of `kind`
test, `parent_id` the campaign tested (dispatch.campaigns.kinds: it never counts). Its ledger
rows are ordinary rows (`queued`, routed like any campaign's: the member's operator's SMPP
account, the FCM path for the device), so a test goes through the real routes and the smpp
process and push workers send it as they send everything; nothing in the send paths knows
about tests. A child per member because the text is rendered for that member: `{ho_ten}` is
the member's name, other placeholders take the member's values when the number is a contact,
else their default, else a sample (SAMPLE). The child holds the rendered text with its braces
doubled, so the send paths send it exactly as rendered (placeholders.as_written).

What was tested: the child's `snapshot_hash` is the content hash of the campaign at the test
(the hash its approval binds to), `version` its version, `created_by_id` and `created_at`
who and when. `status(c)` tells the approval page whether the version it shows was tested.

A test send is rate-limited per campaign (one per INTERVAL seconds, so ten impatient clicks
send once) and per person (PER_HOUR), and audited on the campaign (`campaign.test_send`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from sqlalchemy import select

from dispatch.access import ratelimit
from dispatch.campaigns import audit, content, placeholders, testlist
from dispatch.engine import control, enqueue
from dispatch.errors import Conflict, ValidationFailed
from dispatch.extensions import db
from dispatch.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Device,
    Message,
    MessageStatus,
    OptOut,
    TestMember,
    User,
)
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import insert_rows
from dispatch.replies.ask import sent_text
from dispatch.sms import accounts as smpp_accounts
from gateways.sms.encoding import analyse, strip_diacritics

S = CampaignStatus
KIND = "test"
# Before approval only: once approved, the campaign itself goes out.
TESTABLE = (S.DRAFT, S.PENDING_APPROVAL, S.REJECTED)
TESTABLE_KINDS = ("campaign", "correction")
INTERVAL = 10  # s: one test send per campaign in this window
PER_HOUR = 30  # test sends a person may make in an hour
VALIDITY_HOURS = 2  # a test not sent by then is of no use to anyone
# Placeholders the member's values do not fill and that have no default.
SAMPLE = "[{name}]"
CONTENT_ERRORS = ("sms_text", "sms_sender", "push_title", "push_body", "push_image",
                  "push_link", "push_data")


@dataclass
class Sent:
    """What a test send made: a child campaign per member sent, and who was left out, why."""

    send_id: str
    children: list[Campaign] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """A rendered text as a template that renders to exactly itself."""
    return text.replace("{", "{{").replace("}", "}}")


def refusal(c: Campaign) -> str | None:
    """Why `c` cannot be tested now (None when it can)."""
    if c.kind not in TESTABLE_KINDS:
        return "test_not_allowed"
    if c.status not in TESTABLE:
        return "test_after_approval"
    return None


def _check(c: Campaign) -> None:
    why = refusal(c)
    if why == "test_not_allowed":
        raise Conflict("Only a campaign or a correction can be sent as a test.", code=why)
    if why is not None:
        raise Conflict("Test sends are for campaigns not yet approved.", code=why)
    errors = {k: v for k, v in content.submission_errors(c, now=utcnow()).items()
              if k.split(".")[0] in CONTENT_ERRORS}
    for name in placeholders.TEXT_FIELDS:
        errors.update(placeholders.field_errors(name, getattr(c, name)))
    if errors:
        raise content._failed(errors, "Not ready to test: ")


def _channels(c: Campaign, m: TestMember) -> list[str]:
    out = []
    if content.uses_sms(c.channels) and m.msisdn:
        out.append("sms")
    if content.uses_push(c.channels) and m.installation_id:
        out.append("push")
    return out


def member_values(m: TestMember, slots: set[tuple[str, str | None]],
                  places: dict[int, tuple[str, str, int | None]]) -> dict[str, str]:
    """The values a member's test is rendered with (see the module docstring)."""
    values: dict[str, str] = {}
    contact = None if m.msisdn is None else db.session.scalar(
        select(Contact).where(Contact.msisdn == m.msisdn))
    if contact is not None:
        values = placeholders.contact_values(contact.name, contact.attributes, places,
                                             contact.locality_id)
    values["ho_ten"] = placeholders.clean_value(m.name)
    for name, default in sorted(slots, key=lambda s: (s[0], s[1] or "")):
        if not values.get(name) and default is None:
            values[name] = SAMPLE.format(name=name)
    return values


def _render(text: str | None, values: dict[str, str]) -> str | None:
    if not text:
        return text
    template = placeholders.parse(text)
    rendered = template.render(values)
    return escape(rendered if rendered is not None else placeholders.as_written(text))


def send(c: Campaign, *, actor: User, member_id: int | None = None) -> Sent:
    """Send the current content of `c` as a test to the whole test list, or one member.

    Caller commits; the rows are woken and enqueued once it has.
    """
    _check(c)
    chosen = ([testlist.get_member(member_id)] if member_id is not None
              else testlist.members())
    if not chosen:
        raise Conflict("The test list is empty. An admin adds staff numbers and devices to it.",
                       code="test_list_empty")
    if member_id is not None and not _channels(c, chosen[0]):
        raise ValidationFailed.field(
            "member_id", "This member has no number or installation for the campaign's "
            "channels.")
    # After the checks, so a refused attempt (a typo in the text) costs no turn.
    ratelimit.check(f"testsend:campaign:{c.id}", limit=1, window=INTERVAL,
                    what="test sends of this campaign")
    ratelimit.check(f"testsend:user:{actor.id}", limit=PER_HOUR, window=3600,
                    what="test sends")
    sent = Sent(uuid.uuid4().hex[:16])
    fingerprint = content.content_hash(c)
    snap = content.snapshot(c)
    now = utcnow()
    slots = {(s.name, s.default) for text in (c.sms_text, c.push_title, c.push_body)
             if text for s in placeholders.parse(text).slots}
    places = placeholders.load_places() if slots else {}
    routes = smpp_accounts.route_table()
    accounts: set[int] = set()
    pushes: dict[int, list[int]] = {}
    for m in chosen:
        channels = _channels(c, m)
        if not channels:
            sent.skipped.append({"member_id": m.id, "name": m.name, "reason": "no_channel"})
            continue
        values = member_values(m, slots, places)
        child = _child(c, m, channels, values, actor=actor, fingerprint=fingerprint,
                       snap=snap, send_id=sent.send_id, now=now)
        rows = []
        if "sms" in channels:
            rows.append(_sms_row(child, m, routes, now))
        if "push" in channels:
            row = _push_row(child, m, now)
            if row is None:
                sent.skipped.append({"member_id": m.id, "name": m.name,
                                     "reason": "device_missing"})
            else:
                rows.append(row)
        for row in rows:
            written = insert_rows(Message.__table__, [row], returning=("id",))
            if row["status"] != MessageStatus.QUEUED:
                continue
            if row["channel"] == "sms" and row["account_id"] is not None:
                accounts.add(row["account_id"])
            elif row["channel"] == "push":
                pushes[child.id] = [written[0][0]]
        sent.children.append(child)
    if not sent.children:
        raise ValidationFailed.field(
            "member_id", "No member of the test list has a number or installation for the "
            "campaign's channels.")
    audit.record("campaign.test_send", "campaign", c.id, actor=actor,
                 after_hash=fingerprint,
                 details={"version": c.version, "send_id": sent.send_id,
                          "members": [(ch.snapshot or {}).get("member") for ch in sent.children],
                          "tests": [ch.id for ch in sent.children], "skipped": sent.skipped})
    _after_commit(pushes, accounts)
    return sent


def tests_of(c: Campaign) -> list[Campaign]:
    """The test sends of `c`, newest first (a few: sends are rate-limited)."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.parent_id == c.id, Campaign.kind == KIND)
        .order_by(Campaign.id.desc()).limit(200)))


def status(c: Campaign) -> dict[str, Any]:
    """Whether the version of `c` shown now was tested: when, by whom, to whom, what became of
    it; and the last test otherwise (an older version)."""
    tests = tests_of(c)
    fingerprint = c.snapshot_hash or content.content_hash(c)
    match = next((t for t in tests if t.snapshot_hash == fingerprint), None)
    last = tests[0] if tests else None
    shown = match or last
    members: list[dict[str, Any]] = []
    if shown is not None:
        send_id = (shown.snapshot or {}).get("send_id")
        same = [t for t in tests if (t.snapshot or {}).get("send_id") == send_id]
        outcomes: dict[int, list[str]] = {}
        for campaign_id, channel, state in db.session.execute(
                select(Message.campaign_id, Message.channel, Message.status)
                .where(Message.campaign_id.in_([t.id for t in same]))):
            outcomes.setdefault(campaign_id, []).append(
                f"{channel}:{getattr(state, 'value', state)}")
        members = [{"name": (t.snapshot or {}).get("member"), "test_id": t.id,
                    "outcomes": sorted(outcomes.get(t.id, []))} for t in reversed(same)]
    return {
        "tested": match is not None,
        "ever": last is not None,
        "at": shown.created_at if shown else None,
        "by_id": shown.created_by_id if shown else None,
        "version": shown.version if shown else None,
        "fingerprint": fingerprint,
        "members": members,
    }


def _child(c: Campaign, m: TestMember, channels: list[str], values: dict[str, str], *,
           actor: User, fingerprint: str, snap: dict[str, Any], send_id: str,
           now: Any) -> Campaign:
    channel = "both" if len(channels) == 2 else channels[0]
    child = Campaign(
        kind=KIND, parent_id=c.id, title=f"{c.title} — thử: {m.name}"[:200],
        channels=channel, sms_text=_render(c.sms_text, values), sms_sender=c.sms_sender,
        sms_plain=c.sms_plain, push_title=_render(c.push_title, values),
        push_body=_render(c.push_body, values), push_image=c.push_image,
        push_link=c.push_link, push_data=dict(c.push_data or {}),
        # The survey's question goes with the text, as it will; no acknowledgement of a test.
        reply_mode=c.reply_mode, survey=dict(c.survey or {}), reply_days=c.reply_days,
        reply_ack=None, audience={}, status=S.SENDING, priority="urgent",
        # Staff asked for it now: whatever the campaign's window, a test goes at once.
        window_start=time(0, 0), window_end=time.max, validity_hours=VALIDITY_HOURS,
        created_by_id=actor.id, launched_at=now, expanded_at=now, push_mode="devices",
        version=c.version, snapshot_hash=fingerprint,
        snapshot={"send_id": send_id, "version": c.version, "member_id": m.id,
                  "member": m.name, "content": snap}, cap_exempt=True)
    db.session.add(child)
    db.session.flush()
    return child


def _sms_row(child: Campaign, m: TestMember, routes: dict[str, int | None],
             now: Any) -> dict[str, Any]:
    text = sent_text(placeholders.as_written(child.sms_text or ""), child.reply_mode,
                     child.survey)
    if child.sms_plain:
        text = strip_diacritics(text)
    op = m.operator or "other"
    account = routes.get(op, routes.get("other"))
    opted_out = db.session.scalar(select(OptOut.address).where(
        OptOut.channel == "sms", OptOut.address == m.msisdn)) is not None
    reason = "opt_out" if opted_out else "no_route" if account is None else None
    # The ledger's recipient of a test SMS is the test member (a staff number, maybe no
    # contact): recipient ids are unique per campaign and channel, and a test child has one.
    return {"campaign_id": child.id, "channel": "sms", "recipient_id": m.id,
            "address": m.msisdn, "operator": op, "account_id": account,
            "status": MessageStatus.SUPPRESSED if reason else MessageStatus.QUEUED,
            "reason": reason, "parts": analyse(text).parts, "created_at": now,
            "queued_at": None if reason else now, "finished_at": now if reason else None,
            "attempts": 0}


def _push_row(child: Campaign, m: TestMember, now: Any) -> dict[str, Any] | None:
    device = db.session.execute(
        select(Device.id, Device.fcm_token, Device.disabled_reason)
        .where(Device.installation_id == m.installation_id)).first()
    if device is None:
        return None
    opted_out = db.session.scalar(select(OptOut.address).where(
        OptOut.channel == "push", OptOut.address == m.installation_id)) is not None
    reason = ("device_disabled" if device[2] or not device[1]
              else "opt_out" if opted_out else None)
    return {"campaign_id": child.id, "channel": "push", "recipient_id": device[0],
            "address": None, "operator": None, "account_id": None,
            "status": MessageStatus.SUPPRESSED if reason else MessageStatus.QUEUED,
            "reason": reason, "parts": 1, "created_at": now,
            "queued_at": None if reason else now, "finished_at": now if reason else None,
            "attempts": 0}


def _after_commit(pushes: dict[int, list[int]], accounts: set[int]) -> None:
    """Once committed: wake the smpp processes, enqueue the push rows (ids, not objects)."""

    def go() -> None:
        if accounts:
            enqueue.wake_sms(sorted(accounts))
        for child_id, ids in pushes.items():
            enqueue.enqueue_push_ids(child_id, ids, urgent=True)

    control.after_commit(go)
