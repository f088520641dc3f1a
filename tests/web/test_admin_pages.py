"""Administration pages: users and roles, SMPP accounts, settings, the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.campaigns import settings
from dispatch.extensions import db
from dispatch.models import SmppAccount, User
from dispatch.sms import accounts as smpp_accounts
from tests.helpers.web import Pages


def test_create_user_shows_the_one_time_password_once(backend: str, app: Any,
                                                      as_role: Any) -> None:
    admin = as_role("admin")
    response = admin.post("/admin/users", {"username": "Lan.Nguyen", "full_name": "Nguyễn Lan",
                                            "roles": ["editor", "approver"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="one-time-password"' in html
    password = html.split('id="one-time-password">')[1].split("<")[0]
    user = db.session.scalars(select(User).where(User.username == "lan.nguyen")).one()
    assert user.roles == ["approver", "editor"] and user.must_change_password
    browser = Pages(app.test_client())
    assert browser.sign_in("lan.nguyen", password).headers["Location"].startswith(
        "/account/password")
    taken = admin.post("/admin/users", {"username": "lan.nguyen", "roles": ["editor"]})
    assert taken.status_code == 422 and "Đã có người dùng." in taken.get_data(as_text=True)
    no_role = admin.post("/admin/users", {"username": "x"})
    assert no_role.status_code == 422


def test_edit_roles_and_reset_password(backend: str, as_role: Any,
                                       people: dict[str, User]) -> None:
    admin = as_role("admin")
    editor = people["editor"]
    saved = admin.post(f"/admin/users/{editor.id}", {"roles": ["approver"], "active": "on",
                                                     "full_name": "Trần Bình"})
    assert saved.status_code == 302
    assert editor.roles == ["approver"] and editor.full_name == "Trần Bình"
    me = people["admin"]
    refused = admin.post(f"/admin/users/{me.id}", {"roles": ["editor"], "active": "on"})
    assert refused.status_code == 422 and me.roles == ["admin"]
    reset = admin.post(f"/admin/users/{editor.id}/reset-password")
    assert 'id="one-time-password"' in reset.get_data(as_text=True)
    assert editor.must_change_password


def test_smpp_account_password_is_write_only(backend: str, as_role: Any) -> None:
    admin = as_role("admin")
    form = {"name": "viettel-1", "host": "10.0.0.5", "port": "2775", "system_id": "hgiang",
            "password": "s3cr3t", "bind_mode": "trx", "binds": "2", "tps": "100",
            "window": "10", "source_ton": "5", "source_npi": "0", "validity_minutes": "1440",
            "id_format": "auto", "concat": "udh", "brandnames": "HAUGIANG, UBND",
            "operators": ["viettel"], "enabled": "on"}
    created = admin.post("/admin/smpp/new", form)
    assert created.status_code == 302, created.get_data(as_text=True)
    account = db.session.scalars(select(SmppAccount)).one()
    assert smpp_accounts.password_of(account) == "s3cr3t"
    assert account.brandnames == ["HAUGIANG", "UBND"] and account.binds == 2
    page = admin.get(f"/admin/smpp/{account.id}").get_data(as_text=True)
    assert "s3cr3t" not in page and account.password_encrypted not in page
    kept = admin.post(f"/admin/smpp/{account.id}", form | {"password": "", "tps": "80"})
    assert kept.status_code == 302
    assert account.tps == 80 and smpp_accounts.password_of(account) == "s3cr3t"
    bad = admin.post(f"/admin/smpp/{account.id}", form | {"port": "abc", "brandnames": "Hậu"})
    assert bad.status_code == 422
    assert 'id="port-error"' in bad.get_data(as_text=True)
    listing = admin.get("/admin/smpp").get_data(as_text=True)
    assert "viettel-1" in listing and "s3cr3t" not in listing


def test_settings_are_validated_by_the_service(backend: str, as_role: Any) -> None:
    admin = as_role("admin")
    prices = {op: "750" for op in ("viettel", "vinaphone", "mobifone", "vietnamobile",
                                   "gmobile", "itelecom", "other")}
    assert admin.post("/admin/settings/sms_price_per_part", prices).status_code == 302
    assert settings.get("sms_price_per_part")["viettel"] == 750
    bad = admin.post("/admin/settings/send_window", {"start": "22:00", "end": "07:00"})
    assert bad.status_code == 422
    assert "Khung giờ phải bắt đầu trước khi kết thúc." in bad.get_data(as_text=True)
    assert settings.get("send_window") == {"start": "07:00", "end": "22:00"}
    assert admin.post("/admin/settings/opt_out_keywords",
                      {"keywords": "tc, huy stop"}).status_code == 302
    assert settings.get("opt_out_keywords") == ["TC", "HUY", "STOP"]
    assert admin.post("/admin/settings/recipient_cap",
                      {"max_campaigns": "2", "hours": "24"}).status_code == 302
    assert admin.post("/admin/settings/nope", {}).status_code == 404
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'value="750"' in page


def test_audit_log_filters(backend: str, as_role: Any, people: dict[str, User]) -> None:
    admin = as_role("admin")
    admin.post("/admin/settings/recipient_cap", {"max_campaigns": "2", "hours": "24"})
    html = admin.get("/admin/audit?entity=setting").get_data(as_text=True)
    assert "Đã đổi cấu hình" in html and "recipient_cap" in html
    none = admin.get(f"/admin/audit?entity=setting&actor_id={people['editor'].id}")
    assert "Không có sự kiện phù hợp." in none.get_data(as_text=True)
    dated = admin.get("/admin/audit?since=2000-01-01&until=2000-01-02&action=setting.update")
    assert "Không có sự kiện phù hợp." in dated.get_data(as_text=True)


def test_admins_see_and_revoke_every_token(backend: str, as_role: Any,
                                           people: dict[str, User]) -> None:
    from tests.helpers.factories import token_for

    secret = token_for(people["editor"])
    admin = as_role("admin")
    html = admin.get("/admin/tokens").get_data(as_text=True)
    assert secret[:12] in html and secret not in html
    token_id = people["editor"].tokens[0].id
    assert admin.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    assert people["editor"].tokens[0].revoked_at is not None
    assert as_role("editor").get("/admin/tokens").status_code == 403


def test_dashboard_shows_the_binds_the_smpp_process_publishes(as_role, app, backend):
    from datetime import UTC, datetime

    from dispatch.jobs.redis_conn import get_redis
    from dispatch.sms import accounts as smpp_accounts
    from dispatch.sms import status
    from gateways.smpp import SessionStatus

    account = smpp_accounts.create(
        {"name": "mobifone", "host": "127.0.0.1", "port": 2775, "system_id": "loa",
         "password": "pw", "operators": ["mobifone"]}, actor=None)
    db.session.commit()
    browser = as_role("admin")
    assert "auth_failed" not in browser.get("/").get_data(as_text=True)
    bind = SessionStatus(name="trx-1", bind_mode="transceiver", state="auth_failed",
                         since=datetime.now(UTC), detail="ESME_RINVPASWD: Invalid password",
                         in_flight=0, queued=0, sent=0, accepted=0, errors=0, throttled=0,
                         receipts=0, inbound=0, binds=0, rate=0.0)
    status.publish(get_redis(), [status.row(account.id, account.name, bind)])
    page = browser.get("/").get_data(as_text=True)
    assert "auth_failed" in page and "ESME_RINVPASWD" in page
