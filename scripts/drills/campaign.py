"""A drill's campaign: the installation seeded, the campaign launched as staff would, its figures.

    seeded = seed(stack, contacts=50_000, devices=10_000, tps=500)
    cid = launch(stack, seeded)                 # editor drafts and submits, approver launches
    done = wait_completed(stack, cid, timeout=600)
    print(figures(stack, cid).line())           # targeted=… submitted=… duplicates=0 lost=0 …

Contacts and devices are bulk-inserted (a drill is about sending, not importing); the users, the
SMPP account and the campaign go through the services the API uses, so the campaign is approved
by someone other than its author and launched like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import time as clock_time
from typing import Any

import sqlalchemy as sa

from scripts.drills.stack import SMSC_ACCOUNT, Stack
from scripts.harness import wait_for

TEXT = "Thong bao: lich tiem chung tai tram y te xa vao sang thu Bay"  # one GSM-7 part
PUSH_TITLE, PUSH_BODY = "Thông báo", "Triều cường lúc 17 giờ, đề nghị người dân chú ý."
PASSWORD = "drill password 2024"


@dataclass(frozen=True)
class Seeded:
    admin_id: int
    editor_id: int
    approver_id: int
    account_id: int
    list_id: int
    contacts: int
    devices: int
    window: int
    binds: int
    tps: int = 10_000


def number(i: int) -> str:
    return f"+8491{i:07d}"


def seed(stack: Stack, *, contacts: int, devices: int = 0, tps: int = 10_000,
         window: int = 10, binds: int = 1) -> Seeded:
    """Users (admin, editor, approver), an SMPP account on the stand-in, a list of `contacts`
    valid Viettel numbers and `devices` app installations."""
    from dispatch.access import users
    from dispatch.extensions import db
    from dispatch.models import ContactList, Device
    from dispatch.models.common import utcnow
    from dispatch.sms import accounts as smpp_accounts

    assert stack.app is not None
    with stack.app.app_context():
        people = [users.create_user(name, [role], actor=None, password=PASSWORD)[0].id
                  for name, role in (("quantri", "admin"), ("bientap", "editor"),
                                     ("pheduyet", "approver"))]
        account = smpp_accounts.create({
            "name": "viettel", "host": "127.0.0.1", "port": stack.smsc_port,
            "system_id": SMSC_ACCOUNT[0], "password": SMSC_ACCOUNT[1], "tps": tps,
            "window": window, "binds": binds, "is_default": True, "operators": ["viettel"],
            "brandnames": ["HAUGIANG"]}, actor=None)
        lst = ContactList(name="Drill", created_by_id=people[1])
        db.session.add(lst)
        db.session.commit()
        conn = db.session.connection()
        now = utcnow()
        contact_ids = _insert_contacts(conn, contacts, now)
        members = sa.table("list_members", sa.column("list_id"), sa.column("contact_id"))
        for start in range(0, len(contact_ids), 10_000):
            conn.execute(sa.insert(members), [{"list_id": lst.id, "contact_id": i}
                                              for i in contact_ids[start:start + 10_000]])
        for start in range(0, devices, 10_000):
            conn.execute(sa.insert(Device.__table__), [
                {"installation_id": f"drill-install-{i:07d}", "fcm_token": f"drill-token-{i:07d}",
                 "platform": "android", "topics": ["all"], "last_seen_at": now,
                 "created_at": now} for i in range(start, min(start + 10_000, devices))])
        db.session.commit()
        return Seeded(admin_id=people[0], editor_id=people[1], approver_id=people[2],
                      account_id=account.id, list_id=lst.id, contacts=contacts,
                      devices=devices, window=window, binds=binds, tps=tps)


def _insert_contacts(conn: Any, n: int, now: Any) -> list[int]:
    from dispatch.models import Contact

    table = Contact.__table__
    for start in range(0, n, 10_000):
        conn.execute(sa.insert(table), [
            {"msisdn": number(i), "operator": "viettel", "attributes": {}, "created_at": now,
             "updated_at": now} for i in range(start, min(start + 10_000, n))])
    return list(conn.scalars(sa.select(table.c.id).order_by(table.c.id)))


def launch(stack: Stack, seeded: Seeded, *, channels: str | None = None,
           priority: str = "normal") -> int:
    """The editor drafts and submits, the approver approves the frozen version and launches."""
    from dispatch.campaigns import service
    from dispatch.extensions import db
    from dispatch.models import User

    if channels is None:
        channels = "both" if seeded.devices else "sms"
    stack.wait_ready()
    assert stack.app is not None
    with stack.app.app_context():
        editor, approver = (db.session.get(User, i) for i in (seeded.editor_id,
                                                              seeded.approver_id))
        assert editor is not None and approver is not None
        data: dict[str, Any] = {
            "title": "Diễn tập", "channels": channels, "priority": priority,
            "audience": {"lists": [seeded.list_id], "all_app_users": bool(seeded.devices)},
            # The whole local day: a drill runs at any hour.
            "window_start": clock_time(0, 0), "window_end": clock_time(23, 59)}
        if channels in ("sms", "both"):
            data.update(sms_sender="HAUGIANG", sms_text=TEXT)
        if channels in ("push", "both"):
            data.update(push_title=PUSH_TITLE, push_body=PUSH_BODY)
        c = service.create(data, actor=editor)
        db.session.commit()
        service.submit(c, actor=editor)
        db.session.commit()
        frozen_here_or_there(c)
        service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
        db.session.commit()
        service.launch(c, actor=approver)
        db.session.commit()  # the expand job is enqueued once this commits
        return int(c.id)


def awaits_approval(campaign_id: int) -> bool:
    """Whether the campaign's recipients are frozen (as committed): it awaits approval."""
    from dispatch.extensions import db
    from dispatch.models import Campaign, CampaignStatus

    db.session.rollback()
    return db.session.get(Campaign, campaign_id).status is CampaignStatus.PENDING_APPROVAL


