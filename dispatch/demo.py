"""Demo data for a newcomer's first run (`flask demo seed`, called by scripts/run).

Creates an editor and an approver, the congress plan with its three phases (the congress opening
a week after the demo is seeded), a contact list imported from a generated CSV (with a few bad
rows, so the import report has something to show), app devices spread over the districts, a
campaign for SMS and push of phase 1 that the editor drafted and the approver approved — ready to
launch — and a draft of phase 2 scheduled for the congress's opening morning.
Everything goes through the same services the API uses. Refuses to run twice.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.access import users
from dispatch.audiences.contacts import create_list, find_list
from dispatch.audiences.importer import import_file
from dispatch.campaigns import service as campaigns
from dispatch.config import local_zone
from dispatch.extensions import db
from dispatch.models import Campaign, Locality
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
    return {"editor": ("bientap", editor_pw), "approver": ("pheduyet", approver_pw),
            "list_id": demo_list.id, "import": record, "campaign_id": c.id,
            "plan_id": plan.id, "draft_id": opening.id}


def exists() -> bool:
    return db.session.scalar(select(Campaign.id).where(Campaign.title == TITLE)) is not None
