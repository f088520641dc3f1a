"""Test data builders: users and tokens, the one SMPP-account builder, contacts and lists,
uploads through the API; and the JSON API caller.

Campaigns are built where their shape is decided: engine.py (launched through the services),
web.py (drafted, submitted, approved through the services), campaigns.py (the lifecycle through
the API), sms.py and push.py (rows in `sending` with queued messages), reports.py (a finished
ledger)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from rq import SimpleWorker
from werkzeug.test import TestResponse

from dispatch.access import users
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Contact, ContactList, ListMember, Locality, SmppAccount, User
from dispatch.sms import accounts as smpp_accounts
from scripts.smsc import Smsc

PASSWORD = "correct horse battery"
SMS_TEXT = "Kính mời cử tri theo dõi Đại hội đại biểu Đảng bộ tỉnh."
SMPP_SYSTEM_ID, SMPP_PASSWORD = "loa", "secret"  # the account the tests' SMSC stand-ins accept


def make_user(username: str, roles: list[str], *, password: str = PASSWORD) -> User:
    user, _ = users.create_user(username, roles, actor=None, password=password)
    db.session.commit()
    return user


def token_for(user: User) -> str:
    _, secret = users.create_token(user, "test")
    db.session.commit()
    return secret


class ApiClient:
    """Calls the API as one user (or anonymously) and returns the response."""

    def __init__(self, client: FlaskClient, user: User | None = None) -> None:
        self.client = client
        self.user = user
        self._token = token_for(user) if user is not None else None

    def as_(self, user: User) -> ApiClient:
        return ApiClient(self.client, user)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token:
            headers.setdefault("Authorization", f"Bearer {self._token}")
        return headers

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)


def upload_import(caller: Any, list_id: int, content: bytes, name: str = "contacts.csv",
                  *, expect: int = 202) -> TestResponse:
    """Upload a file for import through the API, run the job on a real RQ worker (burst), and
    answer GET /api/imports/<id> (or the refusal of the upload itself)."""
    import io

    from dispatch import jobs

    sent = caller.post(f"/api/lists/{list_id}/imports",
                       data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")
    assert sent.status_code == expect, sent.json
    if expect != 202:
        return sent
    assert sent.json["status"] == "queued", sent.json
    SimpleWorker([jobs.queue(q) for q in jobs.QUEUES], connection=get_redis()).work(burst=True)
    return caller.get(f"/api/imports/{sent.json['id']}")


def add_account(smsc: Smsc | None = None, **changes: Any) -> SmppAccount:
    """An SMPP account created through the service as an admin would, committed: pointed at the
    stand-in `smsc` when given (its system id and password), else at 127.0.0.1:2775, where
    nothing listens in the tests. By default named and routed for viettel (`operators` follows
    `name`), brandnames LOA and HAUGIANG, not the default route; `changes` override any field."""
    name = changes.get("name", "viettel")
    data: dict[str, Any] = {
        "name": name, "host": "127.0.0.1", "port": smsc.port if smsc else 2775,
        "system_id": SMPP_SYSTEM_ID, "password": SMPP_PASSWORD, "tps": 10_000, "window": 10,
        "is_default": False, "operators": [name], "brandnames": ["LOA", "HAUGIANG"]}
    account = smpp_accounts.create(data | changes, actor=None)
    db.session.commit()
    return account


def make_list(name: str, contacts: list[Contact] | None = None) -> ContactList:
    lst = ContactList(name=name)
    db.session.add(lst)
    db.session.flush()
    for contact in contacts or []:
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    db.session.commit()
    return lst


def make_contact(msisdn: str, operator: str = "viettel", *, override: str | None = None,
                 locality: str | None = None) -> Contact:
    loc_id = None
    if locality is not None:
        loc_id = db.session.scalar(db.select(Locality.id).where(Locality.code == locality))
    contact = Contact(msisdn=msisdn, operator=operator, operator_override=override,
                      locality_id=loc_id)
    db.session.add(contact)
    db.session.commit()
    return contact


def add_contacts(list_name: str, numbers: list[str], operator: str = "viettel",
                 **extra: Any) -> ContactList:
    """The numbers added to the list `list_name`; the list and each contact made if new."""
    lst = db.session.query(ContactList).filter_by(name=list_name).one_or_none()
    if lst is None:
        lst = ContactList(name=list_name)
        db.session.add(lst)
        db.session.flush()
    for number in numbers:
        contact = db.session.query(Contact).filter_by(msisdn=number).one_or_none()
        if contact is None:
            contact = Contact(msisdn=number, operator=operator, **extra)
            db.session.add(contact)
            db.session.flush()
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    db.session.commit()
    return lst


def contact_list(name: str = "Cử tri Vị Thanh", numbers: int = 3,
                 operator: str = "viettel") -> ContactList:
    """A list of `numbers` new contacts, +84912340000 onwards."""
    return make_list(name, [make_contact(f"+8491234{i:04d}", operator) for i in range(numbers)])
