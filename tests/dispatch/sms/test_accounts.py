"""SMPP accounts: admin-only, passwords encrypted and write-only, routing by operator."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from dispatch.extensions import db
from dispatch.models import AuditEvent, SmppAccount
from dispatch.sms import accounts as smpp_accounts

VIETTEL = {"name": "viettel", "host": "127.0.0.1", "port": 2775, "system_id": "loa",
           "password": "s3cr3t", "tps": 100, "window": 20, "operators": ["viettel"],
           "brandnames": ["HAUGIANG"]}


def test_admin_adds_account_password_never_comes_back(api, people, backend):
    admin = api.as_(people["admin"])
    r = admin.post("/api/smpp-accounts", json=VIETTEL)
    assert r.status_code == 201, r.json
    assert "password" not in r.json and "password_encrypted" not in r.json
    body = admin.get(f"/api/smpp-accounts/{r.json['id']}").get_data(as_text=True)
    assert "s3cr3t" not in body
    stored = db.session.get(SmppAccount, r.json["id"])
    assert "s3cr3t" not in stored.password_encrypted
    assert smpp_accounts.password_of(stored) == "s3cr3t"
    audit_text = str([e.details for e in db.session.query(AuditEvent)])
    assert "s3cr3t" not in audit_text


def test_password_change_is_write_only_and_audited(api, people, backend):
    admin = api.as_(people["admin"])
    acc = admin.post("/api/smpp-accounts", json=VIETTEL).json
    r = admin.patch(f"/api/smpp-accounts/{acc['id']}", json={"password": "n3w", "tps": 50})
    assert r.status_code == 200 and r.json["tps"] == 50
    assert smpp_accounts.password_of(db.session.get(SmppAccount, acc["id"])) == "n3w"
    event = db.session.query(AuditEvent).filter_by(action="smpp_account.update").one()
    assert event.details == {"changed": {"tps": 50}, "password_changed": True}


@pytest.mark.parametrize("role", ["editor", "approver"])
def test_only_admins_manage_accounts(api, people, role, backend):
    r = api.as_(people[role]).post("/api/smpp-accounts", json=VIETTEL)
    assert r.status_code == 403
    assert api.as_(people[role]).get("/api/smpp-accounts").status_code == 403
    assert api.as_(people[role]).get("/api/routes").status_code == 200


def test_bad_fields_are_named(api, people, backend):
    admin = api.as_(people["admin"])
    bad = dict(VIETTEL, port=0, operators=["viettel", "telco"], password="far-too-long")
    r = admin.post("/api/smpp-accounts", json=bad)
    assert r.status_code == 422 and {"port", "operators.1", "password"} <= set(r.json["errors"])
    r = admin.post("/api/smpp-accounts", json=dict(VIETTEL, brandnames=["Hậu Giang"]))
    assert r.status_code == 422 and "brandnames.0" in r.json["errors"]
    missing = {k: v for k, v in VIETTEL.items() if k != "host"}
    assert "host" in admin.post("/api/smpp-accounts", json=missing).json["errors"]


def test_routing_by_operator_with_default(api, people, backend):
    admin = api.as_(people["admin"])
    viettel = admin.post("/api/smpp-accounts", json=VIETTEL).json
    rest = admin.post("/api/smpp-accounts", json=dict(
        VIETTEL, name="vnpt", operators=["vinaphone"], is_default=True)).json
    routes = {r["operator"]: r["account_id"] for r in admin.get("/api/routes").json}
    assert routes["viettel"] == viettel["id"]
    assert routes["vinaphone"] == rest["id"] and routes["mobifone"] == rest["id"]
    # One operator, one account: a second enabled carrier for viettel is refused.
    clash = admin.post("/api/smpp-accounts", json=dict(VIETTEL, name="other"))
    assert clash.status_code == 409 and "operators" in clash.json["errors"]
    # Disabling the default leaves other operators without a route.
    admin.patch(f"/api/smpp-accounts/{rest['id']}", json={"enabled": False})
    routes = {r["operator"]: r["account_id"] for r in admin.get("/api/routes").json}
    assert routes["mobifone"] is None and routes["viettel"] == viettel["id"]


def test_cli_add_update_list_remove(app, backend):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["smpp", "account", "add", "mobi", "--host", "10.0.0.5", "--port",
                            "2775", "--system-id", "loa", "--password", "pw", "--tps", "80",
                            "--operators", "mobifone,gmobile"])
    assert r.exit_code == 0, r.output
    assert "tps=80" in r.output and "pw" not in r.output.replace("operators", "")
    r = runner.invoke(args=["smpp", "account", "update", "mobi", "--window", "30", "--disabled"])
    assert r.exit_code == 0 and "window=30" in r.output and "(disabled)" in r.output
    r = runner.invoke(args=["smpp", "account", "update", "mobi", "--port", "99999"])
    assert r.exit_code != 0 and "--port" in r.output
    r = runner.invoke(args=["smpp", "account", "list"])
    assert "route mobifone" in r.output and "NO ROUTE" in r.output
    r = runner.invoke(args=["smpp", "account", "remove", "mobi", "--yes"])
    assert r.exit_code == 0 and db.session.query(SmppAccount).count() == 0


def test_secrets_rotate_reencrypts_with_the_new_key(app, api, people, backend):
    api.as_(people["admin"]).post("/api/smpp-accounts", json=VIETTEL)
    old = (Path(app.instance_path) / "secrets.key").read_text().strip()
    new = Fernet.generate_key().decode()
    app.config["SECRETS_KEY"] = f"{new},{old}"
    try:
        r = CliRunner().invoke(app.cli, ["secrets", "rotate"])
        assert r.exit_code == 0, r.output
        app.config["SECRETS_KEY"] = new  # the old key is gone: still readable
        assert smpp_accounts.password_of(db.session.query(SmppAccount).one()) == "s3cr3t"
    finally:
        app.config["SECRETS_KEY"] = None
