"""Sign-in as an attacker would try it: guessing, spraying, probing names, spoofing addresses.

Failures slow down one (account, address) pair; they never lock the account for its owner
elsewhere, and every refusal looks the same, whatever the reason.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from sqlalchemy import select

from dispatch import create_app
from dispatch.access import passwords, signin
from dispatch.extensions import db
from dispatch.models import User, UserSession
from tests.helpers.factories import PASSWORD, make_user
from tests.helpers.web import Pages

ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def token_call(client: Any, username: str, password: str, address: str) -> Any:
    return client.post("/api/tokens", json={"name": "x"}, headers=basic(username, password),
                       environ_base={"REMOTE_ADDR": address})


class Clock:
    """The throttle's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(signin, "time", fake)
    return fake


def test_failures_elsewhere_never_keep_the_owner_out(backend: str, app: Any, client: Any,
                                                     people: dict[str, User]) -> None:
    attacker = Pages(app.test_client(), address=ATTACKER)
    attacker.refresh_token("/login")
    for i in range(12):
        way = attacker.post("/login", {"username": "admin1", "password": f"guess {i}"}) \
            if i % 2 else token_call(client, "admin1", f"guess {i}", ATTACKER)
        assert way.status_code == 401
    # The attacker's own pair now waits, even with the right password...
    assert token_call(client, "admin1", PASSWORD, ATTACKER).status_code == 401
    # ...while the owner, from their own desk, signs in at the first try, on both ways in.
    owner = Pages(app.test_client(), address=OWNER)
    assert owner.sign_in("admin1").status_code == 302
    assert owner.get("/").status_code == 200
    assert token_call(client, "admin1", PASSWORD, OWNER).status_code == 201


def test_delays_grow_with_each_failure_and_a_success_clears_them(
        backend: str, app: Any, client: Any, people: dict[str, User], clock: Clock) -> None:
    def attempt(password: str) -> int:
        return int(token_call(client, "editor1", password, ATTACKER).status_code)

    for i in range(signin.FREE_FAILURES):
        assert attempt(f"wrong {i}") == 401
    assert attempt(PASSWORD) == 401  # the fifth failure asks for 1 s; refusals are not counted
    clock.now += 1.1
    assert attempt("wrong again") == 401  # the sixth: 2 s
    clock.now += 1.1
    assert attempt(PASSWORD) == 401
    clock.now += 1.0
    assert attempt("wrong once more") == 401  # the seventh: 4 s
    clock.now += 3.8
    assert attempt(PASSWORD) == 401
    clock.now += 0.3
    assert attempt(PASSWORD) == 201
    # A success clears the pair: the next failures are free again.
    for i in range(signin.FREE_FAILURES - 1):
        assert attempt(f"wrong {i}") == 401
    assert attempt(PASSWORD) == 201
    assert [signin.delay_for(n) for n in (4, 5, 6, 7, 10, 40)] == [0, 1, 2, 4, 32, 900]


