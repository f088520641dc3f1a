"""Fixtures for the SMPP transport tests: a stand-in SMSC on a free port, sessions to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis as redis_lib

from gateways.smpp import Session, SessionConfig
from scripts.smsc import Behaviour, Smsc

ACCOUNT, PASSWORD = "loa", "secret"


@pytest.fixture()
def redis(redis_url: str) -> Iterator[redis_lib.Redis]:
    """A flushed client, like the suite's, without the app (so no run per database backend)."""
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture()
def smsc() -> Iterator[Smsc]:
    server = Smsc({ACCOUNT: PASSWORD}, Behaviour(seed=1)).start()
    yield server
    server.stop()


def fast_config(port: int, **changes: Any) -> SessionConfig:
    """A config with test-sized timers."""
    values: dict[str, Any] = dict(
        host="127.0.0.1", port=port, system_id=ACCOUNT, password=PASSWORD, source="LOA",
        window=10, id_format="hex", enquire_link_interval=5.0, response_timeout=5.0,
        connect_timeout=2.0, socket_timeout=0.5, reconnect_initial=0.05, reconnect_max=0.5,
        auth_retry_delay=0.2, queue_timeout=5.0, drain_timeout=2.0)
    values.update(changes)
    return SessionConfig(**values)


@pytest.fixture()
def make_session(smsc: Smsc) -> Iterator[Callable[..., Session]]:
    """Start a session to the stand-in (bound before it is returned unless bind=False)."""
    sessions: list[Session] = []

    def make(*, bind: bool = True, port: int | None = None, **kwargs: Any) -> Session:
        hooks = {k: kwargs.pop(k) for k in ("on_deliver", "on_deliver_later", "throttle", "name")
                 if k in kwargs}
        session = Session(fast_config(port or smsc.port, **kwargs), **hooks).start()
        sessions.append(session)
        if bind:
            assert session.wait_bound(5), session.status()
        return session

    yield make
    for session in sessions:
        session.close(timeout=1)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
