"""Data every installation starts with; idempotent, safe to run after every upgrade."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Locality, PhaseTag, Setting

PHASE_TAGS = {
    "truoc-dai-hoi": "Trước Đại hội",
    "trong-dai-hoi": "Trong Đại hội",
    "sau-dai-hoi": "Sau Đại hội",
}

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
    have_tags = set(db.session.scalars(select(PhaseTag.name)))
    for name, description in PHASE_TAGS.items():
        if name not in have_tags:
            db.session.add(PhaseTag(name=name, description=description))
    have_places = set(db.session.scalars(select(Locality.code)))
    for code, name, kind in DISTRICTS:
        if code not in have_places:
            db.session.add(Locality(code=code, name=name, kind=kind))
    have_settings = set(db.session.scalars(select(Setting.key)))
    for key, value in DEFAULT_SETTINGS.items():
        if key not in have_settings:
            db.session.add(Setting(key=key, value=value))
    db.session.commit()
