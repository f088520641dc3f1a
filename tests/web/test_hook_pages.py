"""The webhook pages: an admin registers a receiver (the secret shown once), sends a test event
that a real receiver gets, reads the attempts log, and enables a disabled hook again."""

from __future__ import annotations

from typing import Any

from dispatch.extensions import db
from dispatch.hooks import events, registry
from dispatch.models import Webhook
from gateways import webhook
from tests.helpers.hooks import run_jobs

pytest_plugins = ["tests.helpers.hooks"]


def test_an_admin_registers_tests_and_reenables_a_webhook(backend: str, app: Any, redis: Any,
                                                          as_role: Any, receiver: Any) -> None:
    events.forget()
    admin = as_role("admin")
    refused = admin.post("/admin/hooks/new", {"name": "Ứng dụng", "url": "ftp://x.org/",
                                             "events": ["message.delivered"]})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="f-url"' in html
    assert db.session.query(Webhook).count() == 0
    made = admin.post("/admin/hooks/new", {"name": "Ứng dụng tỉnh", "url": receiver.url,
                                          "events": ["message.delivered", "reply.received"]})
    html = made.get_data(as_text=True)
    assert made.status_code == 200 and 'id="hook-secret"' in html
    secret = html.split('id="hook-secret" translate="no">')[1].split("<")[0]
    hook = db.session.query(Webhook).one()
    assert hook.events == ["reply.received", "message.delivered"]
    page = admin.get(f"/admin/hooks/{hook.id}").get_data(as_text=True)
    assert secret not in page and "Chưa có lần gửi nào." in page
    sent = admin.post(f"/admin/hooks/{hook.id}/test", {})
    assert sent.status_code == 302
    run_jobs()
    got = receiver.received[0]
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert webhook.verify(secret, int(headers["x-loa-timestamp"]), got.body,
                          headers["x-loa-signature"])
    page = admin.get(f"/admin/hooks/{hook.id}").get_data(as_text=True)
    assert "Sự kiện thử" in page and ">200<" in page and "Thành công" in page
    registry.disable(db.session.get(Webhook, hook.id),
                     registry.failing_reason(hook.created_at, "http_500"))
    db.session.commit()
    page = admin.get(f"/admin/hooks/{hook.id}").get_data(as_text=True)
    assert "Mọi lần gửi đều lỗi suốt một ngày" in page and "http_500" in page
    assert admin.post(f"/admin/hooks/{hook.id}/enable", {}).status_code == 302
    db.session.expire_all()
    hook = db.session.get(Webhook, hook.id)
    assert hook.enabled and hook.disabled_reason is None
    listing = admin.get("/admin/hooks").get_data(as_text=True)
    assert "Ứng dụng tỉnh" in listing and "Tin nhắn đã đến máy" in listing


def test_editors_and_approvers_do_not_see_webhooks(backend: str, as_role: Any) -> None:
    for role in ("editor", "approver"):
        assert as_role(role).get("/admin/hooks").status_code == 403


HOSTILE = {"javascript:alert(1)": "Hãy dùng URL bắt đầu bằng http:// hoặc https://.",
           "http://example.org/" + "a" * 5000: "Tối đa 2000 ký tự.",
           "https://user:pass@example.org/loa": "Không ghi tên đăng nhập hay mật khẩu",
           "http:///no-host": "URL thiếu tên máy chủ.",
           "http://example.org/a b": "không được có dấu cách",
           "http://example.org:99999/": "Địa chỉ không hợp lệ.",
           "  ": "Hãy dùng URL bắt đầu bằng http://",
           "http://exa\x00mple.org/": "Có ký tự NUL"}
HOSTILE_URLS = list(HOSTILE)


def test_hostile_urls_through_the_page_are_refused_in_vietnamese_and_nothing_changes(
        backend: str, app: Any, as_role: Any) -> None:
    admin = as_role("admin")
    for url in HOSTILE_URLS:
        r = admin.post("/admin/hooks/new", {"name": "Ứng dụng", "url": url,
                                           "events": ["message.delivered"]})
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and 'id="f-url"' in html, url
        assert 'aria-invalid="true"' in html and HOSTILE[url] in html, (url, html)
    assert db.session.query(Webhook).count() == 0
    made = admin.post("/admin/hooks/new", {"name": "Ứng dụng tỉnh",
                                          "url": "http://10.0.0.5:8080/loa",
                                          "events": ["message.delivered"]})
    assert made.status_code == 200
    hook = db.session.query(Webhook).one()
    for url in HOSTILE_URLS:
        r = admin.post(f"/admin/hooks/{hook.id}", {"name": "Ứng dụng tỉnh", "url": url,
                                                  "events": ["message.delivered"]})
        assert r.status_code == 422, url
    db.session.expire_all()
    assert db.session.get(Webhook, hook.id).url == "http://10.0.0.5:8080/loa"
