"""Every form of the staff pages, posted with hostile values: never a 5xx, on both databases.

The forms are found, not listed: a signed-in person holding every role walks the pages from the
dashboard (links on this site, a bounded number of pages) and collects each `<form>` with its
fields and their values as the page fills them (the CSRF token included). Each form is then sent
with some fields replaced by hostile text (NUL, lone surrogates as a browser would encode them,
control characters, decomposed Vietnamese, very long text, digits `int` refuses, dates in year
1 and 9999, links in other schemes), GET forms (the filters) as well as POST forms. Forms that
would end the person's own session or account are left out; those that delete or revoke go last.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dispatch.extensions import db
from dispatch.models import CampaignStatus, OptOut
from dispatch.models.common import utcnow
from tests.helpers import seed
from tests.helpers import web as helpers
from tests.helpers.browser import Browser
from tests.helpers.factories import make_user, token_for
from tests.helpers.security import Unhandled

EXAMPLES = int(os.environ.get("LOA_FORM_FUZZ_EXAMPLES", "4"))
MAX_PAGES = 120
NFD_VIETNAMESE = "Nguye\u0302\u0303n Va\u0306n A\u0300 Ha\u0323u Giang"
HOSTILE = [
    "\x00", "Cử tri\x00", "\x1b[31m", "a\r\nb", "\u202e\u200b", "\x7f\x85\u009b",
    "\ud800", "x\udfffy", "\U0001f4e3 Loa", NFD_VIETNAMESE, "x" * 5000, "lý do " * 17_000,
    "²", "³", "١٢٣", "9" * 5000, "-1", "0", "2147483648",
    "0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T25:61",
    "javascript:alert(1)", "data:text/html,x", "//evil.example", "/%0A", "<script>x</script>",
    "' OR 1=1 --", "%(name)s {0} {{7*7}}", "", " ",
]
# Forms that would sign the person out or take their own account away.
LEFT_OUT = re.compile(r"^/logout$")
LAST = re.compile(r"delete|revoke|remove|cancel|reset-password|launch")
EXPECTED = {
    "/login", "/account/password", "/account/tokens", "/account/tokens/N/revoke",
    "/audiences/lists", "/audiences/lists/N/import", "/audiences/optouts",
    "/audiences/optouts/N/remove", "/campaigns/new", "/campaigns/N/edit", "/campaigns/N/submit",
    "/campaigns/N/reopen", "/campaigns/N/resume", "/campaigns/N/confirm/launch",
    "/campaigns/N/confirm/pause", "/campaigns/N/confirm/cancel", "/campaigns/N/confirm/retry",
    "/campaigns/N/confirm/delete", "/approvals/N", "/admin/users", "/admin/users/N",
    "/admin/users/N/reset-password", "/admin/tokens/N/revoke", "/admin/smpp/new", "/admin/smpp/N",
    "/admin/smpp/N/delete", "/admin/settings/send_window", "/admin/settings/sms_price_per_part",
    "/admin/settings/recipient_cap", "/admin/settings/opt_out_keywords",
}


class _Forms(HTMLParser):
    """The forms of one page (action, method, fields with their filled-in values) and links."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "fields": {}, "names": set()}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") != "file":
            self._form["names"].add(a["name"])
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._form["fields"].setdefault(a["name"], a.get("value", "on"
                                                if a.get("type") == "checkbox" else ""))
        elif tag == "button" and a.get("name"):
            self._form["names"].add(a["name"])
            self._form["fields"].setdefault(a["name"], a.get("value", ""))
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["names"].add(a["name"])
        elif tag == "option" and self._select and (
                "selected" in a or self._select not in self._form["fields"]):
            self._form["fields"][self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["names"].add(a["name"])
            self._form["fields"].setdefault(a["name"], "")

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _crawl(browser: Browser) -> list[dict[str, Any]]:
    """Forms reachable from the dashboard, at most two per action pattern."""
    seen, queue, forms = set(), deque(["/", "/login", "/admin/tokens"]), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = browser.open("GET", path)
        assert response.status_code < 500, path
        if response.mimetype != "text/html":
            continue
        parser = _Forms()
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            form["action"] = form["action"] or path.split("?")[0]
            form["page"] = path
            shape = re.sub(r"/\d+", "/N", form["action"]), form["method"]
            forms.setdefault(shape, [])
            if len(forms[shape]) < 2 and form not in forms[shape]:
                forms[shape].append(form)
        for link in parser.links:
            target = link.split("#")[0]
            if target.startswith(("/api/", "/static/", "/admin/rq")) or target == "/logout":
                continue
            # Paging and filter links repeat a page: one of each path is enough.
            if urlsplit(target).path not in {urlsplit(s).path for s in seen}:
                queue.append(target)
    found = [f for group in forms.values() for f in group if not LEFT_OUT.match(f["action"])]
    return sorted(found, key=lambda f: (bool(LAST.search(f["action"])), f["action"]))


def _body(fields: dict[str, str]) -> str:
    # By hand, as a browser encodes: a lone surrogate goes as the bytes UTF-8 would give it.
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in fields.items())


