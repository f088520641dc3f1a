"""One installation with something of everything a page can show, for the every-page test.

`build(people, redis)` fills the database (and Redis' bind status) with campaigns in every
state (paused for each reason), a finished campaign's ledger with every reason code, a survey
with its replies, imports with every kind of error, an audit entry of every action, SMPP
accounts in every bind state and the push notes; it returns the ids each URL parameter of a
page can take. A new page needing a new kind of data: add it here (and its parameter to the
returned dict).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.audiences import refusals
from dispatch.campaigns import notes
from dispatch.extensions import db
from dispatch.models import (
    AuditEvent,
    CampaignStatus,
    ContactImport,
    MessageStatus,
    OptOut,
    SmppAccount,
)
from dispatch.sms import status as bind_status
from dispatch.web.i18n import EVENTS
from dispatch.web.labels import BIND_STATES, MESSAGE_REASONS
from tests.helpers import plans, surveys
from tests.helpers import web as helpers
from tests.helpers.reports import T0, Ledger, campaign, fill_main

S = CampaignStatus
MS = MessageStatus

# Why a campaign is paused (dispatch.campaigns.notes' codes, and a reason typed by a person),
# and how its pushes went: every code.
PAUSE_REASONS = (
    notes.note(notes.PAUSED_BY_STAFF), notes.note(notes.PAUSED_BY_SYSTEM),
    notes.note(notes.GATEWAY_FAILURES, count=5, account="viettel-1", last="ESME_RSYSERR"),
    "Chờ ý kiến của lãnh đạo Sở",
)
PUSH_NOTES = (
    ("devices", notes.note(notes.TOPICS_OFF)),
    ("devices", notes.note(notes.MANY_LOCALITIES, localities=3)),
    ("devices", notes.note(notes.PAYLOAD_TOO_LARGE, why="Longer than maximum length 200.")),
    ("devices", notes.note(notes.NO_DEVICE)),
    ("devices", notes.note(notes.NOT_SUBSCRIBED, missing=2, targeted=12, topic="all")),
    ("devices", notes.note(notes.OUTSIDE_SUBSCRIBED, outside=1, topic="loc-vi-thanh")),
    ("devices", notes.note(notes.JOINED_SINCE_APPROVAL, devices=4)),
    ("topic", notes.note(notes.TOPIC_SEND, topic="all", devices=12)),
)
# What a failed import reads (the file's refusal), and the reasons of refused rows.
# Every refusal of a file, as stored (dispatch.audiences.refusals): the page shows each in words.
IMPORT_MESSAGES = tuple(refusals.note(code, **{key: "3" for key in re.findall(
    r"%\((\w+)\)s", text)}) for code, text in refusals.TEXTS.items())
ROW_REASONS = ("empty", "invalid number", "not a mobile number", "not a Vietnamese number",
               "contains letters")


def hooks() -> list[int]:
    """Webhooks in every state (enabled, failing, disabled by failures or by an admin), with
    attempts of every kind."""
    from dispatch.hooks import deliver, events, registry
    from dispatch.models import HookAttempt

    made: list[int] = []
    for n, state in enumerate(("ok", "failing", "failed", "admin")):
        # The first has the longest kind of address an admin pastes (one unbroken token).
        url = (f"http://10.0.0.{n}/loa" if n else "https://ung-dung.haugiang.gov.vn/api/v2/"
               "thong-bao/loa-webhook/nhan-su-kien?khoa=" + "a1b2c3d4e5f6" * 25)
        hook, _ = registry.create({"name": f"Hệ thống {n + 1}", "url": url,
                                   "events": list(events.EVENTS)}, actor=None)
        kinds = [*events.EVENTS, events.TEST]
        for i, kind in enumerate(kinds):
            d = deliver.new_delivery(hook, kind, [{"id": str(i), "data": {}}])
            d.status = ("delivered", "pending", "failed")[i % 3]
            db.session.flush()
            for code, error in ((200, None), (500, "http_500"), (None, "timeout"),
                                (302, "redirect_302")):
                db.session.add(HookAttempt(delivery_id=d.id, hook_id=hook.id, at=T0,
                                           status_code=code, error=error, duration_ms=120,
                                           next_attempt_at=T0 if error else None))
        if state == "failing":
            hook.failing_since = T0
        if state == "failed":
            registry.disable(hook, registry.failing_reason(T0, "http_503"), at=T0)
        if state == "admin":
            registry.disable(hook, registry.BY_ADMIN, at=T0)
        made.append(hook.id)
    db.session.commit()
    return made


def build(people: dict[str, Any], redis: Any) -> dict[str, list[Any]]:
    editor, approver = people["editor"], people["approver"]
    lst = helpers.contact_list(numbers=3)
    ids: dict[str, list[Any]] = {"campaign_id": [], "import_id": [], "list_id": [lst.id],
                                 "user_id": [p.id for p in people.values()],
                                 "account_id": [], "opt_out_id": []}
    campaigns = ids["campaign_id"]
    # Through the services: a draft, one awaiting approval, one approved (with their audit).
    campaigns.append(helpers.campaign(editor, lst).id)
    campaigns.append(helpers.submitted(editor, lst).id)
    campaigns.append(helpers.approved(editor, approver, lst).id)
    # Every other state, written directly.
    for status in (S.REJECTED, S.SCHEDULED, S.SENDING, S.CANCELLED):
        c = campaign(people, "Chiến dịch tuyên truyền", status=status, launched=T0,
                     send_at=T0 + timedelta(days=1),
                     rejection_reason="Sai số liệu" if status is S.REJECTED else None)
        campaigns.append(c.id)
    for reason in PAUSE_REASONS:
        c = campaign(people, "Chiến dịch tạm dừng", status=S.PAUSED, launched=T0,
                     pause_reason=reason)
        campaigns.append(c.id)
    for mode, note in PUSH_NOTES:
        c = campaign(people, "Thông báo ứng dụng", status=S.COMPLETED, launched=T0,
                     channels="push", push_mode=mode, push_mode_reason=note,
                     finished_at=T0 + timedelta(hours=1))
        campaigns.append(c.id)
    blocked = campaign(people, "Thông báo bị chặn", status=S.SENDING, launched=T0,
                       channels="push",
                       push_blocked="FCM refused the service account (401): invalid_grant")
    campaigns.append(blocked.id)

    accounts = []
    for n, state in enumerate(BIND_STATES):
        account = SmppAccount(name=f"viettel-{n + 1}", host="127.0.0.1", port=2775 + n,
                              system_id="loa", password_encrypted="x", operators=["viettel"])
        db.session.add(account)
        accounts.append((account, state))
    db.session.flush()
    ids["account_id"] = [a.id for a, _ in accounts]
    done = campaign(people, "Thông báo Đại hội đại biểu Đảng bộ tỉnh", status=S.COMPLETED,
                    launched=T0 - timedelta(minutes=1), tag="trong-dai-hoi",
                    finished_at=T0 + timedelta(hours=2))
    ledger = Ledger(done, account=accounts[0][0].id)
    fill_main(ledger)
    for code in MESSAGE_REASONS:  # every reason code, on a failed row
        ledger.sms("viettel", MS.FAILED, reason=code, error_code="0x00000045", finished=60)
    ledger.sms("viettel", MS.FAILED, reason="ESME_RINVNUMDESTS", finished=60)  # no words
    campaigns.append(done.id)
    # A survey with answers, replaced and over-limit ones, free text: its report's results.
    campaigns.append(surveys.survey_campaign(people).id)

    for message in IMPORT_MESSAGES:
        db.session.add(ContactImport(list_id=lst.id, filename="danh-sach.csv", status="failed",
                                     message=message, created_by_id=editor.id,
                                     finished_at=T0))
    errors = [{"line": i + 2, "column": "phone", "value": "09x", "reason": reason}
              for i, reason in enumerate(ROW_REASONS)]
    db.session.add(ContactImport(list_id=lst.id, filename="danh-sach.csv", status="completed",
                                 total_rows=9, imported_rows=4, error_rows=len(errors),
                                 errors=errors, created_by_id=editor.id, finished_at=T0))
    db.session.add(OptOut(channel="sms", address="+84912345678", source="staff",
                          reason="Yêu cầu qua điện thoại"))
    for n, action in enumerate(EVENTS):
        reason = (notes.note(notes.VOIDED, what="approval", status="approved")
                  if action == "campaign.void" else "Theo chỉ đạo của Ban Tuyên giáo")
        db.session.add(AuditEvent(actor_id=editor.id, action=action, entity="campaign",
                                  entity_id=str(done.id), reason=reason,
                                  details={"export": "ledger", "format": "csv"},
                                  at=T0 + timedelta(minutes=n)))
    db.session.commit()
    ids["import_id"] = [i.id for i in db.session.query(ContactImport).all()]
    ids["opt_out_id"] = [o.id for o in db.session.query(OptOut).all()]
    plan = plans.congress()
    ids["plan_id"] = [plan.id]
    ids["phase_id"] = [phase.id for phase in plan.phases]
    ids["hook_id"] = hooks()

    now = datetime.now(UTC)
    rows = []
    for account, state in accounts:
        rows.append({"name": "b1", "bind_mode": "transceiver", "state": state,
                     "since": now.isoformat(), "detail": None, "in_flight": 0, "queued": 0,
                     "sent": 0, "accepted": 0, "errors": 0, "throttled": 0, "receipts": 0,
                     "inbound": 0, "binds": 1, "account_id": account.id,
                     "account": account.name, "process": bind_status.process_name(),
                     "updated_at": now.isoformat()})
    for data in rows:
        key = f"{bind_status.PREFIX}{data['account_id']}:{data['process']}:{data['name']}"
        redis.set(key, json.dumps(data), ex=600)
    ids["reply_id"] = [r.id for r in inbox(people, done.id)]
    return ids


def inbox(people: dict[str, Any], campaign_id: int | None = None) -> list[Any]:
    """Replies of every kind and state, labelled, assigned and annotated, for the inbox pages."""
    from dispatch.models import Campaign
    from tests.helpers import replies

    tags = replies.labels()
    tags["Khác"].active = False  # a deactivated label, still on a reply
    c = db.session.get(Campaign, campaign_id) if campaign_id else replies.survey(
        people["editor"])
    texts = {
        "answer": "Đồng ý",
        "free": ("Tôi đề nghị dự thảo văn kiện bổ sung nội dung về phát triển kinh tế nông "
                 "nghiệp gắn với chuyển đổi số ở các xã vùng sâu, vùng xa của tỉnh."),
        "opt_out": "HUY",
        "unattributed": "Cho hỏi lịch tiếp công dân tháng này?",
        "stranger": "Ai nhắn tin cho tôi vậy?",
    }
    made = []
    for n, (kind, text) in enumerate(texts.items()):
        attributed = kind in ("answer", "free", "opt_out")
        made.append(replies.reply(
            text, kind=kind, campaign=c if attributed else None,
            msisdn=f"+8491234{n:04d}", operator=("viettel", "vinaphone", "mobifone")[n % 3],
            locality=("vi-thanh", "nga-bay", None)[n % 3],
            at=replies.NOON + timedelta(minutes=n),
            label_id=list(tags.values())[n % 4].id if n % 2 == 0 else None,
            state="handled" if n == 1 else "new",
            handled_by_id=people["editor"].id if n == 1 else None,
            handled_at=replies.NOON + timedelta(hours=1) if n == 1 else None,
            assigned_to_id=people["editor2"].id if n in (1, 2) else None,
            note="Đã chuyển Phòng Kinh tế xem xét" if n == 1 else None))
    made.append(replies.reply("Cảm ơn Sở", msisdn=None, locality=None, operator=None,
                              campaign=c, kind="free", device_id=7))
    db.session.commit()
    return made
