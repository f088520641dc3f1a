"""Personal data's end of life (Decree 13/2023/ND-CP, DESIGN.md invariant 12).

- A campaign ended (completed or cancelled) more than RETENTION_DAYS ago keeps its ledger rows
  but loses who they were for: `address` becomes NULL and `recipient_id` the row's own id
  negated (unique, and pointing at no contact or device). Status, operator, account, parts,
  reason and times stay, so every funnel, cost and summary figure stays exact: reports count
  rows, never numbers (duplicates were counted at expansion, into `campaigns.expansion`).
  Personalised texts (`message_texts`, which hold names and places) of such a campaign are
  deleted.
- Raw receipts, MO messages and MO fragments older than that lose their text, octets and
  sender; replies (the inbox) lose their text, note and who sent them, and keep their campaign,
  choice, locality and operator, so survey results stay exact.
- Contacts in no list and not imported, updated or sent to for CONTACT_RETENTION_DAYS are
  deleted. Opt-outs are never purged here: they are the person's standing instruction.
- A person's data can be exported and erased by number (`export_person`, `erase_person`),
  audited with the number masked.

Every step works in batches of ids (bounded memory whatever the table's size) and commits per
batch, so a run cut short continues where it stopped the next time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, exists, or_, select, update

from dispatch.audiences import msisdn
from dispatch.campaigns import audit
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.jobs import in_app_context, keys, queue
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    Contact,
    ContactList,
    InboundMessage,
    ListMember,
    Message,
    MessageText,
    MoFragment,
    OptOut,
    RawReceipt,
    Reply,
    User,
)
from dispatch.models.common import utcnow
from dispatch.models.sqlbatch import any_of
from dispatch.push import installations as app_installations

log = logging.getLogger(__name__)
BATCH = 5_000
ENDED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


def _forget_messages(where: Any, batch: int) -> int:
    """Pseudonymise the ledger rows matching `where`, a batch of ids per transaction."""
    personal = or_(Message.address.is_not(None), Message.recipient_id > 0)
    return _blank(Message, where, {"address": None, "recipient_id": -Message.id}, personal,
                  batch)


def _blank(model: Any, where: Any, values: dict[str, Any], dirty: Any, batch: int) -> int:
    done, after = 0, 0
    while True:
        ids = db.session.scalars(select(model.id).where(model.id > after, where, dirty)
                                 .order_by(model.id).limit(batch)).all()
        if not ids:
            return done
        after = ids[-1]
        db.session.execute(update(model).where(any_of(model.id, ids)).values(values),
                           execution_options={"synchronize_session": False})
        db.session.commit()
        done += len(ids)


def _drop_texts(where: Any, batch: int) -> int:
    """Delete the personalised texts of the ledger rows matching `where`, a batch at a time."""
    done = 0
    while True:
        ids = db.session.scalars(select(MessageText.message_id).join(
            Message, Message.id == MessageText.message_id).where(where).limit(batch)).all()
        if not ids:
            return done
        db.session.execute(delete(MessageText).where(any_of(MessageText.message_id, ids)))
        db.session.commit()
        done += len(ids)


def _purge_replies(where: Any, batch: int) -> int:
    """Replies keep what results count (campaign, choice, counted, locality, operator)."""
    return _blank(Reply, where, {"msisdn": None, "contact_id": None, "device_id": None,
                                 "text": "", "text_folded": "", "note": None},
                  or_(Reply.msisdn.is_not(None), Reply.contact_id.is_not(None),
                      Reply.device_id.is_not(None), Reply.text != "", Reply.note.is_not(None)),
                  batch)


def _purge_mo(where_mo: Any, where_fragment: Any, batch: int) -> int:
    n = _blank(InboundMessage, where_mo, {"source": "", "text": "", "payload": None},
               or_(InboundMessage.source != "", InboundMessage.text != "",
                   InboundMessage.payload.is_not(None)), batch)
    while True:
        ids = db.session.scalars(select(MoFragment.id).where(where_fragment).limit(batch)).all()
        if not ids:
            return n
        db.session.execute(delete(MoFragment).where(any_of(MoFragment.id, ids)))
        db.session.commit()
        n += len(ids)


def run(config: dict[str, Any], now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """One retention pass; returns what it did per kind of row."""
    now = now or utcnow()
    cutoff = now - timedelta(days=int(config["RETENTION_DAYS"]))
    done: dict[str, int] = {"campaigns": 0, "messages": 0, "texts": 0}
    old = db.session.scalars(select(Campaign.id).where(
        Campaign.status.in_(ENDED), Campaign.finished_at < cutoff).order_by(Campaign.id)).all()
    for cid in old:
        done["texts"] += _drop_texts(Message.campaign_id == cid, batch)
        n = _forget_messages(Message.campaign_id == cid, batch)
        if n:
            done["campaigns"] += 1
            done["messages"] += n
    done["receipts"] = _blank(RawReceipt, RawReceipt.received_at < cutoff,
                              {"body": "", "payload": None},
                              or_(RawReceipt.body != "", RawReceipt.payload.is_not(None)), batch)
    done["inbound"] = _purge_mo(InboundMessage.received_at < cutoff,
                                MoFragment.received_at < cutoff, batch)
    done["replies"] = _purge_replies(Reply.received_at < cutoff, batch)
    done["contacts"] = purge_contacts(
        now - timedelta(days=int(config["CONTACT_RETENTION_DAYS"])), batch)
    # App installations registered and never heard from again (an FCM token of nobody's).
    done["installations"] = app_installations.prune_unreturned(
        now - timedelta(days=int(config["APP_UNRETURNED_DAYS"])))
    return done


def purge_contacts(seen_before: datetime, batch: int = BATCH) -> int:
    """Delete contacts in no list, not imported or updated, nor sent to, since `seen_before`."""
    in_list = exists().where(ListMember.contact_id == Contact.id)
    sent = exists().where(Message.recipient_id == Contact.id, Message.channel == "sms",
                          Message.created_at >= seen_before)
    done, after = 0, 0
    while True:
        ids = db.session.scalars(select(Contact.id).where(
            Contact.id > after, Contact.updated_at < seen_before, ~in_list, ~sent)
            .order_by(Contact.id).limit(batch)).all()
        if not ids:
            return done
        _forget_frozen(ids)
        db.session.execute(delete(Contact).where(any_of(Contact.id, ids)))
        db.session.commit()
        done += len(ids)
        after = ids[-1]


def read_number(raw: str) -> str:
    """The E.164 number a request names, read by the one rule; a refusal names `number`."""
    parsed = msisdn.normalise(raw)
    if not parsed.ok or parsed.msisdn is None:
        raise ValidationFailed(f"number: {parsed.error or 'empty'}",
                               errors={"number": [parsed.error or "empty"]})
    return parsed.msisdn


def mask(number: str) -> str:
    """The number as the audit log shows it: enough to tell requests apart, not to call."""
    return number[:5] + "*" * max(0, len(number) - 8) + number[-3:]


def _sources(number: str) -> list[str]:
    # An SMSC writes the sender as 84…, +84… or 0…: all three are the same person.
    national = number[3:]
    return [number, number[1:], "0" + national]


def _ledger_where(number: str, contact: Contact | None) -> Any:
    by_address = Message.address == number
    if contact is None:
        return by_address
    return or_(by_address, (Message.channel == "sms") & (Message.recipient_id == contact.id))


def _replies_where(number: str, contact: Contact | None) -> Any:
    by_number = Reply.msisdn == number
    return by_number if contact is None else or_(by_number, Reply.contact_id == contact.id)


def export_person(raw: str, *, actor: User | None) -> dict[str, Any]:
    """Everything Loa holds on a number, as JSON; audited."""
    number = read_number(raw)
    contact = db.session.scalar(select(Contact).where(Contact.msisdn == number))
    out: dict[str, Any] = {"number": number, "contact": None, "lists": [], "messages": [],
                           "inbound": [], "replies": [], "opt_outs": []}
    if contact is not None:
        out["contact"] = {"id": contact.id, "msisdn": contact.msisdn, "name": contact.name,
                          "operator": contact.effective_operator,
                          "locality_id": contact.locality_id, "attributes": contact.attributes,
                          "created_at": contact.created_at.isoformat(),
                          "updated_at": contact.updated_at.isoformat()}
        out["lists"] = [{"id": i, "name": n} for i, n in db.session.execute(
            select(ContactList.id, ContactList.name).join(
                ListMember, ListMember.list_id == ContactList.id)
            .where(ListMember.contact_id == contact.id).order_by(ContactList.id))]
    for m, text in db.session.execute(
            select(Message, MessageText.text)
            .outerjoin(MessageText, MessageText.message_id == Message.id)
            .where(_ledger_where(number, contact)).order_by(Message.id)):
        out["messages"].append({
            "id": m.id, "campaign_id": m.campaign_id, "channel": m.channel,
            "address": m.address, "text": text, "status": m.status.value, "reason": m.reason,
            "operator": m.operator, "parts": m.parts,
            "submitted_at": m.submitted_at and m.submitted_at.isoformat(),
            "finished_at": m.finished_at and m.finished_at.isoformat()})
    for mo in db.session.scalars(select(InboundMessage).where(
            any_of(InboundMessage.source, _sources(number))).order_by(InboundMessage.id)):
        out["inbound"].append({"id": mo.id, "text": mo.text, "destination": mo.destination,
                               "handled_as": mo.handled_as,
                               "received_at": mo.received_at.isoformat()})
    for r in db.session.scalars(select(Reply).where(_replies_where(number, contact))
                                .order_by(Reply.id)):
        out["replies"].append({"id": r.id, "channel": r.channel, "campaign_id": r.campaign_id,
                               "text": r.text, "kind": r.kind, "choice": r.choice,
                               "state": r.state, "received_at": r.received_at.isoformat()})
    for o in db.session.scalars(select(OptOut).where(OptOut.channel == "sms",
                                                     OptOut.address == number)):
        out["opt_outs"].append({"channel": o.channel, "source": o.source, "reason": o.reason,
                                "created_at": o.created_at.isoformat()})
    audit.record("personal_data.export", "person", mask(number), actor=actor,
                 details={"number": mask(number), "messages": len(out["messages"]),
                          "inbound": len(out["inbound"]), "replies": len(out["replies"])})
    db.session.commit()
    return out


def _forget_frozen(contact_ids: Any) -> None:
    """Drop deleted contacts from audiences frozen for approval (no foreign key: on SQLite a
    new contact could take a deleted one's id and inherit its place in an approved audience)."""
    db.session.execute(delete(CampaignMember).where(
        CampaignMember.channel == "sms", any_of(CampaignMember.recipient_id, contact_ids)))


def erase_person(raw: str, *, actor: User | None, reason: str | None = None,
                 drop_opt_out: bool = False, batch: int = BATCH) -> dict[str, int]:
    """Erase a number on the person's request: contact and memberships deleted, ledger rows
    pseudonymised, MO purged; the opt-out kept unless `drop_opt_out` (see OPERATIONS)."""
    number = read_number(raw)
    contact = db.session.scalar(select(Contact).where(Contact.msisdn == number))
    where = _ledger_where(number, contact)
    done = {"contacts": 0, "memberships": 0, "opt_outs": 0}
    done["texts"] = _drop_texts(where, batch)
    done["messages"] = _forget_messages(where, batch)
    done["inbound"] = _purge_mo(any_of(InboundMessage.source, _sources(number)),
                                any_of(MoFragment.source, _sources(number)), batch)
    done["replies"] = _purge_replies(_replies_where(number, contact), batch)
    if contact is not None:
        done["memberships"] = len(db.session.scalars(delete(ListMember).where(
            ListMember.contact_id == contact.id).returning(ListMember.list_id)).all())
        _forget_frozen([contact.id])
        db.session.delete(contact)
        done["contacts"] = 1
    if drop_opt_out:
        done["opt_outs"] = len(db.session.scalars(delete(OptOut).where(
            OptOut.channel == "sms", OptOut.address == number).returning(OptOut.id)).all())
    audit.record("personal_data.erase", "person", mask(number), actor=actor, reason=reason,
                 details={"number": mask(number), **done})
    db.session.commit()
    return done



@in_app_context
def run_job() -> dict[str, int]:
    """The RQ job: one retention pass with the worker app's settings."""
    done = run(current_app.config)
    log.info("retention: %s", done)
    return done


def enqueue_daily() -> int:
    """Enqueue the retention job once per UTC day (the clock calls this every tick)."""
    today = utcnow().date().isoformat()
    previous = get_redis().getset(keys.RETENTION_DAY, today)
    if previous is not None and previous.decode() == today:
        return 0
    queue("low").enqueue("dispatch.audiences.retention.run_job", job_timeout=6 * 3600)
    return 1
