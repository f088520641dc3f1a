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

import re
from typing import Any

import pytest

from dispatch.models import User
from tests.factories import token_for
from tests.security.helpers import Browser

E, A, D = "editor", "approver", "admin"
ALL = (E, A, D)
PUBLIC = "public"  # anyone, signed in or not
APP_KEY = "app key"  # the province app's key; staff credentials do not count
READ_ONLY = "read-only"  # admins reach it but it refuses (the RQ dashboard's actions)

# (method, rule) → who may; rules with an `any(...)` converter map each value to who may.
DECISIONS: dict[tuple[str, str], Any] = {
    # service
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): (D,),
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,
    # API: accounts and tokens
    ("GET", "/api/me"): ALL,
    ("PUT", "/api/me/password"): ALL,
    ("GET", "/api/me/sessions"): ALL,
    ("DELETE", "/api/me/sessions"): ALL,
    ("DELETE", "/api/me/sessions/<int:session_id>"): ALL,
    ("GET", "/api/users/<int:user_id>/sessions"): (D,),
    ("POST", "/api/personal-data/export"): (D,),
    ("POST", "/api/personal-data/erase"): (D,),
    ("DELETE", "/api/users/<int:user_id>/sessions"): (D,),
    ("GET", "/api/tokens"): ALL,
    ("POST", "/api/tokens"): ALL,
    ("DELETE", "/api/tokens/<int:token_id>"): ALL,
    ("GET", "/api/users"): (D,),
    ("POST", "/api/users"): (D,),
    ("GET", "/api/users/<int:user_id>"): (D,),
    ("PATCH", "/api/users/<int:user_id>"): (D,),
    ("POST", "/api/users/<int:user_id>/password-reset"): (D,),
    ("GET", "/api/settings"): (D,),
    ("GET", "/api/settings/<key>"): (D,),
    ("PUT", "/api/settings/<key>"): (D,),
    ("GET", "/api/smpp-accounts"): (D,),
    ("POST", "/api/smpp-accounts"): (D,),
    ("GET", "/api/smpp-accounts/<int:account_id>"): (D,),
    ("PATCH", "/api/smpp-accounts/<int:account_id>"): (D,),
    ("DELETE", "/api/smpp-accounts/<int:account_id>"): (D,),
    ("GET", "/api/routes"): ALL,
    ("GET", "/api/audit"): (A, D),
    ("GET", "/api/app-keys"): (D,),
    ("POST", "/api/app-keys"): (D,),
    ("PATCH", "/api/app-keys/<int:key_id>"): (D,),
    ("DELETE", "/api/app-keys/<int:key_id>"): (D,),
    # API: the province app
    ("GET", "/api/app/devices/<installation_id>"): APP_KEY,
    ("PUT", "/api/app/devices/<installation_id>"): APP_KEY,
    ("DELETE", "/api/app/devices/<installation_id>"): APP_KEY,
    ("POST", "/api/app/devices/<installation_id>/opt-out"): APP_KEY,
    ("DELETE", "/api/app/devices/<installation_id>/opt-out"): APP_KEY,
    ("PUT", "/api/app/devices/<installation_id>/topics"): APP_KEY,
    ("GET", "/api/app/localities"): APP_KEY,
    # API: campaigns
    ("GET", "/api/campaigns"): ALL,
    ("POST", "/api/campaigns"): (E,),
    ("GET", "/api/campaigns/<int:campaign_id>"): ALL,
    ("PATCH", "/api/campaigns/<int:campaign_id>"): (E,),
    ("DELETE", "/api/campaigns/<int:campaign_id>"): (E,),
    ("POST", "/api/campaigns/<int:campaign_id>/submit"): (E,),
    ("POST", "/api/campaigns/<int:campaign_id>/reopen"): (E,),
    ("POST", "/api/campaigns/<int:campaign_id>/approve"): (A,),
    ("POST", "/api/campaigns/<int:campaign_id>/reject"): (A,),
    ("POST", "/api/campaigns/<int:campaign_id>/launch"): (E, A),
    ("POST", "/api/campaigns/<int:campaign_id>/pause"): ALL,
    ("POST", "/api/campaigns/<int:campaign_id>/resume"): ALL,
    ("POST", "/api/campaigns/<int:campaign_id>/cancel"): (A, D),
    ("POST", "/api/campaigns/<int:campaign_id>/retry"): (A, D),
    ("GET", "/api/campaigns/<int:campaign_id>/audit"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/diff"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/preview"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/progress"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/report"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/export.csv"): (A, D),
    ("GET", "/api/campaigns/<int:campaign_id>/export.xlsx"): (A, D),
    ("GET", "/api/phase-tags"): ALL,
    ("POST", "/api/preview/sms"): ALL,
    ("GET", "/api/reports/summary"): ALL,
    ("GET", "/api/reports/summary.csv"): ALL,
    ("GET", "/api/reports/summary.xlsx"): ALL,
    # API: audiences
    ("GET", "/api/contacts"): ALL,
    ("POST", "/api/contacts"): (E, D),
    ("GET", "/api/contacts/<int:contact_id>"): ALL,
    ("PATCH", "/api/contacts/<int:contact_id>"): (E, D),
    ("DELETE", "/api/contacts/<int:contact_id>"): (E, D),
    ("GET", "/api/lists"): ALL,
    ("POST", "/api/lists"): (E, D),
    ("GET", "/api/lists/<int:list_id>"): ALL,
    ("PATCH", "/api/lists/<int:list_id>"): (E, D),
    ("DELETE", "/api/lists/<int:list_id>"): (E, D),
    ("GET", "/api/lists/<int:list_id>/members"): ALL,
    ("POST", "/api/lists/<int:list_id>/members"): (E, D),
    ("DELETE", "/api/lists/<int:list_id>/members/<int:contact_id>"): (E, D),
    ("GET", "/api/lists/<int:list_id>/imports"): ALL,
    ("POST", "/api/lists/<int:list_id>/imports"): (E, D),
    ("GET", "/api/imports/<int:import_id>"): ALL,
    ("POST", "/api/imports/<int:import_id>/cancel"): (E, D),
    ("GET", "/api/imports/<int:import_id>/refused.csv"): ALL,
    ("GET", "/api/optouts"): ALL,
    ("POST", "/api/optouts"): (E, D),
    ("GET", "/api/optouts/<int:opt_out_id>"): ALL,
    ("DELETE", "/api/optouts/<int:opt_out_id>"): (E, D),
    ("GET", "/api/localities"): ALL,
    ("POST", "/api/localities"): (D,),
    ("GET", "/api/localities/<int:locality_id>"): ALL,
    ("PATCH", "/api/localities/<int:locality_id>"): (D,),
    ("GET", "/api/devices/summary"): ALL,
    # pages: signing in
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/login/code"): PUBLIC,
    ("POST", "/login/code"): PUBLIC,
    ("GET", "/account/sessions"): ALL,
    ("POST", "/account/sessions/<int:session_id>/end"): ALL,
    ("POST", "/account/sessions/end-others"): ALL,
    ("GET", "/account/two-factor"): ALL,
    ("POST", "/account/two-factor"): ALL,
    ("GET", "/lang/<code>"): PUBLIC,
    ("GET", "/account/password"): ALL,
    ("POST", "/account/password"): ALL,
    ("GET", "/account/tokens"): ALL,
    ("POST", "/account/tokens"): ALL,
    ("POST", "/account/tokens/<int:token_id>/revoke"): ALL,
    # pages: campaigns and approvals
    ("GET", "/"): ALL,
    ("GET", "/campaigns"): ALL,
    ("GET", "/campaigns/new"): (E,),
    ("POST", "/campaigns/new"): (E,),
    ("GET", "/campaigns/estimate"): ALL,
    ("GET", "/campaigns/<int:campaign_id>"): ALL,
    ("GET", "/campaigns/<int:campaign_id>/edit"): (E,),
    ("POST", "/campaigns/<int:campaign_id>/edit"): (E,),
    ("POST", "/campaigns/<int:campaign_id>/<any(submit, reopen, resume):action>"): {
        "submit": (E,), "reopen": (E,), "resume": ALL},
    ("GET", "/campaigns/<int:campaign_id>/confirm/<any(launch, pause, cancel, retry, "
            "delete):action>"): {
        "launch": (E, A), "pause": ALL, "cancel": (A, D), "retry": (A, D), "delete": (E,)},
    ("POST", "/campaigns/<int:campaign_id>/confirm/<any(launch, pause, cancel, retry, "
             "delete):action>"): {
        "launch": (E, A), "pause": ALL, "cancel": (A, D), "retry": (A, D), "delete": (E,)},
    ("GET", "/approvals"): (A,),
    ("GET", "/approvals/<int:campaign_id>"): (A,),
    ("POST", "/approvals/<int:campaign_id>"): (A,),
    # pages: audiences
    ("GET", "/audiences"): ALL,
    ("GET", "/audiences/contacts"): ALL,
    ("GET", "/audiences/devices"): ALL,
    ("GET", "/audiences/imports/<int:import_id>"): ALL,
    ("POST", "/audiences/imports/<int:import_id>/cancel"): (E, D),
    ("GET", "/audiences/imports/<int:import_id>/refused.csv"): ALL,
    ("GET", "/audiences/lists"): ALL,
    ("POST", "/audiences/lists"): (E, D),
    ("GET", "/audiences/lists/<int:list_id>"): ALL,
    ("POST", "/audiences/lists/<int:list_id>/import"): (E, D),
    ("GET", "/audiences/optouts"): ALL,
    ("POST", "/audiences/optouts"): (E, D),
    ("GET", "/audiences/optouts/<int:opt_out_id>/remove"): (E, D),
    ("POST", "/audiences/optouts/<int:opt_out_id>/remove"): (E, D),
    # pages: administration
    ("GET", "/admin"): (A, D),
    ("GET", "/admin/audit"): (A, D),
    ("GET", "/admin/settings"): (D,),
    ("POST", "/admin/settings/<key>"): (D,),
    ("GET", "/admin/smpp"): (D,),
    ("GET", "/admin/smpp/new"): (D,),
    ("POST", "/admin/smpp/new"): (D,),
    ("GET", "/admin/smpp/<int:account_id>"): (D,),
    ("POST", "/admin/smpp/<int:account_id>"): (D,),
    ("POST", "/admin/smpp/<int:account_id>/delete"): (D,),
    ("GET", "/admin/tokens"): (D,),
    ("POST", "/admin/tokens/<int:token_id>/revoke"): (D,),
    ("GET", "/admin/users"): (D,),
    ("POST", "/admin/users"): (D,),
    ("GET", "/admin/users/<int:user_id>"): (D,),
    ("POST", "/admin/users/<int:user_id>"): (D,),
    ("POST", "/admin/users/<int:user_id>/reset-password"): (D,),
    ("POST", "/admin/users/<int:user_id>/sessions/end"): (D,),
    ("POST", "/admin/users/<int:user_id>/reset-two-factor"): (D,),
    # the RQ dashboard (dispatch/ops/queues.py): admins read, nobody acts
    ("GET", "/admin/rq/"): (D,),
    ("GET", "/admin/rq/favicon.ico"): (D,),
    ("GET", "/admin/rq/static/<path:filename>"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/view"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/view/queues"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/view/workers"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/view/jobs"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/view/jobs/<queue_name>/<registry_name>/"
            "<int:per_page>/<order>/<int:page>"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/view/job/<job_id>"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/data/queues.json"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/data/workers.json"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/data/jobs/<queue_name>/<registry_name>/"
            "<per_page>/<order>/<page>.json"): (D,),
    ("GET", "/admin/rq/<int:instance_number>/data/job/<job_id>.json"): (D,),
    ("GET", "/admin/rq/requeue/<queue_name>"): READ_ONLY,
    ("POST", "/admin/rq/requeue/<queue_name>"): READ_ONLY,
    ("POST", "/admin/rq/job/<job_id>/delete"): READ_ONLY,
    ("POST", "/admin/rq/job/<job_id>/requeue"): READ_ONLY,
    ("POST", "/admin/rq/queue/<queue_name>/<registry_name>/empty"): READ_ONLY,
    ("POST", "/admin/rq/queue/<queue_name>/compact"): READ_ONLY,
}

