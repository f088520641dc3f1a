"""Fixtures for the SMPP transport tests: a stand-in SMSC on a free port, sessions to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis as redis_lib

from gateways.smpp import Session
from scripts.smsc import Behaviour, Smsc
from tests.helpers.smpp import fast_config

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


@pytest.fixture()
def make_session(smsc: Smsc) -> Iterator[Callable[..., Session]]:
    """Start a session to the stand-in (bound before it is returned unless bind=False)."""
    sessions: list[Session] = []

    def make(*, bind: bool = True, port: int | None = None, **kwargs: Any) -> Session:
        hooks = {k: kwargs.pop(k)
                 for k in ("on_deliver", "on_deliver_later", "throttle", "name", "refs")
                 if k in kwargs}
        session = Session(fast_config(port or smsc.port, **kwargs), **hooks).start()
        sessions.append(session)
        if bind:
            assert session.wait_bound(5), session.status()
        return session

    yield make
    for session in sessions:
        session.close(timeout=1)


