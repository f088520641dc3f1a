"""Who may open which page: the same permission table as the API, role by role."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.models import User
from tests.helpers import web as helpers

ROLES = ("editor", "approver", "admin")
# page → the roles that may open it (everyone else gets 403)
PAGES: dict[str, tuple[str, ...]] = {
    "/": ROLES,
    "/campaigns": ROLES,
    "/campaigns/new": ("editor",),
    "/campaigns/{cid}": ROLES,
    "/campaigns/{cid}/edit": ("editor",),
    "/campaigns/{cid}/confirm/cancel": ("approver", "admin"),
    "/approvals": ("approver",),
    "/approvals/{cid}": ("approver",),
    "/audiences/lists": ROLES,
    "/audiences/lists/{lid}": ROLES,
    "/audiences/contacts": ROLES,
    "/audiences/optouts": ROLES,
    "/audiences/devices": ROLES,
    "/admin/users": ("admin",),
    "/admin/users/{uid}": ("admin",),
    "/admin/tokens": ("admin",),
    "/admin/smpp": ("admin",),
    "/admin/smpp/new": ("admin",),
    "/admin/settings": ("admin",),
    "/admin/audit": ("approver", "admin"),
    "/account/tokens": ROLES,
    "/inbox": ROLES,
    "/inbox/labels": ROLES,
    "/inbox/exports": ROLES,
}


@pytest.fixture()
def ids(app: Any, people: dict[str, User]) -> dict[str, int]:
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor2"], lst)
    return {"cid": c.id, "lid": lst.id, "uid": people["editor"].id}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_pages(backend: str, as_role: Any, ids: dict[str, int],
                                             role: str) -> None:
    browser = as_role(role)
    for template, allowed in PAGES.items():
        path = template.format(**ids)
        response = browser.get(path)
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, path, response.status_code)


def test_anonymous_is_sent_to_sign_in(backend: str, client: Any, ids: dict[str, int]) -> None:
    for template in PAGES:
        path = template.format(**ids)
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_editor_sees_no_approval_or_admin_links_and_cannot_approve(
        backend: str, as_role: Any, ids: dict[str, int]) -> None:
    editor = as_role("editor")
    html = editor.get("/").get_data(as_text=True)
    assert 'href="/approvals"' not in html
    assert 'href="/admin"' not in html
    response = editor.post(f"/approvals/{ids['cid']}",
                           {"decision": "approve", "snapshot_hash": "x"})
    assert response.status_code == 403
    assert editor.get(f"/campaigns/{ids['cid']}").status_code == 200


def test_approver_and_admin_links(backend: str, as_role: Any, ids: dict[str, int]) -> None:
    html = as_role("approver").get("/").get_data(as_text=True)
    assert 'href="/approvals"' in html and 'href="/admin"' in html  # the audit log
    admin = as_role("admin").get("/").get_data(as_text=True)
    assert 'href="/approvals"' not in admin and 'href="/admin"' in admin


def test_an_author_cannot_review_their_own_campaign(backend: str, as_role: Any,
                                                     people: dict[str, User]) -> None:
    lst = helpers.contact_list()
    c = helpers.submitted(people["editor_approver"], lst)
    browser = as_role("editor_approver")
    page = browser.get(f"/approvals/{c.id}").get_data(as_text=True)
    assert "approve-button" not in page
    response = browser.post(f"/approvals/{c.id}",
                            {"decision": "approve", "snapshot_hash": c.snapshot_hash})
    assert response.status_code == 422
    assert "another person" in response.get_data(as_text=True) or "người khác" in \
        response.get_data(as_text=True)