def test_unknown_wrong_and_waiting_look_the_same(backend: str, app: Any, client: Any,
                                                 people: dict[str, User],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = passwords.check_password_hash

    def counted(stored: str, given: str) -> bool:
        calls.append(stored)
        return real(stored, given)

    monkeypatch.setattr(passwords, "check_password_hash", counted)
    people["editor2"].active = False
    db.session.commit()
    for i in range(signin.FREE_FAILURES):
        token_call(client, "approver1", f"wrong {i}", ATTACKER)
    cases = {
        "unknown": ("nobody.here", PASSWORD),
        "wrong": ("editor1", "not the password"),
        "disabled": ("editor2", PASSWORD),
        "waiting": ("approver1", PASSWORD),
    }
    api_answers, page_answers = {}, {}
    page = Pages(app.test_client(), address=ATTACKER)
    page.refresh_token("/login")
    for case, (name, password) in cases.items():
        calls.clear()
        response = token_call(client, name, password, ATTACKER)
        api_answers[case] = (response.status_code, response.json, response.headers.get(
            "Retry-After"), response.headers.get("WWW-Authenticate"))
        assert len(calls) == 1, f"{case}: the password hash ran {len(calls)} times"
        calls.clear()
        html = page.post("/login", {"username": name, "password": password})
        assert len(calls) == 1, f"{case} (page): the password hash ran {len(calls)} times"
        body = html.get_data(as_text=True)
        page_answers[case] = (html.status_code, body.split('role="alert">')[1].split("<")[0])
    assert len(set(map(repr, api_answers.values()))) == 1, api_answers
    assert len(set(page_answers.values())) == 1, page_answers
    status, body, *_ = api_answers["unknown"]
    assert status == 401 and body["message"] == signin.REFUSED


def test_spraying_from_one_address_meets_its_cap_counting_failures_only(
        backend: str, app: Any, client: Any, people: dict[str, User]) -> None:
    for i in range(6):
        make_user(f"staff{i}", ["editor"])
    app.config["SIGNIN_LIMIT_PER_IP"] = 4
    try:
        # A whole office behind one address signs in all day: successes cost nothing.
        office = [Pages(app.test_client(), address=OWNER).sign_in(f"staff{i}").status_code
                  for i in range(6) for _ in range(2)]
        assert set(office) == {302}
        sprayed = [token_call(client, f"staff{i}", "Summer2025!", ATTACKER).status_code
                   for i in range(6)]
        assert sprayed == [401] * 6
        # The cap is reached: the right password from there is refused too, elsewhere not.
        assert token_call(client, "editor1", PASSWORD, ATTACKER).status_code == 401
        assert token_call(client, "editor1", PASSWORD, OWNER).status_code == 201
    finally:
        app.config["SIGNIN_LIMIT_PER_IP"] = 30


def test_x_forwarded_for_is_ignored_without_trusted_proxies(backend: str, app: Any,
                                                            client: Any,
                                                            people: dict[str, User]) -> None:
    # Rotating a forged header does not make an attacker a new address each time.
    for i in range(signin.FREE_FAILURES):
        response = client.post("/api/tokens", json={"name": "x"},
                               headers=basic("editor1", "wrong") | {
                                   "X-Forwarded-For": f"192.0.2.{i}"})
        assert response.status_code == 401
    again = client.post("/api/tokens", json={"name": "x"}, headers=basic("editor1", PASSWORD) | {
        "X-Forwarded-For": "192.0.2.200"})
    assert again.status_code == 401
    browser = Pages(app.test_client())
    browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.99"
    assert browser.sign_in("approver1").status_code == 302
    assert db.session.scalars(select(UserSession.ip)).all() == ["127.0.0.1"]


def test_x_forwarded_for_is_honoured_through_one_proxy(backend: str, app: Any,
                                                       people: dict[str, User]) -> None:
    keys = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY", "INSTANCE_PATH",
            "PASSWORD_HASH_METHOD", "TESTING")
    proxied = create_app({k: app.config[k] for k in keys} | {"PROXY_COUNT": 1,
                                                              "LOG_SETUP": False})
    client = proxied.test_client()

    def via_proxy(client_address: str, password: str) -> int:
        # The proxy (127.0.0.1) appends the address it saw; a client may prepend lies.
        return client.post("/api/tokens", json={"name": "x"}, headers=basic(
            "editor1", password) | {"X-Forwarded-For": f"10.9.9.9, {client_address}"}).status_code

    for i in range(signin.FREE_FAILURES):
        assert via_proxy(ATTACKER, f"wrong {i}") == 401
    assert via_proxy(ATTACKER, PASSWORD) == 401
    assert via_proxy(OWNER, PASSWORD) == 201
    browser = Pages(client)
    browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = OWNER
    assert browser.sign_in("approver1").status_code == 302
    assert db.session.scalars(select(UserSession.ip)).all() == [OWNER]


def test_proxy_count_comes_from_the_environment() -> None:
    from dispatch.config import ConfigError, from_env

    assert from_env({})["PROXY_COUNT"] == 0
    assert from_env({"LOA_PROXY_COUNT": "2"})["PROXY_COUNT"] == 2
    with pytest.raises(ConfigError, match="LOA_PROXY_COUNT"):
        from_env({"LOA_PROXY_COUNT": "two"})


def test_without_redis_sign_in_is_refused_not_unlimited(backend: str, app: Any,
                                                        people: dict[str, User]) -> None:
    signed_in = Pages(app.test_client())
    assert signed_in.sign_in(people["editor"]).status_code == 302
    url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("loa_redis", None)
    try:
        browser = Pages(app.test_client())
        browser.refresh_token("/login")
        response = browser.post("/login", {"username": "admin1", "password": PASSWORD})
        assert response.status_code == 503
        # Open sessions live in the database.
        assert signed_in.get("/account/sessions").status_code == 200
    finally:
        app.config["REDIS_URL"] = url
        app.extensions.pop("loa_redis", None)


def test_attempts_per_address_are_bounded_whatever_the_name(backend: str, app: Any,
                                                            client: Any,
                                                            people: dict[str, User]) -> None:
    """Each attempt costs a password hash, even one refused while its pair waits."""
    app.config["SIGNIN_ATTEMPTS_PER_MINUTE"] = 3
    try:
        first = [token_call(client, "editor1", PASSWORD, ATTACKER).status_code
                 for _ in range(3)]
        assert first == [201] * 3
        over = [token_call(client, name, PASSWORD, ATTACKER)
                for name in ("editor1", "nobody.here")]
        assert [r.status_code for r in over] == [429, 429]
        assert over[0].json == over[1].json and int(over[0].headers["Retry-After"]) > 0
        assert token_call(client, "editor1", PASSWORD, OWNER).status_code == 201
    finally:
        app.config["SIGNIN_ATTEMPTS_PER_MINUTE"] = 60
