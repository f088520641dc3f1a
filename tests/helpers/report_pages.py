"""The report pages' campaign (tests/helpers/reports.py's ledger) and readers of their tables."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, Contact, Locality, Message, SmppAccount
from tests.helpers.reports import T0, Ledger, campaign, fill_main


def cells(html: str, table: str, row: str) -> list[str]:
    """The texts of the cells of row `row` in table `table` of a report page."""
    found = re.search(rf'<table[^>]*data-table="{table}"[^>]*>(.*?)</table>', html, re.S)
    assert found, table
    line = re.search(rf'<tr data-row="{re.escape(row)}">(.*?)</tr>', found.group(1), re.S)
    assert line, (table, row)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", line.group(1), re.S)]


def vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def count(cid: int | list[int], *where: Any) -> int:
    ids = cid if isinstance(cid, list) else [cid]
    return int(db.session.scalar(select(func.count()).select_from(Message)
                                 .where(Message.campaign_id.in_(ids), *where)) or 0)


def parts(cid: int | list[int], *where: Any) -> int:
    ids = cid if isinstance(cid, list) else [cid]
    return int(db.session.scalar(select(func.coalesce(func.sum(Message.parts), 0))
                                 .where(Message.campaign_id.in_(ids), *where)) or 0)


def finished_campaign(app: Any, people: dict[str, Any]) -> Campaign:
    """A finished campaign with every outcome, its recipients in two localities."""
    shutil.rmtree(Path(app.config["INSTANCE_PATH"]) / "reports", ignore_errors=True)
    account = SmppAccount(name="viettel-1", host="127.0.0.1", port=2775, system_id="loa",
                          password_encrypted="ENCRYPTED", operators=["viettel"])
    db.session.add(account)
    db.session.flush()
    c = campaign(people, "Thông báo Đại hội đại biểu Đảng bộ tỉnh",
                 status=CampaignStatus.COMPLETED, launched=T0 - timedelta(minutes=1),
                 tag="trong-dai-hoi", finished_at=T0 + timedelta(hours=2),
                 decision_ref="Kế hoạch số 45/KH-STTTT ngày 01/3/2025",
                 frozen_reach={"sms": {"recipients": 20, "cost_vnd": 16000},
                               "push": {"devices": 6}})
    fill_main(Ledger(c, account=account.id))
    # Where the recipients live: Viettel's in a commune of Vị Thanh, VinaPhone's in Ngã Bảy.
    vi_thanh = db.session.scalar(select(Locality).where(Locality.code == "vi-thanh"))
    nga_bay = db.session.scalar(select(Locality).where(Locality.code == "nga-bay"))
    assert vi_thanh is not None and nga_bay is not None
    commune = Locality(code="vi-thanh-p1", name="Phường I", kind="commune",
                       parent_id=vi_thanh.id)
    db.session.add(commune)
    db.session.flush()
    for operator, place in (("viettel", commune.id), ("vinaphone", nga_bay.id)):
        db.session.execute(update(Contact).where(Contact.operator == operator)
                           .values(locality_id=place))
    db.session.commit()
    return c
