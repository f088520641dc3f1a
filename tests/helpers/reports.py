"""Ledger rows built directly: a completed campaign with a realistic mix, and a few others."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.extensions import db
from dispatch.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Device,
    Message,
    MessagePart,
    MessageStatus,
)

S = MessageStatus


T0 = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội / Hậu Giang


NAME = "Nguyễn Thị Ánh Hồng"


FORMULA_NAME = '=HYPERLINK("http://x","y")'


def at(seconds: float | None) -> datetime | None:
    return None if seconds is None else T0 + timedelta(seconds=seconds)


def campaign(people: dict[str, Any], title: str, *, status: CampaignStatus,
             launched: datetime | None, tag: str | None = None, channels: str = "both",
             send_at: datetime | None = None, **extra: Any) -> Campaign:
    from tests.helpers.plans import phase_id

    c = Campaign(title=title, channels=channels, phase_id=phase_id(tag) if tag else None,
                 status=status,
                 created_by_id=people["editor"].id, launched_at=launched, send_at=send_at,
                 sms_text="Kính mời", sms_sender="HAUGIANG", **extra)
    db.session.add(c)
    db.session.flush()
    return c


@dataclass
class Ledger:
    """Writes ledger rows for one campaign, with a contact or device behind each."""

    campaign: Campaign
    account: int | None = None
    n: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def sms(self, operator: str, status: MessageStatus, *, parts: int = 1,
            reason: str | None = None, error_code: str | None = None,
            submitted: float | None = None, finished: float | None = None,
            name: str | None = None, smsc: list[tuple[str, MessageStatus]] | None = None,
            label: str | None = None, count: int = 1) -> None:
        for _ in range(count):
            self.n += 1
            contact = Contact(msisdn=f"+849{self.campaign.id:02d}{self.n:06d}", operator=operator,
                              name=name)
            db.session.add(contact)
            db.session.flush()
            self._row("sms", contact.id, contact.msisdn, operator, status, parts, reason,
                      error_code, submitted, finished, smsc, label)

    def push(self, status: MessageStatus, *, reason: str | None = None,
             submitted: float | None = None, finished: float | None = None,
             fcm_id: str | None = None, count: int = 1) -> None:
        for _ in range(count):
            self.n += 1
            device = Device(installation_id=f"inst-{self.campaign.id}-{self.n}",
                            fcm_token=f"SECRET-TOKEN-{self.campaign.id}-{self.n}",
                            platform="android")
            db.session.add(device)
            db.session.flush()
            smsc = [(fcm_id, S.SUBMITTED)] if fcm_id else None
            self._row("push", device.id, None, None, status, 1, reason, None, submitted,
                      finished, smsc, None)

    def _row(self, channel: str, recipient: int, address: str | None, operator: str | None,
             status: MessageStatus, parts: int, reason: str | None, error_code: str | None,
             submitted: float | None, finished: float | None,
             smsc: list[tuple[str, MessageStatus]] | None, label: str | None) -> None:
        tried = status not in (S.SUPPRESSED, S.PENDING, S.QUEUED, S.CANCELLED) and not (
            status is S.EXPIRED and submitted is None)
        if status is S.SUPPRESSED:
            finished = finished if finished is not None else -600
        m = Message(campaign_id=self.campaign.id, channel=channel, recipient_id=recipient,
                    address=address, status=status, reason=reason, error_code=error_code,
                    operator=operator, account_id=self.account if channel == "sms" else None,
                    parts=parts, attempts=1 if tried else 0, created_at=at(-600),
                    queued_at=None if status is S.SUPPRESSED else at(-300),
                    sending_at=at(submitted) if submitted is not None else None,
                    submitted_at=at(submitted), finished_at=at(finished))
        db.session.add(m)
        db.session.flush()
        for no, (smsc_id, part_status) in enumerate(smsc or [], start=1):
            db.session.add(MessagePart(message_id=m.id, part_no=no, account_id=self.account,
                                       smsc_id=smsc_id, status=part_status,
                                       submitted_at=at(submitted)))
        if label:
            self.ids[label] = m.id


def fill_main(ledger: Ledger) -> None:
    """The main completed campaign: see the module tests for the numbers this must give."""
    L = ledger
    # viettel: 13 rows
    for i, (sub, fin) in enumerate([(0, 30), (10, 40), (70, 130), (75, 200)]):
        L.sms("viettel", S.DELIVERED, submitted=sub, finished=fin,
              name=NAME if i == 0 else None, smsc=[(f"V{i}", S.DELIVERED)],
              label="named" if i == 0 else None)
    L.sms("viettel", S.DELIVERED, parts=2, submitted=5, finished=65, label="multipart",
          smsc=[("A1", S.DELIVERED), ("A2", S.DELIVERED)])
    L.sms("viettel", S.PARTIAL, parts=3, submitted=6, finished=66, name=FORMULA_NAME,
          label="partial",
          smsc=[("B1", S.DELIVERED), ("B2", S.DELIVERED), ("B3", S.FAILED)])
    L.sms("viettel", S.FAILED, reason="ESME_RINVDSTADR", error_code="0x0000000B",
          submitted=None, finished=8, label="refused")
    L.sms("viettel", S.FAILED, reason="UNDELIV", error_code="001", submitted=9, finished=130,
          smsc=[("C1", S.FAILED)])
    L.sms("viettel", S.UNKNOWN, reason="no_receipt", submitted=12, finished=7200,
          smsc=[("D1", S.SUBMITTED)])
    L.sms("viettel", S.EXPIRED, reason="EXPIRED", submitted=15, finished=1000,
          smsc=[("E1", S.EXPIRED)])
    L.sms("viettel", S.SUPPRESSED, reason="opt_out", count=2)
    L.sms("viettel", S.SUPPRESSED, reason="invalid_number")
    # vinaphone: 5 rows
    L.sms("vinaphone", S.DELIVERED, submitted=20, finished=50, smsc=[("F1", S.DELIVERED)])
    L.sms("vinaphone", S.DELIVERED, submitted=80, finished=140, smsc=[("F2", S.DELIVERED)])
    L.sms("vinaphone", S.SUBMITTED, submitted=25, smsc=[("F3", S.SUBMITTED)])
    L.sms("vinaphone", S.SUPPRESSED, reason="recipient_cap")
    L.sms("vinaphone", S.EXPIRED, reason="validity_ended", finished=5000)
    # gmobile: no route
    L.sms("gmobile", S.SUPPRESSED, reason="no_route")
    # push: 6 rows
    L.push(S.SUBMITTED, submitted=3, fcm_id="projects/loa/messages/1", count=3)
    L.push(S.FAILED, reason="fcm_unregistered", finished=4)
    L.push(S.SUPPRESSED, reason="device_disabled")
    L.push(S.SUPPRESSED, reason="opt_out")
