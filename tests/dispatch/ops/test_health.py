"""/healthz and /readyz: liveness without dependencies, readiness naming what is not ready."""

from __future__ import annotations

import time
from typing import Any

from dispatch.ops import health
from tests.helpers.factories import add_account
from tests.helpers.ops import bind, publish


def test_healthz_touches_nothing(api: Any, app: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(health, "CHECKS", ())  # would fail if liveness ran the checks
    response = api.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_ready_without_an_smpp_process(backend: str, api: Any, redis: Any) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200, response.json
    checks = response.json["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"] and checks["smpp"]["ok"]
    assert checks["smpp"]["detail"] == "no smpp process reporting"


def test_smpp_binds_must_be_up_for_every_enabled_account(backend: str, api: Any,
                                                         redis: Any) -> None:
    viettel, vina = add_account(name="viettel"), add_account(name="vinaphone")
    add_account(name="mobifone", enabled=False)  # disabled: not expected to bind
    publish(redis, viettel, bind("b1", "auth_failed", detail="ESME_RINVPASWD"))
    response = api.get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == 503 and body["code"] == "not_ready"
    assert body["errors"] == {"smpp": ["viettel: auth_failed (ESME_RINVPASWD)",
                                       "vinaphone: no bind reported"]}
    assert body["checks"]["database"]["ok"] and not body["checks"]["smpp"]["ok"]
    assert "pw-12345" not in response.get_data(as_text=True)

    publish(redis, viettel, bind("b1", "auth_failed"), bind("b2", "bound"))
    publish(redis, vina, bind("b1", "bound"))
    response = api.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["smpp"]["detail"] == "2 bound bind(s) for 2 account(s)"


def test_redis_down_is_named_without_its_url(backend: str, api: Any, app: Any,
                                             redis: Any) -> None:
    saved = app.config["REDIS_URL"]
    app.extensions.pop("loa_probe_redis", None)
    app.config["REDIS_URL"] = "redis://:hunter2-password@127.0.0.1:1/0"
    try:
        response = api.get("/readyz")
    finally:
        app.config["REDIS_URL"] = saved
        app.extensions.pop("loa_probe_redis", None)
    assert response.status_code == 503
    assert response.json["errors"]["redis"] == ["unreachable (ConnectionError)"]
    assert "hunter2" not in response.get_data(as_text=True)
    assert response.json["checks"]["database"]["ok"]


def test_a_check_that_hangs_fails_in_bounded_time(app: Any, monkeypatch: Any) -> None:
    def stuck(_app: Any) -> health.Check:
        time.sleep(5.0)
        return health.Check("stuck", True)

    monkeypatch.setattr(health, "CHECKS", (stuck,))
    started = time.monotonic()
    [result] = health.readiness(app, timeout=0.2)
    # Far sooner than the check would answer (a loaded machine may add a second to the 0.2).
    assert time.monotonic() - started < 2.5
    assert not result.ok and result.detail == "no answer within 0.2 s"


def test_a_database_failure_fails_the_check(app: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(health, "text", lambda _sql: "this is not a statement")
    result = health.check_database(app)
    assert not result.ok and result.detail.startswith("unreachable (")
