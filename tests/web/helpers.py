"""Data for the page tests, made through the services the pages call."""

from __future__ import annotations

from typing import Any

from dispatch.campaigns import service
from dispatch.extensions import db
from dispatch.models import Campaign, Contact, ContactList, ListMember, User

SMS_TEXT = "Kính mời cử tri theo dõi Đại hội đại biểu Đảng bộ tỉnh."


def contact_list(name: str = "Cử tri Vị Thanh", numbers: int = 3,
                 operator: str = "viettel") -> ContactList:
    lst = ContactList(name=name)
    db.session.add(lst)
    db.session.flush()
    for i in range(numbers):
        contact = Contact(msisdn=f"+8491234{i:04d}", operator=operator)
        db.session.add(contact)
        db.session.flush()
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    db.session.commit()
    return lst


def campaign(author: User, lst: ContactList, **over: Any) -> Campaign:
    data: dict[str, Any] = {"title": "Thông báo Đại hội", "channels": "sms", "sms_text": SMS_TEXT,
                            "sms_sender": "HAUGIANG", "audience": {"lists": [lst.id]}}
    c = service.create(data | over, actor=author)
    db.session.commit()
    return c


def submitted(author: User, lst: ContactList, **over: Any) -> Campaign:
    c = campaign(author, lst, **over)
    service.submit(c, actor=author)
    db.session.commit()
    return c


def approved(author: User, approver: User, lst: ContactList, **over: Any) -> Campaign:
    c = submitted(author, lst, **over)
    service.approve(c, actor=approver, snapshot_hash=c.snapshot_hash or "")
    db.session.commit()
    return c