def frozen_here_or_there(c: Any) -> None:
    """Freeze a submitted campaign's recipients here (the job's function), or, when one of the
    stack's workers took the job first, wait until it has: then it awaits approval."""
    from dispatch.campaigns import submission

    submission.freeze(c.id)
    wait_for(lambda: awaits_approval(c.id), 60, what=f"campaign {c.id} frozen")


def status_counts(stack: Stack, cid: int) -> dict[str, int]:
    from dispatch.extensions import db
    from dispatch.models import Message

    assert stack.app is not None
    with stack.app.app_context():
        rows = db.session.execute(
            sa.select(Message.channel, Message.status, sa.func.count())
            .where(Message.campaign_id == cid).group_by(Message.channel, Message.status))
        out = {f"{channel}.{status.value}": n for channel, status, n in rows}
        db.session.remove()
        return out


def campaign_status(stack: Stack, cid: int) -> str:
    from dispatch.extensions import db
    from dispatch.models import Campaign

    assert stack.app is not None
    with stack.app.app_context():
        status = db.session.scalar(sa.select(Campaign.status).where(Campaign.id == cid))
        db.session.remove()
        return status.value if status is not None else "missing"


def wait_completed(stack: Stack, cid: int, timeout: float) -> bool:
    """Wait until the clock completes the campaign; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if campaign_status(stack, cid) == "completed":
            return True
        stack.check_alive()
        time.sleep(0.5)
    return campaign_status(stack, cid) == "completed"


@dataclass
class Figures:
    """What a drill reports (see `figures`)."""

    targeted: int
    submitted: int
    delivered: int
    failed: int
    unknown: int
    duplicates: int
    lost: int
    seconds: float
    status: str
    by_status: dict[str, int] = field(default_factory=dict)
    smsc: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"targeted={self.targeted} submitted={self.submitted} "
                f"delivered={self.delivered} failed={self.failed} unknown={self.unknown} "
                f"duplicates={self.duplicates} lost={self.lost} time={self.seconds:.1f}s "
                f"campaign={self.status}")

    def passed(self, unknown_limit: int = 0) -> bool:
        """The drills' target: completed, nothing sent twice, nothing lost, and no more rows
        `unknown` than the faults could leave in flight (`unknown_limit`; 0 without a fault)."""
        return (self.status == "completed" and self.duplicates == 0 and self.lost == 0
                and self.unknown <= unknown_limit)


def figures(stack: Stack, cid: int, seeded: Seeded, seconds: float) -> Figures:
    """The figures of a campaign, from the ledger and from the stand-ins' own counters.

    targeted    contacts + devices of the audience (all valid, none opted out)
    submitted   rows the ledger says were accepted (an SMSC or FCM message id stored)
    delivered / failed / unknown   rows in that final status
    duplicates  submits accepted more than once for one destination, counted by the SMSC
                stand-in (same destination and text), plus pushes sent more than once to one
                token, counted by the FCM stand-in
    lost        audience members with no ledger row, plus rows not final (a push is final
                once FCM accepted it)
    """
    from dispatch.engine.ledger import FINAL
    from dispatch.extensions import db
    from dispatch.models import Campaign, Message, MessagePart
    from dispatch.push.send import PUSH_FINAL

    assert stack.app is not None
    with stack.app.app_context():
        c = db.session.get(Campaign, cid)
        assert c is not None
        channels = c.channels
        rows = db.session.execute(
            sa.select(Message.channel, Message.status, sa.func.count())
            .where(Message.campaign_id == cid).group_by(Message.channel, Message.status)).all()
        accepted = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(MessagePart.message_id)))
            .join(Message, Message.id == MessagePart.message_id)
            .where(Message.campaign_id == cid, MessagePart.smsc_id.is_not(None))) or 0
        db.session.remove()
    by_status: dict[str, int] = {}
    count: dict[str, int] = {}
    final = 0
    for channel, status, n in rows:
        by_status[f"{channel}.{status.value}"] = n
        count[status.value] = count.get(status.value, 0) + n
        if status in (PUSH_FINAL if channel == "push" else FINAL):
            final += n
    targeted = ((seeded.contacts if channels in ("sms", "both") else 0)
                + (seeded.devices if channels in ("push", "both") else 0))
    written = sum(count.values())
    smsc = stack.smsc_stats()
    duplicates = int(smsc.get("repeats", 0))
    if stack.with_fcm:
        duplicates += sum(n - 1 for n in stack.fcm_counters()["by_token"].values() if n > 1)
    return Figures(
        targeted=targeted, submitted=accepted, delivered=count.get("delivered", 0),
        failed=count.get("failed", 0), unknown=count.get("unknown", 0), duplicates=duplicates,
        lost=max(0, targeted - written) + (written - final), seconds=seconds,
        status=campaign_status(stack, cid), by_status=by_status,
        smsc={k: int(v) for k, v in smsc.items() if isinstance(v, int)})


def sms_in_flight(seeded: Seeded) -> int:
    """What the SMS sender claims can be `sending` at once per account (docs/ENGINE.md,
    dispatch/sms/send.py): two chunks, each `AccountLink.claim_size` (the account throttled, as
    the drills run it)."""
    from dispatch.sms.links import claim_size

    return 2 * claim_size(seeded.window * seeded.binds, seeded.tps, throttled=True)


def sending_now(stack: Stack, cid: int) -> int:
    """Rows claimed and not yet recorded: what a kill at this moment can leave `unknown`."""
    from dispatch.extensions import db
    from dispatch.models import Message, MessageStatus

    assert stack.app is not None
    with stack.app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).where(
            Message.campaign_id == cid, Message.status == MessageStatus.SENDING)) or 0
        db.session.remove()
        return int(n)
