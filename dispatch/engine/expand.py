"""The expand job: a launched campaign's frozen audience → ledger rows, then send jobs.

Streams recipients in id order in batches (memory does not grow with the audience), writes each
batch with INSERT … ON CONFLICT DO NOTHING on the ledger's unique key together with the checkpoint
(`campaigns.expand_cursor`) in one transaction, and enqueues the batch's send jobs after the
commit. Killed at any point and run again, it continues after the last committed batch and never
creates a row twice. Suppressed recipients get a row too (status `suppressed`, with the reason),
so the report can account for everyone targeted.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, null, select, text, true

from dispatch.campaigns import frozen, kinds, placeholders, settings
from dispatch.campaigns.audience import locality_ids, normalise
from dispatch.engine import enqueue
from dispatch.extensions import db
from dispatch.jobs import in_app_context
from dispatch.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Device,
    ListMember,
    Message,
    MessageStatus,
    MessageText,
    OptOut,
)
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of, insert_rows
from dispatch.replies.ask import sent_text
from dispatch.sms import accounts as smpp_accounts
from gateways.sms.encoding import analyse, strip_diacritics

log = logging.getLogger(__name__)

BATCH = 10000
E164_VN_MOBILE = re.compile(r"^\+84\d{9}$")
S = MessageStatus


def sms_text(c: Campaign) -> str:
    """The text that goes out: the không dấu variant when the campaign chose it."""
    text = sent_text(placeholders.as_written(c.sms_text or ""), c.reply_mode, c.survey)
    return strip_diacritics(text) if c.sms_plain else text


def _insert(rows: list[dict[str, Any]]) -> list[tuple[int, str, int | None]]:
    """Insert ledger rows that do not exist yet; return (id, status, account_id) of the new ones."""
    written = insert_rows(Message.__table__, rows,
                          skip_conflicts_on=("campaign_id", "channel", "recipient_id"),
                          returning=("id", "status", "account_id"))
    return [(r[0], r[1], r[2]) for r in written]


def _insert_texts(rows: list[dict[str, Any]], texts: dict[int, str]
                  ) -> list[tuple[int, str, int | None]]:
    """`_insert`, and each new row's rendered text in the same transaction."""
    written = insert_rows(Message.__table__, rows,
                          skip_conflicts_on=("campaign_id", "channel", "recipient_id"),
                          returning=("id", "status", "account_id", "recipient_id"))
    kept = [{"message_id": r[0], "text": texts[r[3]]} for r in written if r[3] in texts]
    if kept:
        insert_rows(MessageText.__table__, kept)
    return [(r[0], r[1], r[2]) for r in written]


def _relaxed_commit() -> None:
    """On PostgreSQL, don't wait for the WAL flush at this batch's commit.

    Safe here and only here: a batch lost in a crash is rows and checkpoint together, and the job
    writes both again when it reruns (ON CONFLICT DO NOTHING keeps it exact).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit = off"))


def _analyze_ledger() -> None:
    """On PostgreSQL, refresh the ledger's statistics once a campaign's SMS rows are written.

    The runners claim them over the partial index `ix_messages_queued_claim`; with statistics
    from before the campaign existed the planner takes (campaign_id, status) instead and sorts
    every queued row of the campaign at each claim. Autovacuum would analyse the table only once
    a tenth of it changed. ANALYZE samples a fixed number of rows: under a second at a million.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE messages"))
        db.session.commit()


class Superseded(Exception):
    """Another run of this campaign's expansion holds it: this one stops."""


def _heartbeat(campaign_id: int, run: str) -> None:
    # Renewed every batch, so the heartbeat must outlast the slowest batch; if it lapsed and
    # another run took the expansion meanwhile, this one gives way (that one continues from
    # the same checkpoint). See enqueue.py for who holds an expansion.
    if not enqueue.hold_expansion(campaign_id, run):
        raise Superseded


