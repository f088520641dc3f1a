"""Demo data for a newcomer's first run (`flask demo seed`, called by scripts/run).

Creates an editor and an approver, the congress plan with its three phases (the congress opening
a week after the demo is seeded), a contact list imported from a generated CSV (with a few bad
rows, so the import report has something to show), app devices spread over the districts, a
campaign for SMS and push of phase 1 that the editor drafted and the approver approved — ready to
launch — a draft of phase 2 scheduled for the congress's opening morning, and a survey of phase 1
on the draft congress documents, approved and launched, so that its results page fills in.
Everything goes through the same services the API uses. Refuses to run twice.

The survey's answers come from the people's side: `answer_survey` (`flask demo answers`, the
`demo` process of scripts/Procfile.standins) waits until the survey's SMS have left, then asks
the SMSC stand-in, on its control port, to answer from the numbers it received them on; the
answers arrive as MO through the smpp process like any citizen's.
"""

from __future__ import annotations

import io
import json
import random
import time as clock
import urllib.request
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from dispatch.access import users
from dispatch.audiences.contacts import create_list, find_list
from dispatch.audiences.importer import import_file
from dispatch.campaigns import service as campaigns
from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, Locality, Message, MessageStatus, SmppAccount
from dispatch.models.ledger import UNSENT
from dispatch.models.replies import Reply
from dispatch.push import devices as app_devices
from dispatch.seed import seed_plan

LIST_NAME = "Demo — Vị Thanh"
TITLE = "Demo: Chào mừng Đại hội Đảng bộ tỉnh lần thứ XV"
OPENING_TITLE = "Demo: Khai mạc Đại hội"
OPENING_TEXT = ("Hôm nay khai mạc Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XV, nhiệm kỳ "
                "2025-2030. Kính mời quý vị theo dõi trực tiếp trên ứng dụng Hậu Giang.")
CONGRESS_IN_DAYS = 7
TEXT = ("Chào mừng Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XV, nhiệm kỳ 2025-2030. "
        "Mời quý vị theo dõi tin tức Đại hội trên ứng dụng Hậu Giang.")
SURVEY_TITLE = "Demo: Lấy ý kiến dự thảo văn kiện Đại hội"
SURVEY_TEXT = ("Tỉnh Hậu Giang lấy ý kiến nhân dân góp ý dự thảo văn kiện Đại hội Đảng bộ tỉnh lần "
               "thứ XV (toàn văn trên ứng dụng Hậu Giang).")
SURVEY = {"question": "Ông/bà có đồng ý với định hướng phát triển của dự thảo?",
          "choices": [{"key": "1", "label": "Đồng ý", "keywords": ["dong y"]},
                      {"key": "2", "label": "Không đồng ý", "keywords": ["khong dong y"]},
                      {"key": "3", "label": "Ý kiến khác", "keywords": ["khac"]}]}
SURVEY_ACK = "Cam on ong/ba da gop y du thao van kien Dai hoi."
# How the demo's people answer (the stand-in's mix: "free" is a free-text reply, the rest stay
# silent). No opt-out among them: the demo's first campaign, launched later, reaches them all.
MIX = {"1": 0.4, "2": 0.12, "3": 0.08, "free": 0.08}
# Ledger statuses that mean an SMS left for the stand-in (dispatch.replies.attribute.REACHED).
LEFT = (MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.PARTIAL)
# Prefixes of the operators' ranges, so routing and the per-operator preview have variety.
PREFIXES = ["096", "097", "098", "086", "091", "094", "088", "090", "093", "070", "092", "056",
            "099"]


def _csv(rows: int, seed: int = 15) -> bytes:
    rng = random.Random(seed)
    places = [code for (code,) in db.session.execute(select(Locality.code))]
    lines = ["so_dien_thoai;ho_ten;locality"]
    for i in range(rows):
        number = f"{rng.choice(PREFIXES)}{rng.randrange(10**7):07d}"
        lines.append(f"{number};Người dân {i + 1};{rng.choice(places)}")
    # A few of the mistakes real files have: a landline, a short number, a letter in a number
    # (refused), an unknown place (imported without one, listed as a warning).
    lines += ["0293 3870 123;Cơ quan;vi-thanh", "09123;Thiếu số;vi-thanh",
              "0912 34S 670;Gõ nhầm;vi-thanh", "0912345670;Sai địa bàn;ha-noi"]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def seed(contacts: int = 300, devices: int = 60) -> dict[str, Any]:
    """Create the demo data; returns what was made (passwords are one-time)."""
    if find_list(LIST_NAME) is not None:
        raise RuntimeError("The demo data exists already.")
    editor, editor_pw = users.create_user("bientap", ["editor"], actor=None,
                                          full_name="Nguyễn Thị Lan (biên tập)")
    approver, approver_pw = users.create_user("pheduyet", ["approver"], actor=None,
                                              full_name="Trần Văn Minh (phê duyệt)")
    db.session.commit()
    demo_list = create_list(LIST_NAME, actor=editor, description="Dữ liệu mẫu để trình diễn")
    db.session.commit()
    record = import_file(io.BytesIO(_csv(contacts)), "demo.csv", demo_list, actor=editor)
    places = [code for (code,) in db.session.execute(select(Locality.code))]
    rng = random.Random(7)
    for i in range(devices):
        app_devices.register(f"demo-install-{i:04d}", {
            "fcm_token": f"demo-{i:04d}-" + "x" * 140, "platform": rng.choice(["android", "ios"]),
            "locality": rng.choice(places), "topics": ["all"]})
    db.session.commit()
    today = datetime.now(local_zone()).date()
    plan = seed_plan(today + timedelta(days=CONGRESS_IN_DAYS))
    db.session.commit()
    before, during = plan.phases[0], plan.phases[1]
    c = campaigns.create({
        "title": TITLE, "phase_id": before.id, "decision_ref": "Demo",
        "channels": "both", "sms_sender": "HAUGIANG", "sms_text": TEXT, "sms_plain": True,
        "push_title": "Chào mừng Đại hội", "push_body": TEXT,
        "audience": {"lists": [demo_list.id], "localities": places},
        "window_start": time(0, 0), "window_end": time(23, 59),
    }, actor=editor)
    db.session.commit()
    campaigns.submit(c, actor=editor)
    db.session.commit()
    campaigns.freeze_audience(c)  # the freeze job's step, here at once: a demo's few contacts
    db.session.commit()
    campaigns.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
    db.session.commit()
    assert during.starts_on is not None
    opening = campaigns.create({
        "title": OPENING_TITLE, "phase_id": during.id, "channels": "sms",
        "sms_sender": "HAUGIANG", "sms_text": OPENING_TEXT, "sms_plain": True,
        "audience": {"lists": [demo_list.id]},
        "send_at": datetime.combine(during.starts_on, time(7, 30), local_zone()),
    }, actor=editor)
    db.session.commit()
    asked = _survey(before.id, demo_list.id, places, editor=editor, approver=approver)
    return {"editor": ("bientap", editor_pw), "approver": ("pheduyet", approver_pw),
            "list_id": demo_list.id, "import": record, "campaign_id": c.id,
            "plan_id": plan.id, "draft_id": opening.id, "survey_id": asked.id}


