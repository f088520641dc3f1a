"""A POST form goes once: the clerk's impatient second click, while the first is still waiting
for its answer, sends nothing more (loa.js), and the page then shows the first one's answer.

The server is made slow for this form only (0.6 s before it answers), as a busy one is, and the
second click comes 250 ms after the first, as a person's does: by then the first request has
left, so without the guard the browser would send the form again and show that answer instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.campaigns import service, testlist
from dispatch.extensions import db
from dispatch.models import Campaign, ContactList, User
from tests.helpers.factories import PASSWORD, contact_list
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def slow_posts(app: Flask, suffix: str, seen: list[str]) -> Wsgi:
    """Wrap the app: every POST whose path ends with `suffix` is noted, then answered late."""
    inner = app.wsgi_app

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith(suffix):
            seen.append(environ["PATH_INFO"])
            time.sleep(0.6)
        return inner(environ, start_response)

    return wrapped


def test_a_second_click_while_waiting_sends_nothing_more(
        app: Flask, backend: str, screen: Screen, people: dict[str, User], redis: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    testlist.add(name="Chị Lan", msisdn="0912345678", actor=people["admin"])
    lst: ContactList = contact_list(numbers=2)
    c = service.create({"title": "Họp tổ dân phố", "channels": "sms", "sms_sender": "HAUGIANG",
                        "sms_text": "Họp tổ dân phố 19h thứ Bảy.",
                        "audience": {"lists": [lst.id]}}, actor=people["editor"])
    db.session.commit()
    posts: list[str] = []
    monkeypatch.setattr(app, "wsgi_app", slow_posts(app, "/test-send", posts))
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto(f"/campaigns/{c.id}/edit")
    page.evaluate("""() => {
        const button = document.getElementById("test-send-button");
        button.click();
        window.setTimeout(() => button.click(), 250);
    }""")
    expect(page.locator(".flash.success").first).to_contain_text("Đã gửi thử tới Chị Lan")
    # Not "a test of this campaign was sent moments ago", the answer to a second send.
    expect(page.locator(".flash", has_text="vừa được gửi thử")).to_have_count(0)
    assert posts == [f"/campaigns/{c.id}/test-send"]
    db.session.expire_all()
    tests = db.session.scalars(select(Campaign).where(Campaign.parent_id == c.id)).all()
    assert len(tests) == 1


def test_a_form_refused_by_its_confirmation_stays_usable(
        backend: str, screen: Screen, people: dict[str, User]) -> None:
    """Saying no to a data-confirm question sends nothing and does not lock the form."""
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.goto("/campaigns")
    locked = page.evaluate("""() => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = "/nowhere";
        form.setAttribute("data-confirm", "Chắc chưa?");
        document.body.appendChild(form);
        window.confirm = () => false;
        form.requestSubmit();
        return form.getAttribute("aria-busy");
    }""")
    assert locked is None



def no_content(app: Flask, path: str) -> Wsgi:
    """Wrap the app: a POST to `path` is answered 204, so the browser stays on the page, as it
    does when the person presses Stop while the answer is on its way."""
    inner = app.wsgi_app

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == path:
            start_response("204 No Content", [])
            return [b""]
        return inner(environ, start_response)

    return wrapped


def test_a_form_whose_answer_never_came_can_be_sent_again_later(
        app: Flask, backend: str, screen: Screen, people: dict[str, User],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The clerk pressed Stop (or the answer never came): the form is not locked for good.
    Right after, a click is still dropped; once the wait has worn off (15 s on the page's
    clock), the form goes again."""
    monkeypatch.setattr(app, "wsgi_app", no_content(app, "/nowhere"))
    page = screen.page
    screen.sign_in("editor1", PASSWORD)
    page.clock.install()
    page.goto("/campaigns")
    with page.expect_request("**/nowhere"):
        page.evaluate("""() => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/nowhere";
            form.id = "left";
            document.body.appendChild(form);
            form.requestSubmit();
        }""")
    form = page.locator("#left")
    page.clock.fast_forward("00:05")
    assert form.get_attribute("aria-busy") == "true"
    page.clock.fast_forward("00:11")
    assert form.get_attribute("aria-busy") is None
