"""Who may call what: every rule of the URL map, every method, against an explicit table.

The table below is the decision for each endpoint and page; the test enumerates the app's URL
map, so an endpoint or page added without a line here fails `test_every_route_has_a_decision`.
For each route it then calls as anonymous, editor, approver and admin:

- anonymous: API → 401 in the error format; pages → 302 to /login?next=…;
- a role not in the line → 403;
- a role in the line → anything but 401/403 (and never a 5xx). Ids in the URL do not exist
  (the permission check comes before the lookup, so an allowed caller gets a 404, a 422 or the
  page itself, never a 403).

API calls carry each person's bearer token; page calls ride on a signed-in session with the
page's CSRF token, as a browser would.
"""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.models import User
from tests.helpers.access_matrix import (
    APP_KEY,
    DECISIONS,
    PUBLIC,
    READ_ONLY,
    A,
    D,
    E,
    expand,
)
from tests.helpers.browser import Browser
from tests.helpers.factories import token_for

# Bodies for the two endpoints that read credentials from the body's neighbours (Basic) and
# so validate the body first: a valid one, so that anonymous meets the 401.
BODIES = {"/api/me/password": {"current_password": "not the password",
                               "new_password": "a brand new password"},
          "/api/tokens": {"name": "matrix"}}
# Calls that end the browser's session: made after every other.
LAST = {("POST", "/logout"), ("DELETE", "/api/me/sessions")}


def routes(app: Any) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_a_decision(app: Any) -> None:
    found = routes(app)
    missing = sorted(found - set(DECISIONS))
    stale = sorted(set(DECISIONS) - found)
    assert not missing, f"routes without an access decision in this table: {missing}"
    assert not stale, f"decisions for routes that no longer exist: {stale}"


def _verdict(method: str, path: str, who: Any, caller: str, response: Any) -> str | None:
    status = response.status_code
    api = path.startswith("/api/") or path in ("/metrics",)
    if status >= 500:
        return f"{status} (server error)"
    if who == PUBLIC:  # (a failed sign-in answers 401: that is the page working)
        return f"{status} on a public route" if status == 403 else None
    if caller == "anonymous":
        if api:
            ok = status == 401 and response.is_json and response.json.get("status") == 401
            return None if ok else f"{status}, expected 401 in the error format"
        location = response.headers.get("Location", "")
        if status == 302 and location.startswith("/login"):
            return None
        if status == 400 and method != "GET":
            return None  # a forged post: the CSRF check refuses before anything else
        return f"{status}, expected a redirect to sign in"
    if who == APP_KEY:
        return None if status == 401 else f"{status}, staff credentials are no app key"
    if who == READ_ONLY:
        expected = 405 if caller == D else 403
        return None if status == expected else f"{status}, expected {expected}"
    if caller in who:
        return f"{status}, expected to be let through" if status in (401, 403) else None
    return None if status == 403 else f"{status}, expected 403"


@pytest.mark.parametrize("caller", ["anonymous", E, A, D])
def test_each_caller_reaches_exactly_what_the_table_says(backend: str, app: Any, redis: Any,
                                                         people: dict[str, User],
                                                         caller: str) -> None:
    user = None if caller == "anonymous" else people[caller]
    browser = Browser(app, user)
    headers = {"Authorization": f"Bearer {token_for(user)}"} if user is not None else {}
    wrong: list[str] = []
    checked = 0
    for (method, rule), decision in sorted(DECISIONS.items(), key=lambda kv: kv[0][1]):
        if (method, rule) in LAST:
            continue  # signs the browser out; checked below, last
        for path, who in expand(rule, decision):
            if path.startswith("/api/"):
                response = browser.client.open(path, method=method, headers=headers,
                                               json=BODIES.get(path, {}))
            else:
                response = browser.open(method, path)
            checked += 1
            verdict = _verdict(method, path, who, caller, response)
            if verdict:
                wrong.append(f"{caller}: {method} {path} → {verdict}")
    ended = browser.client.open("/api/me/sessions", method="DELETE", headers=headers)
    assert ended.status_code == (401 if user is None else 200), ended.status_code
    assert browser.open("POST", "/logout").status_code == 302
    assert checked > 150
    assert not wrong, "\n".join(wrong)