@in_app_context
def expand(campaign_id: int) -> dict[str, Any]:
    """Job: write the campaign's ledger rows and enqueue their sending."""
    c = db.session.get(Campaign, campaign_id)
    if c is None or c.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        return {}
    if c.expanded_at is not None:
        return dict(c.expansion or {})
    run = uuid.uuid4().hex
    try:
        _heartbeat(c.id, run)  # this run holds it now, or another one does and this one stops
        if c.channels in ("sms", "both"):
            _expand_sms(c, run)
            _analyze_ledger()
        if c.channels in ("push", "both"):
            _expand_push(c, run)
    except Superseded:
        db.session.rollback()
        log.info("campaign %s: another expansion run holds it; this one stops", campaign_id)
        return {"superseded": True}
    # An error propagates with the expansion still held until its heartbeat lapses: the clock
    # then starts it again, a heartbeat later, as it does for a run whose worker died.
    c = db.session.get(Campaign, campaign_id)
    if c is not None and c.status in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
        c.expanded_at = utcnow()
        frozen.release(c)
        db.session.commit()
    enqueue.let_go_expansion(campaign_id, run)
    if c is None or c.expanded_at is None:
        return {}
    return dict(c.expansion or {})


def _still_expanding(c: Campaign) -> bool:
    db.session.refresh(c, attribute_names=["status"])
    return c.status in (CampaignStatus.SENDING, CampaignStatus.PAUSED)


def _save_checkpoint(c: Campaign, channel: str, last_id: int, counts: dict[str, int]) -> None:
    cursor = dict(c.expand_cursor or {})
    cursor[channel] = last_id
    c.expand_cursor = cursor
    figures = dict(c.expansion or {})
    for key, n in counts.items():
        figures[key] = figures.get(key, 0) + n
    c.expansion = figures


# --- SMS ---------------------------------------------------------------------------------------

def _sms_sources(audience: dict[str, Any]) -> list[Select[Any]]:
    """One id-ordered query per way a contact gets in: list membership, locality."""
    sources: list[Select[Any]] = []
    if audience["lists"]:
        sources.append(select(ListMember.contact_id.label("id")).distinct()
                       .where(ListMember.list_id.in_(audience["lists"])))
    places = locality_ids(audience["localities"])
    if places:
        sources.append(select(Contact.id.label("id")).where(Contact.locality_id.in_(places)))
    return sources


def _next_ids(sources: list[Select[Any]], after: int, limit: int) -> list[int]:
    """The next `limit`-or-fewer distinct ids above `after` from the union of `sources`.

    Each source is read by keyset (id > after ORDER BY id LIMIT n) on an index, so a batch costs
    the same at the start and at the end of a million-row audience; the merge keeps only ids
    below the smallest last id of any source that may have more.
    """
    found: set[int] = set()
    bound: int | None = None
    for source in sources:
        col = source.selected_columns[0]
        ids = list(db.session.scalars(source.where(col > after).order_by(col).limit(limit)))
        found.update(ids)
        if len(ids) == limit:
            bound = ids[-1] if bound is None else min(bound, ids[-1])
    merged = sorted(found)
    return merged if bound is None else [i for i in merged if i <= bound]


def _duplicates_across_lists(audience: dict[str, Any]) -> int:
    """Memberships beyond the first for contacts in several included lists (one row each)."""
    if len(audience["lists"]) < 2:
        return 0
    members = select(ListMember.contact_id).where(ListMember.list_id.in_(audience["lists"]))
    total = db.session.scalar(select(func.count()).select_from(members.subquery())) or 0
    distinct = db.session.scalar(
        select(func.count(func.distinct(ListMember.contact_id)))
        .where(ListMember.list_id.in_(audience["lists"]))
    ) or 0
    return total - distinct


def _capped(c: Campaign, contact_ids: Sequence[int]) -> set[int]:
    """Contacts that already had the cap's number of campaigns by SMS within its period."""
    # A correction is sent to people already counted for its original: not a new campaign.
    if c.cap_exempt or c.kind == "correction" or not contact_ids:
        return set()
    cap = settings.get("recipient_cap")
    since = utcnow() - timedelta(hours=int(cap["hours"]))
    stmt = (
        select(Message.recipient_id)
        .where(any_of(Message.recipient_id, contact_ids), Message.channel == "sms",
               Message.campaign_id != c.id, Message.created_at >= since,
               # A test send to staff phones is no campaign of theirs (dispatch.campaigns.kinds).
               Message.campaign_id.not_in(kinds.not_counted_ids()),
               Message.status.not_in([S.SUPPRESSED, S.CANCELLED, S.EXPIRED]))
        .group_by(Message.recipient_id)
        .having(func.count(func.distinct(Message.campaign_id)) >= int(cap["max_campaigns"]))
    )
    return set(db.session.scalars(stmt))


