"""The access matrix: who may call each route (method, rule), and the concrete paths of a rule."""

from __future__ import annotations

import re
from typing import Any

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
    ("GET", "/favicon.ico"): PUBLIC,
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
    ("GET", "/api/hooks"): (D,),
    ("POST", "/api/hooks"): (D,),
    ("GET", "/api/hooks/<int:hook_id>"): (D,),
    ("PATCH", "/api/hooks/<int:hook_id>"): (D,),
    ("POST", "/api/hooks/<int:hook_id>/secret"): (D,),
    ("POST", "/api/hooks/<int:hook_id>/test"): (D,),
    ("POST", "/api/hooks/<int:hook_id>/enable"): (D,),
    ("POST", "/api/hooks/<int:hook_id>/disable"): (D,),
    ("GET", "/api/hooks/<int:hook_id>/attempts"): (D,),
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
    ("PUT", "/api/app/devices/<installation_id>/msisdn"): APP_KEY,
    ("DELETE", "/api/app/devices/<installation_id>/msisdn"): APP_KEY,
    ("POST", "/api/app/devices/<installation_id>/opened"): APP_KEY,
    ("POST", "/api/app/devices/<installation_id>/answers"): APP_KEY,
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
    ("POST", "/api/campaigns/<int:campaign_id>/correction"): (E,),
    ("POST", "/api/campaigns/<int:campaign_id>/test-send"): (E,),
    ("GET", "/api/campaigns/<int:campaign_id>/tests"): ALL,
    ("GET", "/api/test-list"): ALL,
    ("POST", "/api/test-list"): (D,),
    ("PATCH", "/api/test-list/<int:member_id>"): (D,),
    ("DELETE", "/api/test-list/<int:member_id>"): (D,),
    ("GET", "/api/campaigns/<int:campaign_id>/audit"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/diff"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/preview"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/progress"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/report"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/received"): ALL,
    ("GET", "/api/campaigns/<int:campaign_id>/export.csv"): (A, D),
    ("GET", "/api/campaigns/<int:campaign_id>/export.xlsx"): (A, D),
    ("GET", "/api/campaigns/<int:campaign_id>/report/people"): (A, D),
    # API: plans and their phases (admins write them)
    ("GET", "/api/plans"): ALL,
    ("POST", "/api/plans"): (D,),
    ("GET", "/api/plans/<int:plan_id>"): ALL,
    ("PATCH", "/api/plans/<int:plan_id>"): (D,),
    ("POST", "/api/plans/<int:plan_id>/phases"): (D,),
    ("GET", "/api/plans/<int:plan_id>/phases/<int:phase_id>"): ALL,
    ("PATCH", "/api/plans/<int:plan_id>/phases/<int:phase_id>"): (D,),
    ("DELETE", "/api/plans/<int:plan_id>/phases/<int:phase_id>"): (D,),
    ("GET", "/api/plans/<int:plan_id>/calendar"): ALL,
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
    # API: the inbox of replies (admins edit labels; full numbers only for admins, on request)
    ("GET", "/api/replies"): ALL,
    ("GET", "/api/replies/<int:reply_id>"): ALL,
    ("PATCH", "/api/replies/<int:reply_id>"): ALL,
    ("POST", "/api/replies/bulk"): ALL,
    ("GET", "/api/reply-labels"): ALL,
    ("POST", "/api/reply-labels"): (D,),
    ("PATCH", "/api/reply-labels/<int:label_id>"): (D,),
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
    ("POST", "/campaigns/estimate/strategy"): ALL,
    ("POST", "/campaigns/estimate/text"): ALL,
    ("GET", "/campaigns/<int:campaign_id>"): ALL,
    ("GET", "/campaigns/<int:campaign_id>/edit"): (E,),
    ("POST", "/campaigns/<int:campaign_id>/edit"): (E,),
    ("POST", "/campaigns/<int:campaign_id>/correction"): (E,),
    ("POST", "/campaigns/<int:campaign_id>/test-send"): (E,),
    ("GET", "/admin/test-list"): (D,),
    ("POST", "/admin/test-list"): (D,),
    ("POST", "/admin/test-list/<int:member_id>/delete"): (D,),
    ("POST", "/campaigns/<int:campaign_id>/<any(submit, reopen, resume):action>"): {
        "submit": (E,), "reopen": (E,), "resume": ALL},
    ("GET", "/campaigns/<int:campaign_id>/confirm/<any(launch, pause, cancel, retry, "
            "delete):action>"): {
        "launch": (E, A), "pause": ALL, "cancel": (A, D), "retry": (A, D), "delete": (E,)},
    ("POST", "/campaigns/<int:campaign_id>/confirm/<any(launch, pause, cancel, retry, "
             "delete):action>"): {
        "launch": (E, A), "pause": ALL, "cancel": (A, D), "retry": (A, D), "delete": (E,)},
    # pages: reports (aggregates only: every staff member, like the API's report)
    ("GET", "/campaigns/<int:campaign_id>/report"): ALL,
    ("GET", "/campaigns/<int:campaign_id>/received"): ALL,
    ("POST", "/campaigns/<int:campaign_id>/report/document"): ALL,
    ("GET", "/reports"): ALL,
    ("POST", "/reports/document"): ALL,
    ("GET", "/reports/documents/<key>/<name>"): ALL,
    # the readable exports hold numbers: as the API's (report.export)
    ("GET", "/campaigns/<int:campaign_id>/export.csv"): (A, D),
    ("GET", "/campaigns/<int:campaign_id>/export.xlsx"): (A, D),
    ("GET", "/plans/<int:plan_id>/report"): ALL,
    ("POST", "/plans/<int:plan_id>/report/document"): ALL,
    ("GET", "/plans/<int:plan_id>/phases/<int:phase_id>/report"): ALL,
    ("POST", "/plans/<int:plan_id>/phases/<int:phase_id>/report/document"): ALL,
    ("GET", "/approvals"): (A,),
    ("GET", "/approvals/<int:campaign_id>"): (A,),
    ("POST", "/approvals/<int:campaign_id>"): (A,),
    # pages: plans
    ("GET", "/plans"): ALL,
    ("GET", "/plans/new"): (D,),
    ("POST", "/plans/new"): (D,),
    ("GET", "/plans/<int:plan_id>"): ALL,
    ("GET", "/plans/<int:plan_id>/calendar"): ALL,
    ("GET", "/plans/<int:plan_id>/edit"): (D,),
    ("POST", "/plans/<int:plan_id>/edit"): (D,),
    ("GET", "/plans/<int:plan_id>/phases/new"): (D,),
    ("POST", "/plans/<int:plan_id>/phases/new"): (D,),
    ("GET", "/plans/<int:plan_id>/phases/<int:phase_id>/edit"): (D,),
    ("POST", "/plans/<int:plan_id>/phases/<int:phase_id>/edit"): (D,),
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
    # pages: the inbox of replies
    ("GET", "/inbox"): ALL,
    ("GET", "/inbox/<int:reply_id>"): ALL,
    ("POST", "/inbox/<int:reply_id>"): ALL,
    ("POST", "/inbox/<int:reply_id>/number"): (D,),
    ("POST", "/inbox/bulk"): ALL,
    ("POST", "/inbox/export"): ALL,
    ("GET", "/inbox/exports"): ALL,
    ("GET", "/inbox/exports/<name>"): ALL,
    ("GET", "/inbox/labels"): ALL,
    ("POST", "/inbox/labels"): (D,),
    ("POST", "/inbox/labels/<int:label_id>"): (D,),
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
    ("GET", "/admin/hooks"): (D,),
    ("GET", "/admin/hooks/new"): (D,),
    ("POST", "/admin/hooks/new"): (D,),
    ("GET", "/admin/hooks/<int:hook_id>"): (D,),
    ("POST", "/admin/hooks/<int:hook_id>"): (D,),
    ("POST", "/admin/hooks/<int:hook_id>/secret"): (D,),
    ("POST", "/admin/hooks/<int:hook_id>/test"): (D,),
    ("POST", "/admin/hooks/<int:hook_id>/enable"): (D,),
    ("POST", "/admin/hooks/<int:hook_id>/disable"): (D,),
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
VALUES = {"filename": "loa.css", "key": "no-such-key",
          "name": "20250101-000000-000000.docx", "code": "en", "installation_id": "inst-1",
          "job_id": "no-such-job", "queue_name": "default", "registry_name": "queued",
          "per_page": "8", "order": "asc", "page": "1",
          # 0 would be redirected (308) to the dashboard's canonical URL before any check
          "instance_number": "1"}


MISSING_ID = 987654


VARIABLE = re.compile(r"<(?:([a-z]+)(?:\(([^)]*)\))?:)?([a-z_]+)>")


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
