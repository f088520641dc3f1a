"""Secrets stay secret: tokens hashed at rest; SMPP passwords and FCM keys never in logs, API
responses, pages, exports, Redis or the audit trail, through real flows (binds against the SMSC
stand-in, pushes against the FCM stand-in, a refused bind and a refused service account)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.engine import enqueue
from dispatch.extensions import db
from dispatch.jobs import keys
from dispatch.models import ApiToken, AppKey, AuditEvent, SmppAccount, User
from dispatch.ops import logs
from dispatch.sms.process import SmppProcess
from scripts.fcm import FcmStandIn
from scripts.smsc import Behaviour, Smsc
from tests.helpers.browser import Browser
from tests.helpers.factories import token_for
from tests.helpers.push import make_campaign, make_device, queue_rows, work
from tests.helpers.push_gateway import forget_push_gateway

SMPP_PASSWORD = "Zq7#kP2x"  # SMPP 3.4 passwords are at most 8 characters
WRONG_PASSWORD = "Wr0ng!pw"
TIMERS: dict[str, Any] = dict(
    enquire_link_interval=5.0, response_timeout=3.0, connect_timeout=2.0, socket_timeout=0.2,
    reconnect_initial=0.05, reconnect_max=0.3, auth_retry_delay=0.3, queue_timeout=5.0,
    drain_timeout=2.0)


class Everything(logging.Handler):
    """Every record of every logger, as text: message, arguments, exception, extras, and the
    line Loa's JSON formatter would write (which redacts; the raw text must not need it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.formatter_ = logs.JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("scripts."):
            return  # the stand-ins are the far end, not Loa
        raw = [record.getMessage(), repr(record.args), repr(vars(record))]
        if record.exc_info:
            raw.append(logging.Formatter().formatException(record.exc_info))
        self.texts.append("\n".join(raw))


@pytest.fixture()
def captured() -> Iterator[Everything]:
    root = logging.getLogger()
    handler = Everything()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(saved)


def redis_dump(redis: Any) -> str:
    out = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key).decode()
        if kind == "string":
            out.append(repr(redis.get(key)))
        elif kind == "hash":
            out.append(repr(redis.hgetall(key)))
        elif kind == "list":
            out.append(repr(redis.lrange(key, 0, -1)))
        elif kind in ("set", "zset"):
            out.append(repr(redis.smembers(key) if kind == "set" else redis.zrange(key, 0, -1)))
        out.append(repr(key))
    return "\n".join(out)


def assert_nowhere(secret: str, *places: tuple[str, str]) -> None:
    for name, text in places:
        assert secret not in text, f"the secret appears in {name}"


def test_api_tokens_and_app_keys_are_hashed_at_rest(backend: str, app: Any, api: Any,
                                                    people: dict[str, User]) -> None:
    secret = token_for(people["editor"])
    made = api.as_(people["admin"]).post("/api/app-keys", json={"name": "province app"})
    assert made.status_code == 201, made.json
    key_secret = made.json["key"] if "key" in made.json else made.json.get("secret")
    assert key_secret
    stored_tokens = [(t.token_hash, t.prefix) for t in db.session.scalars(select(ApiToken))]
    stored_keys = [vars(k).copy() for k in db.session.scalars(select(AppKey))]
    for token_hash, prefix in stored_tokens:
        assert secret not in token_hash and len(prefix) < len(secret) / 2
    assert key_secret not in repr(stored_keys)
    listed = api.as_(people["admin"]).get("/api/app-keys").get_data(as_text=True)
    assert key_secret not in listed
    tokens_page = Browser(app, people["admin"]).open("GET", "/admin/tokens")
    assert secret not in tokens_page.get_data(as_text=True)


