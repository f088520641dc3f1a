"""Data the security tests share: a little of everything, made through the services."""

from __future__ import annotations

from typing import Any

from dispatch.extensions import db


def sample_data() -> dict[str, Any]:
    """Lists, contacts, campaigns in several states, an SMPP account, an app key, devices."""
    from dispatch.campaigns import service
    from dispatch.models import Contact, ContactList, Device, ListMember
    from dispatch.push import devices as app_devices
    from dispatch.sms import accounts as smpp_accounts
    from tests.helpers.engine import submit
    from tests.helpers.factories import make_user

    editor = make_user("seed-editor", ["editor"])
    approver = make_user("seed-approver", ["approver"])
    lst = ContactList(name="Cử tri Vị Thanh")
    db.session.add(lst)
    db.session.flush()
    for i in range(3):
        contact = Contact(msisdn=f"+8491234{i:04d}", operator="viettel")
        db.session.add(contact)
        db.session.flush()
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    db.session.add(Device(installation_id="install-1", fcm_token="tok-1", platform="android",
                          topics=[]))
    account = smpp_accounts.create({
        "name": "viettel", "host": "127.0.0.1", "port": 2775, "system_id": "loa",
        "password": "smpp-pw1", "tps": 50, "window": 10, "operators": ["viettel"],
        "brandnames": ["HAUGIANG"], "is_default": True}, actor=None)
    key, key_secret = app_devices.create_key("province app")
    db.session.commit()
    data: dict[str, Any] = {"title": "Thông báo", "channels": "sms",
                            "sms_text": "Kính mời cử tri {name} {{ 7*7 }}",
                            "sms_sender": "HAUGIANG", "audience": {"lists": [lst.id]}}
    draft = service.create(data, actor=editor)
    submitted = service.create(data | {"title": "Chờ duyệt"}, actor=editor)
    db.session.commit()
    submit(submitted, actor=editor)
    approved = service.create(data | {"title": "Đã duyệt"}, actor=editor)
    db.session.commit()
    submit(approved, actor=editor)
    service.approve(approved, actor=approver, snapshot_hash=approved.snapshot_hash or "")
    db.session.commit()
    return {"list": lst, "account": account, "app_key": key, "app_key_secret": key_secret,
            "draft": draft, "submitted": submitted, "approved": approved,
            "editor": editor, "approver": approver}
