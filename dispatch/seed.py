"""Data every installation starts with; idempotent, safe to run after every upgrade."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Locality, Phase, Plan, Setting

# The congress plan of seed/ke-hoach-truyen-thong-dai-hoi-xv.txt (Sở Thông tin và Truyền thông
# Hậu Giang). Its reference (số/ký hiệu) is not in the text; its work starts in September 2024.
# The plan names the first phase's end (end of Q2/2025) but not the congress's own days:
# `seed_plan` is given the opening day.
CONGRESS_PLAN = {
    "reference": None,
    "title": "Kế hoạch truyền thông Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XV, "
             "nhiệm kỳ 2025 - 2030",
    "starts_on": date(2024, 9, 1),
    "description": "Tuyên truyền, vận động cán bộ, đảng viên và các tầng lớp nhân dân trong "
                   "tỉnh hiểu rõ mục đích, ý nghĩa, tầm quan trọng của Đại hội; tạo sự thống "
                   "nhất, đồng thuận, tổ chức thành công Đại hội và đưa Nghị quyết Đại hội đi "
                   "vào cuộc sống. Các đơn vị gửi báo cáo kết quả thông tin, tuyên truyền về Sở "
                   "chậm nhất 03 ngày sau khi kết thúc Đại hội.",
}
CONGRESS_PHASES = (
    ("Đợt 1: Trước Đại hội",
     "Tuyên truyền 95 năm lịch sử vẻ vang của Đảng, mục đích, ý nghĩa Đại hội; thành tựu nổi "
     "bật của nhiệm kỳ; nội dung các dự thảo văn kiện và việc lấy ý kiến đóng góp; công tác "
     "chuẩn bị Đại hội; các phong trào thi đua chào mừng Đại hội. Trong 01 tuần trước khai "
     "mạc: tập trung vào các dự thảo văn kiện, thành tựu 5 năm, công tác chuẩn bị và Quy chế "
     "bầu cử."),
    ("Đợt 2: Trong thời gian diễn ra Đại hội",
     "Ý nghĩa, tầm quan trọng, chủ đề, phương châm Đại hội; trách nhiệm của đại biểu; Quy chế "
     "bầu cử trong Đảng; các hoạt động, văn kiện, tham luận và quyết định của Đại hội; kết quả "
     "bầu cử; không khí dân chủ và sự đồng thuận đối với Đại hội."),
    ("Đợt 3: Sau khi kết thúc Đại hội",
     "Chào mừng thành công Đại hội; thông báo nhanh kết quả Đại hội; Nghị quyết Đại hội và "
     "việc quán triệt, triển khai thực hiện; các phong trào thi đua thực hiện Nghị quyết; dư "
     "luận tích cực; đấu tranh phản bác các quan điểm sai trái, thù địch."),
)
CONGRESS_DAYS = 3
AFTER_DAYS = 30


def seed_plan(opens: date) -> Plan:
    """The congress plan with its three phases, the congress opening on `opens`.

    Phase 1 runs from the plan's start to the eve of the congress, phase 2 over its
    `CONGRESS_DAYS`, phase 3 the `AFTER_DAYS` after. Returns the plan if it exists already.
    """
    found = db.session.scalar(select(Plan).where(Plan.title == CONGRESS_PLAN["title"]))
    if found is not None:
        return found
    closes = opens + timedelta(days=CONGRESS_DAYS - 1)
    ranges = [(min(CONGRESS_PLAN["starts_on"], opens - timedelta(days=1)),  # type: ignore[type-var]
               opens - timedelta(days=1)),
              (opens, closes), (closes + timedelta(days=1), closes + timedelta(days=AFTER_DAYS))]
    plan = Plan(**{**CONGRESS_PLAN, "starts_on": ranges[0][0], "ends_on": ranges[-1][1]})
    db.session.add(plan)
    for (name, purpose), (starts, ends) in zip(CONGRESS_PHASES, ranges, strict=True):
        plan.phases.append(Phase(name=name, purpose=purpose, starts_on=starts, ends_on=ends))
    db.session.flush()
    return plan

# District level of Hậu Giang as of 2024. Localities are data the department edits: the province
# merged into Cần Thơ city on 1 July 2025 and districts were abolished, so these are a start only.
DISTRICTS = [
    ("vi-thanh", "Thành phố Vị Thanh", "city"),
    ("nga-bay", "Thành phố Ngã Bảy", "city"),
    ("long-my-tx", "Thị xã Long Mỹ", "town"),
    ("chau-thanh", "Huyện Châu Thành", "district"),
    ("chau-thanh-a", "Huyện Châu Thành A", "district"),
    ("long-my", "Huyện Long Mỹ", "district"),
    ("phung-hiep", "Huyện Phụng Hiệp", "district"),
    ("vi-thuy", "Huyện Vị Thủy", "district"),
]

DEFAULT_SETTINGS: dict[str, object] = {
    # VND per SMS part, by operator; admins set the contracted prices.
    "sms_price_per_part": {
        "viettel": 800, "vinaphone": 800, "mobifone": 800, "vietnamobile": 800,
        "gmobile": 800, "itelecom": 800, "other": 800,
    },
    "send_window": {"start": "07:00", "end": "22:00"},
    # At most this many campaigns per number per 24 h across all campaigns (Decree 91/2020).
    "recipient_cap": {"max_campaigns": 3, "hours": 24},
    "opt_out_keywords": ["TC", "HUY", "STOP", "TUCHOI"],
}


def seed_defaults() -> None:
    """Insert what is missing; never overwrite what the department changed."""
    have_places = set(db.session.scalars(select(Locality.code)))
    for code, name, kind in DISTRICTS:
        if code not in have_places:
            db.session.add(Locality(code=code, name=name, kind=kind))
    have_settings = set(db.session.scalars(select(Setting.key)))
    for key, value in DEFAULT_SETTINGS.items():
        if key not in have_settings:
            db.session.add(Setting(key=key, value=value))
    db.session.commit()