def _survey(phase_id: int, list_id: int, places: list[str], *, editor: Any,
            approver: Any) -> Campaign:
    """The survey of phase 1, approved and launched: it goes out as soon as the worker and the
    smpp process run (the expansion is enqueued once this commits)."""
    c = campaigns.create({
        "title": SURVEY_TITLE, "phase_id": phase_id, "decision_ref": "Demo",
        "channels": "sms", "sms_sender": "HAUGIANG", "sms_text": SURVEY_TEXT, "sms_plain": True,
        "audience": {"lists": [list_id], "localities": places},
        "reply_mode": "survey", "survey": SURVEY, "reply_days": 7, "reply_ack": SURVEY_ACK,
        "window_start": time(0, 0), "window_end": time(23, 59),
    }, actor=editor)
    db.session.commit()
    campaigns.submit(c, actor=editor)
    db.session.commit()
    campaigns.freeze_audience(c)  # the freeze job's step, here at once: a demo's few contacts
    db.session.commit()
    campaigns.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
    db.session.commit()
    campaigns.launch(c, actor=approver)
    db.session.commit()
    return c


class NotAnswered(RuntimeError):
    """Why the stand-in was not asked to answer the demo survey (said once, in one line)."""


class AlreadyAnswered(NotAnswered):
    """The demo survey has its answers (a second run of scripts/run): nothing to do."""


def survey_campaign() -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.title == SURVEY_TITLE))


def answer_survey(control: str, *, mix: dict[str, float] | None = None, timeout: float = 120,
                  poll: float = 1.0) -> tuple[Campaign, int, dict[str, int]]:
    """Have the SMSC stand-in at `control` (its HTTP control, e.g. http://127.0.0.1:2776) answer
    the demo survey from the numbers it was sent to, once its SMS have all left; returns the
    campaign, how many numbers were asked and how many of them sent each entry of the mix.
    Raises NotAnswered when there is no demo survey, it has replies already (a second run), or
    it was not sent within `timeout` seconds."""
    c = survey_campaign()
    if c is None:
        raise NotAnswered("There is no demo survey (flask demo seed makes one).")
    if db.session.scalar(select(Reply.id).where(Reply.campaign_id == c.id).limit(1)):
        raise AlreadyAnswered(f"The demo survey (campaign {c.id}) has its answers already.")
    deadline = clock.monotonic() + timeout
    while True:
        db.session.rollback()  # a fresh look at what the worker and the smpp process wrote
        left = _left(c.id)
        if c.expanded_at is not None and left and not _unsent(c.id):
            break
        if clock.monotonic() > deadline:
            raise NotAnswered(f"The demo survey (campaign {c.id}) was not sent within "
                              f"{timeout:.0f} s: are the worker and the smpp process running?")
        clock.sleep(poll)
    sent: dict[str, int] = {}
    for system_id, numbers in sorted(left.items()):
        body = {"account": system_id, "mix": mix or MIX, "of": numbers, "seed": 15}
        request = urllib.request.Request(
            control.rstrip("/") + "/mo/answers", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answered = json.loads(response.read())["sent"]
        except OSError as exc:
            raise NotAnswered(f"The SMSC stand-in at {control} did not answer: {exc}") from exc
        for entry, n in answered.items():
            sent[entry] = sent.get(entry, 0) + int(n)
    return c, sum(len(numbers) for numbers in left.values()), sent


def _left(campaign_id: int) -> dict[str, list[str]]:
    """The numbers the campaign's SMS left for, by the SMPP account's system_id."""
    rows = db.session.execute(
        select(SmppAccount.system_id, Message.address)
        .join(SmppAccount, SmppAccount.id == Message.account_id)
        .where(Message.campaign_id == campaign_id, Message.channel == "sms",
               Message.status.in_(LEFT)).order_by(Message.id))
    found: dict[str, list[str]] = {}
    for system_id, address in rows:
        if address:
            found.setdefault(system_id, []).append(address)
    return found


def _unsent(campaign_id: int) -> int:
    return int(db.session.scalar(
        select(func.count()).select_from(Message)
        .where(Message.campaign_id == campaign_id, Message.channel == "sms",
               Message.status.in_(UNSENT))) or 0)


def exists() -> bool:
    return db.session.scalar(select(Campaign.id).where(Campaign.title == TITLE)) is not None