def _send(browser: Browser, form: dict[str, Any], fields: dict[str, str]) -> Any:
    if form["method"] == "get":
        return browser.client.get(f"{form['action']}?{_body(fields)}")
    return browser.client.post(form["action"], data=_body(fields),
                               content_type="application/x-www-form-urlencoded")


def _fuzz(browser: Browser, form: dict[str, Any], found: list[str], causes: list[str]) -> None:
    names = sorted(n for n in form["names"] | set(form["fields"]) if n != "csrf_token")
    if not names:
        names = ["x"]  # a form of buttons only: an unexpected field, then

    @given(choice=st.lists(st.tuples(st.sampled_from(names), st.sampled_from(HOSTILE)),
                           min_size=1, max_size=4))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(choice: list[tuple[str, str]]) -> None:
        send(choice)

    def send(choice: list[tuple[str, str]]) -> None:
        fields = dict(form["fields"])
        fields.update(choice)
        fields["csrf_token"] = browser.token
        causes.clear()
        response = _send(browser, form, fields)
        db.session.rollback()
        if response.status_code >= 500:
            cause = causes[-1] if causes else "?"
            found.append(f"{form['method'].upper()} {form['action']} "
                         f"{ {k: v[:40] for k, v in choice} } -> {response.status_code}: {cause}")

    # Each field at least twice on its own (a NUL, and the next hostile value in turn), then
    # hypothesis' mixes of several.
    for i, name in enumerate(names):
        send([(name, "Cử tri\x00")])
        send([(name, HOSTILE[(i * 7 + len(form["action"])) % len(HOSTILE)])])
    run()


def test_no_form_answers_hostile_values_with_a_5xx(backend: str, app: Any, redis: Any) -> None:
    data = seed.sample_data()
    boss = make_user("boss", ["editor", "approver", "admin"])
    db.session.add(OptOut(channel="sms", address="+84912345099", source="staff", reason="x"))
    token_for(boss)
    # Campaigns in the states whose pages carry the other forms (delete, pause, resume, retry).
    lst = data["list"]
    helpers.campaign(boss, lst, title="Nháp của tôi")
    for status in (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED):
        c = helpers.approved(data["editor"], data["approver"], lst, title=status.value)
        c.status = status
        c.launched_at = utcnow()
    db.session.commit()
    browser = Browser(app, boss)
    # Answer with the 500 page instead of raising into the test: every finding is listed.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    causes: list[str] = []
    handler = Unhandled(causes)
    app.logger.addHandler(handler)
    started = time.monotonic()
    forms = [f for f in _crawl(browser)
             if f"/users/{boss.id}" not in f["action"]]
    crawled = time.monotonic() - started
    actions = {re.sub(r"/\d+", "/N", f["action"]) for f in forms if f["method"] == "post"}
    # The crawl reaches every kind of form the pages have (a new page's forms are found alike).
    assert actions >= EXPECTED, sorted(EXPECTED - actions)
    found: list[str] = []
    try:
        for form in forms:
            _fuzz(browser, form, found, causes)
    finally:
        app.logger.removeHandler(handler)
        app.config["PROPAGATE_EXCEPTIONS"] = None
    elapsed = time.monotonic() - started
    print(f"form fuzz: {len(forms)} forms ({len(actions)} kinds of POST), {EXAMPLES} examples "
          f"each, crawl {crawled:.1f} s, total {elapsed:.1f} s, {len(found)} finding(s)")
    assert not found, "\n".join(found)
    assert data["draft"] is not None