def _expand_sms(c: Campaign, run: str) -> None:
    audience = normalise(c.snapshot.get("audience") if c.snapshot else c.audience)
    # Frozen: only the members approved (DESIGN invariant 8). Campaigns launched before
    # audiences were frozen have no members and expand their audience as it is now.
    is_frozen = c.frozen_reach is not None
    sources = [] if is_frozen else _sms_sources(audience)
    if not (is_frozen or sources):
        return
    if "sms" not in (c.expand_cursor or {}):
        figures = {"duplicates_across_lists": _duplicates_across_lists(audience)}
        if is_frozen:
            figures["not_approved"] = frozen.not_approved(c, "sms")
        c.expansion = {**(c.expansion or {}), **figures}
        db.session.commit()
    routes = smpp_accounts.route_table()
    parts = analyse(sms_text(c)).parts
    # Personalised: each recipient's text rendered here, kept beside its row (message_texts).
    template = placeholders.parse_or_none(c.sms_text)
    personal = template is not None and template.personal
    places = placeholders.load_places() if personal else {}
    columns: tuple[Any, ...] = (Contact.id, Contact.msisdn, Contact.operator,
                                Contact.operator_override)
    names: tuple[str, ...] = ()
    if personal:
        assert template is not None
        names = template.names
        # Attributes are JSON, parsed per row: read only when the text names one of them.
        attributes = (Contact.attributes if placeholders.uses_attributes(template)
                      else null().label("attributes"))
        columns += (Contact.name, attributes, Contact.locality_id)
    excluded = audience["exclude_lists"]
    inside = frozen.still_in(audience, "sms") if is_frozen else true()
    while _still_expanding(c):
        _heartbeat(c.id, run)
        after = (c.expand_cursor or {}).get("sms", 0)
        held: dict[int, str] = {}
        if is_frozen:
            members = frozen.next_members(c, "sms", after, BATCH)
            ids = [i for i, _ in members]
            held = {i: why for i, why in members if why}
        else:
            ids = _next_ids(sources, after, BATCH)
        if not ids:
            return
        _relaxed_commit()
        batch = db.session.execute(
            select(*columns).where(any_of(Contact.id, ids), inside).order_by(Contact.id)
        ).all()
        present = [row[0] for row in batch]
        numbers = [row[1] for row in batch]
        opted_out = set(db.session.scalars(
            select(OptOut.address).where(OptOut.channel == "sms",
                                         any_of(OptOut.address, numbers)))) if numbers else set()
        excluded_ids = {i for i, why in held.items() if why == "excluded"}
        if excluded and present:
            excluded_ids.update(db.session.scalars(
                select(ListMember.contact_id).where(ListMember.list_id.in_(excluded),
                                                    any_of(ListMember.contact_id, present))))
        excluded_ids &= {row[0] for row in batch}
        capped = _capped(c, present)
        now = utcnow()
        rows: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        texts: dict[int, str] = {}
        for row in batch:
            contact_id, msisdn, operator, override = row[:4]
            op = override or operator
            account = routes.get(op, routes.get("other"))
            reason = None
            if contact_id in excluded_ids:
                continue  # excluded lists take the contact out of the audience entirely
            if not E164_VN_MOBILE.match(msisdn or ""):
                reason = "invalid_number"
            elif msisdn in opted_out or held.get(contact_id) == "opt_out":
                # Opted out when frozen: not in the approved figures, so never sent, even if
                # the opt-out was lifted since.
                reason = "opt_out"
            elif held.get(contact_id) == "app":
                reason = "app_covered"  # app_first: the approval priced no SMS for them
            elif account is None:
                reason = "no_route"
            elif contact_id in capped:
                reason = "recipient_cap"
            row_parts = parts
            if personal and reason is None:
                assert template is not None
                rendered = template.render(placeholders.contact_values(
                    row[4], row[5], places, row[6], names))
                if rendered is None:
                    reason = "missing_value"  # a value without a default: nothing to send
                else:
                    rendered = sent_text(rendered, c.reply_mode, c.survey)
                    texts[contact_id] = strip_diacritics(rendered) if c.sms_plain else rendered
                    row_parts = analyse(texts[contact_id]).parts
            # app_then_sms: the SMS waits for the push (dispatch.engine.fallback).
            waits = reason is None and held.get(contact_id) == "fallback"
            status = S.SUPPRESSED if reason else S.PENDING if waits else S.QUEUED
            rows.append({
                "campaign_id": c.id, "channel": "sms", "recipient_id": contact_id,
                "address": msisdn, "operator": op, "account_id": account,
                "status": status, "reason": reason, "fallback": "waiting" if waits else None,
                "parts": row_parts, "created_at": now,
                "queued_at": now if status is S.QUEUED else None,
                "finished_at": now if reason else None, "attempts": 0,
            })
            key = f"suppressed_{reason}" if reason else "fallback_waiting" if waits else "queued"
            counts[key] = counts.get(key, 0) + 1
        counts["excluded"] = len(excluded_ids)
        if is_frozen:
            # Approved members since removed from every list and locality, or deleted.
            counts["left_audience"] = len(ids) - len(batch)
        written = _insert_texts(rows, texts) if personal else _insert(rows)
        _save_checkpoint(c, "sms", ids[-1], counts)
        db.session.commit()
        # Committed: the smpp processes claim the rows from the ledger; tell them they are there.
        accounts = {account for _, status, account in written
                    if status == S.QUEUED and account is not None}
        if accounts:
            enqueue.wake_sms(accounts)


