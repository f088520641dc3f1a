"""The report tests' finished campaign, its ledger built row by row (tests/helpers/reports.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dispatch.extensions import db
from dispatch.models import (
    CampaignStatus,
    SmppAccount,
)
from tests.helpers.reports import T0, Ledger, campaign, fill_main


@pytest.fixture()
def main_campaign(app: Any, people: dict[str, Any]) -> Ledger:
    account = SmppAccount(name="viettel-1", host="127.0.0.1", port=2775, system_id="loa",
                          password_encrypted="ENCRYPTED-PASSWORD", operators=["viettel"])
    db.session.add(account)
    db.session.flush()
    c = campaign(people, "Thông báo Đại hội đại biểu Đảng bộ tỉnh",
                 status=CampaignStatus.COMPLETED, launched=T0 - timedelta(minutes=1),
                 tag="trong-dai-hoi", finished_at=T0 + timedelta(hours=2),
                 expansion={"duplicates_across_lists": 4, "excluded": 2, "queued": 20})
    ledger = Ledger(c, account=account.id)
    fill_main(ledger)
    db.session.commit()
    return ledger