# Values for URL variables: ids that do not exist, names that mean something.
VALUES = {"filename": "loa.css", "key": "no-such-key", "code": "en", "installation_id": "inst-1",
          "job_id": "no-such-job", "queue_name": "default", "registry_name": "queued",
          "per_page": "8", "order": "asc", "page": "1",
          # 0 would be redirected (308) to the dashboard's canonical URL before any check
          "instance_number": "1"}
# Bodies for the two endpoints that read credentials from the body's neighbours (Basic) and
# so validate the body first: a valid one, so that anonymous meets the 401.
BODIES = {"/api/me/password": {"current_password": "not the password",
                               "new_password": "a brand new password"},
          "/api/tokens": {"name": "matrix"}}
MISSING_ID = 987654
# Calls that end the browser's session: made after every other.
LAST = {("POST", "/logout"), ("DELETE", "/api/me/sessions")}
VARIABLE = re.compile(r"<(?:([a-z]+)(?:\(([^)]*)\))?:)?([a-z_]+)>")


def routes(app: Any) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def expand(rule: str, decision: Any) -> list[tuple[str, Any]]:
    """Concrete paths for a rule, each with who may."""
    choices = decision if isinstance(decision, dict) else {None: decision}
    out = []
    for choice, who in choices.items():
        def value(match: re.Match[str], choice: str | None = choice) -> str:
            converter, _, name = match.groups()
            if converter == "any":
                return str(choice)
            if name == "filename" and rule.startswith("/admin/rq/"):
                return "css/main.css"
            if converter == "int" and name not in VALUES:
                return str(MISSING_ID)
            return VALUES.get(name, "x")

        out.append((VARIABLE.sub(value, rule), who))
    return out


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