def test_smpp_passwords_stay_out_of_everything(backend: str, app: Any, api: Any, redis: Any,
                                               people: dict[str, User],
                                               captured: Everything) -> None:
    smsc = Smsc({"loa": SMPP_PASSWORD, "loa2": "other-pw"}, Behaviour(seed=1)).start()
    process: SmppProcess | None = None
    try:
        admin = api.as_(people["admin"])
        base = {"host": "127.0.0.1", "port": smsc.port, "tps": 1000, "window": 10,
                "brandnames": ["LOA"]}
        good = admin.post("/api/smpp-accounts", json=base | {
            "name": "viettel", "system_id": "loa", "password": SMPP_PASSWORD,
            "operators": ["viettel"], "is_default": True})
        assert good.status_code == 201, good.json
        bad = admin.post("/api/smpp-accounts", json=base | {
            "name": "vinaphone", "system_id": "loa2", "password": WRONG_PASSWORD,
            "operators": ["vinaphone"]})
        assert bad.status_code == 201, bad.json
        changed = admin.patch(f"/api/smpp-accounts/{good.json['id']}",
                              json={"password": SMPP_PASSWORD, "tps": 900})
        assert changed.status_code == 200, changed.json

        process = SmppProcess(app, poll_interval=0.3, status_interval=0.2, timers=TIMERS,
                              drain_timeout=2.0).start()
        deadline = time.monotonic() + 10
        states: set[str] = set()
        while time.monotonic() < deadline and not {"bound", "auth_failed"} <= states:
            time.sleep(0.1)
            states = {r["state"] for r in
                      [json.loads(v) for v in redis.mget(
                          list(redis.scan_iter(f"{keys.SMPP_BIND_PREFIX}*")))
                       if v]}
        assert {"bound", "auth_failed"} <= states, states

        responses = [
            ("GET accounts", admin.get("/api/smpp-accounts")),
            ("GET account", admin.get(f"/api/smpp-accounts/{good.json['id']}")),
            ("audit", admin.get("/api/audit?per_page=500")),
            ("readyz", api.get("/readyz")),
            ("metrics", admin.get("/metrics")),
            ("settings", admin.get("/api/settings")),
        ]
        browser = Browser(app, people["admin"])
        pages = [(f"page {p}", browser.open("GET", p)) for p in (
            "/admin/smpp", f"/admin/smpp/{good.json['id']}", "/admin/audit", "/")]
        status_cli = app.test_cli_runner().invoke(args=["smpp", "status"])
        audit_rows = repr([(e.action, e.details) for e in db.session.scalars(select(AuditEvent))])
        stored = db.session.get(SmppAccount, good.json["id"])
        assert stored is not None and SMPP_PASSWORD not in stored.password_encrypted
        places = [(name, r.get_data(as_text=True)) for name, r in responses + pages]
        places += [("smpp status", status_cli.output), ("audit rows", audit_rows),
                   ("redis", redis_dump(redis)), ("logs", "\n".join(captured.texts))]
        for secret in (SMPP_PASSWORD, WRONG_PASSWORD):
            assert_nowhere(secret, *places)
        assert any("auth_failed" in text or "ESME_RINVPASWD" in text for _, text in places)
    finally:
        if process is not None:
            process.stop()
        smsc.stop()


def _private_key_body(service_account: Path) -> str:
    pem = json.loads(service_account.read_text())["private_key"]
    return "".join(pem.splitlines()[1:-1])[40:100]  # a stretch of the key material itself


def test_fcm_keys_stay_out_of_everything(backend: str, app: Any, api: Any, redis: Any,
                                         people: dict[str, User], captured: Everything,
                                         tmp_path: Path) -> None:
    saved = {k: app.config.get(k) for k in ("FCM_CREDENTIALS", "FCM_ENDPOINT", "FCM_PROJECT_ID",
                                             "PUSH_TOPIC_SENDS")}
    with FcmStandIn(project_id="loa-secrets") as standin:
        service_account = standin.write_service_account(tmp_path / "sa.json")
        info = json.loads(service_account.read_text())
        app.config.update(FCM_CREDENTIALS=str(service_account), FCM_ENDPOINT=standin.url,
                          FCM_PROJECT_ID=None, PUSH_TOPIC_SENDS=False)
        forget_push_gateway()
        try:
            c = make_campaign()
            ids = queue_rows(c, [make_device(f"good-{i}") for i in range(3)]
                             + [make_device("invalid-x")])
            enqueue.enqueue_push(c, ids)
            work()
            assert standin.counters()["tokens_issued"] >= 1
            standin.refuse_auth = True  # a deleted key: the refusal must not quote it either
            standin.revoke_tokens()
            forget_push_gateway()
            c2 = make_campaign()
            enqueue.enqueue_push(c2, queue_rows(c2, [make_device("good-z")]))
            work()
            admin = api.as_(people["admin"])
            places = [(name, admin.get(path).get_data(as_text=True)) for name, path in (
                ("campaign", f"/api/campaigns/{c.id}"), ("blocked", f"/api/campaigns/{c2.id}"),
                ("progress", f"/api/campaigns/{c2.id}/progress"), ("settings", "/api/settings"),
                ("audit", "/api/audit?per_page=500"), ("metrics", "/metrics"),
                ("export", f"/api/campaigns/{c.id}/export.csv"), ("report",
                                                                  f"/api/campaigns/{c.id}/report"),
                ("summary", "/api/reports/summary.csv"))]
            page = Browser(app, people["admin"]).open("GET", f"/campaigns/{c2.id}")
            places += [("page", page.get_data(as_text=True)), ("redis", redis_dump(redis)),
                       ("logs", "\n".join(captured.texts))]
            assert_nowhere(_private_key_body(service_account), *places)
            assert_nowhere(info["private_key_id"], *places)
            assert_nowhere("ya29.loa-standin-", *places)  # the access tokens it issued
        finally:
            standin.refuse_auth = False
            forget_push_gateway()
            app.config.update(saved)
