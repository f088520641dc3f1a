"""Small things a newcomer tripped on: the dashboard's approval box only for approvers, the
administration link of an approver, the favicon."""

from __future__ import annotations

from typing import Any

from dispatch.models import User


def test_only_those_who_may_approve_see_what_awaits_their_approval(
        backend: str, as_role: Any, people: dict[str, User]) -> None:
    assert "Chờ tôi phê duyệt" not in as_role("editor").get("/").get_data(as_text=True)
    assert "Chờ tôi phê duyệt" not in as_role("admin").get("/").get_data(as_text=True)
    assert "Chờ tôi phê duyệt" in as_role("approver").get("/").get_data(as_text=True)


def test_the_administration_link_of_an_approver_lands_on_a_page_they_may_see(
        backend: str, as_role: Any, people: dict[str, User]) -> None:
    approver = as_role("approver")
    home = approver.get("/").get_data(as_text=True)
    assert 'href="/admin"' in home
    landed = approver.client.get("/admin", follow_redirects=True)
    assert landed.status_code == 200, landed.status_code
    page = landed.get_data(as_text=True)
    assert "<h1>Nhật ký kiểm toán</h1>" in page or "Nhật ký" in page
    editor = as_role("editor").get("/").get_data(as_text=True)
    assert 'href="/admin"' not in editor


def test_the_favicon_is_served(client: Any) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype in ("image/svg+xml", "image/x-icon",
                                                          "image/vnd.microsoft.icon")
    assert icon.data.lstrip().startswith(b"<svg") or icon.data[:4] == b"\x00\x00\x01\x00"