# --- push --------------------------------------------------------------------------------------

def _expand_push(c: Campaign, run: str) -> None:
    from dispatch.push import send as push
    mode, why = push.choose_push_mode(c)
    if c.push_mode is None:
        c.push_mode, c.push_mode_reason = mode, why
        db.session.commit()
    if c.push_mode == "topic":
        # The topic send's single row exists before anything is enqueued (so the clock cannot
        # complete a push-only campaign that has no rows yet); commit, then enqueue.
        push.prepare_topic(c, c.push_mode_reason or why)
        db.session.commit()
        push.enqueue_topic(c)
        return
    audience = normalise(c.snapshot.get("audience") if c.snapshot else c.audience)
    is_frozen = c.frozen_reach is not None
    places = None if audience["all_app_users"] else locality_ids(audience["localities"])
    if not is_frozen and places is not None and not places:
        return
    if is_frozen and "push" not in (c.expand_cursor or {}):
        c.expansion = {**(c.expansion or {}),
                       "push_not_approved": frozen.not_approved(c, "push")}
        db.session.commit()
    columns = (Device.id, Device.installation_id, Device.disabled_reason, Device.fcm_token)
    inside = frozen.still_in(audience, "push") if is_frozen else true()
    while _still_expanding(c):
        _heartbeat(c.id, run)
        after = (c.expand_cursor or {}).get("push", 0)
        held: dict[int, str] = {}
        if is_frozen:
            members = frozen.next_members(c, "push", after, BATCH)
            if not members:
                return
            last = members[-1][0]
            held = {i: why for i, why in members if why}
            batch = db.session.execute(
                select(*columns).where(any_of(Device.id, [i for i, _ in members]), inside)
                .order_by(Device.id)).all()
        else:
            stmt = select(*columns).where(Device.id > after)
            if places is not None:
                stmt = stmt.where(Device.locality_id.in_(places))
            batch = db.session.execute(stmt.order_by(Device.id).limit(BATCH)).all()
            if not batch:
                return
            last = batch[-1][0]
        _relaxed_commit()
        installs = [row[1] for row in batch]
        opted_out = set(db.session.scalars(
            select(OptOut.address).where(OptOut.channel == "push",
                                         any_of(OptOut.address, installs)))) if installs else set()
        now = utcnow()
        rows: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for device_id, installation, disabled, token in batch:
            reason = None
            if disabled or not token or held.get(device_id) == "device_disabled":
                reason = "device_disabled"
            elif installation in opted_out or held.get(device_id) == "opt_out":
                reason = "opt_out"
            rows.append({
                "campaign_id": c.id, "channel": "push", "recipient_id": device_id,
                "address": None, "operator": None, "account_id": None,
                "status": S.SUPPRESSED if reason else S.QUEUED, "reason": reason,
                "fallback": None, "parts": 1, "created_at": now,
                "queued_at": None if reason else now,
                "finished_at": now if reason else None, "attempts": 0,
            })
            key = f"suppressed_{reason}" if reason else "queued"
            counts[f"push_{key}"] = counts.get(f"push_{key}", 0) + 1
        if is_frozen:
            counts["push_left_audience"] = len(members) - len(batch)
        written = _insert(rows)
        _save_checkpoint(c, "push", last, counts)
        db.session.commit()
        queued = [msg_id for msg_id, status, _ in written if status == S.QUEUED]
        if queued:
            enqueue.enqueue_push(c, queued)
