"""Every page, in Vietnamese, as each role: no untranslated message, no English word, no phone
number in its stored E.164 form.

The pages are every GET route of the web blueprints (`web_*`), read from the app's url_map, so a
new page is covered as soon as it exists; its URL parameters take every id of the showcase data
(tests/helpers/showcase.py: campaigns in every state and pause reason, every reason code, imports
with every kind of error, every audit action, SMPP accounts in every bind state, push notes).
The English words are the catalog's own: the words of its msgids that none of its Vietnamese
msgstrs uses (so "SMS", "API", "Viettel" are not English here), less ALLOWED.
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from tests.helpers import showcase

CATALOG = Path(__file__).resolve().parents[2] / "dispatch/translations/vi/LC_MESSAGES/messages.po"
ROLES = ("editor", "approver", "admin")
# Visible words that are English in the catalog but right on a Vietnamese page.
ALLOWED = {
    "loa",  # the product's name
    "fcm", "smpp", "smsc", "tps", "gsm", "ucs", "csv", "xlsx", "excel", "json", "redis", "ip",
    "id", "url", "https", "http", "brandname",  # technical names a Vietnamese admin uses
    "android", "ios", "web", "firebase", "openapi",
    "long",  # Long Mỹ, a locality
}
# Attributes a person reads (tooltips, placeholders, screen readers, confirmations).
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")
E164 = re.compile(r"\+84\d{9,10}\b")
CODE = re.compile(r"\S*_\S*")
WORD = re.compile(r"[A-Za-z][a-z]+(?:'[a-z]+)?")
# Pages that are not pages: downloads and redirects.
# Not pages: the language switch, signing out, a report document (a DOCX download).
SKIP = {"web_auth.language", "web_auth.logout", "web_reports.download", "web_inbox.download"}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Visible(HTMLParser):
    """The text of a page a person sees or hears: no script, style or markup.

    Also left out: elements marked translate="no" (HTML's own mark), codes shown verbatim for
    the technically minded (an audit entry's JSON, an SMSC's own words).
    """

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # open elements, and whether they are hidden

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hidden = (self.hidden or tag in ("script", "style", "template")
                  or ("translate", "no") in attrs)
        if not hidden:
            self.parts.extend(value for name, value in attrs
                              if name in READ_ATTRIBUTES and value)
        if tag not in VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or all(opened != tag for opened, _ in self.stack):
            return
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_words() -> tuple[set[str], list[str]]:
    """(words only English uses in the catalog, msgids of two words or more)."""
    with open(CATALOG, "rb") as po:
        catalog = read_po(po)
    ids: set[str] = set()
    vietnamese: set[str] = set()
    phrases = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        plain = re.sub(r"%\(\w+\)[sd]|%[sd]", " ", msgid)
        ids.update(w.lower() for w in WORD.findall(plain))
        said = re.sub(r"%\(\w+\)[sd]|%[sd]", " ", str(message.string))  # not its placeholders
        vietnamese.update(w.lower() for w in WORD.findall(said))
        if len(plain.split()) >= 2 and "%" not in msgid and message.string != msgid:
            phrases.append(plain.strip())
    return ids - vietnamese - ALLOWED, phrases


def pages(app: Flask, ids: dict[str, list[Any]]) -> list[tuple[str, str]]:
    """(endpoint, path) for every GET page of the web blueprints, for every id it may take."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web_") or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint in SKIP:
            continue
        choices = []
        for name in sorted(rule.arguments):
            converter = rule._converters[name]  # an any(...) converter lists its values
            items = getattr(converter, "items", None)
            values = list(items) if items else ids.get(name)
            assert values, f"{rule.rule}: the showcase has no value for <{name}>: add it"
            choices.append([(name, v) for v in values])
        for combo in itertools.product(*choices):
            args = dict(combo)
            path = rule.rule
            for name, value in args.items():
                path = re.sub(rf"<[^>]*\b{name}>", str(value), path)
            out.append((rule.endpoint, path))
    return sorted(set(out))


def test_every_page_speaks_vietnamese(backend: str, app: Flask, people: dict[str, Any],
                                      redis: Any, as_role: Any) -> None:
    ids = showcase.build(people, redis)
    english, phrases = english_words()
    assert {"the", "campaign", "sent"} <= english  # the list is built from the catalog
    found: dict[str, dict[str, None]] = {}
    seen = 0
    for role in ROLES:
        browser = as_role(role)
        for endpoint, path in pages(app, ids):
            response = browser.client.get(path)
            assert response.status_code < 500, (role, path, response.status_code)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            seen += 1
            text = visible_text(response.get_data(as_text=True))
            for person in people.values():  # usernames are data, not words
                text = text.replace(person.username, "")
            text = CODE.sub(" ", text)  # identifiers (message_payload, invalid_grant) are codes
            leaks = {p for p in phrases if p in text}
            # Numbers as people write them (0912 345 678), never the stored E.164 form.
            leaks |= set(E164.findall(text))
            leaks |= {w for w in WORD.findall(text) if w.lower() in english}
            for leak in leaks:
                at = text.find(leak)
                where = found.setdefault(leak, {})
                where.setdefault(f"{role} {path} ({endpoint}): …{text[max(0, at - 40):at + 40]}…",
                                 None)
    assert seen > 50
    report = "\n".join(f"{word!r} on {len(where)} pages, e.g. {next(iter(where))}"
                       for word, where in sorted(found.items()))
    assert not found, "English on Vietnamese pages:\n" + report


@pytest.mark.parametrize("html, text", [
    ('<p title="Gợi ý">Xin <b>chào</b></p><script>var x = "Hidden";</script>', "Gợi ý Xin chào"),
    ('<p>Mã <span translate="no">report.<b>export</b><br></span> lỗi</p><input translate="no" '
     'title="Code">', "Mã lỗi"),
    ("<style>p { color: red }</style><p>Đã gửi</p>", "Đã gửi"),
])
def test_visible_text(html: str, text: str) -> None:
    assert visible_text(html) == text


def test_the_page_script_takes_its_duration_words_from_the_catalog(as_role: Any) -> None:
    import json

    html = as_role("editor").get("/campaigns").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="loa-i18n">(.*?)</script>', html,
                      re.S)
    assert block, "the base template gives loa.js its words"
    words = json.loads(block.group(1))
    assert (words["hours"], words["minutes"], words["seconds"]) == (
        "{h} giờ {m} phút", "{m} phút {s} giây", "{s} giây")
    # The note codes the progress API returns (pause reasons), with {value} slots.
    assert words["notes"]["staff"] == "do cán bộ dừng"
    assert "{count}" in words["notes"]["gateway_failures"]
