"""A real webhook receiver on loopback (a threaded http.server), told how to answer each POST,
and a clock the delivery code reads, moved by the tests instead of sleeping."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dispatch.models.common import utcnow


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers POSTs with the next of `answers` (then `default`): an int status, ("sleep", s),
    ("redirect", path) or ("huge", n bytes)."""

    server: ThreadingHTTPServer
    answers: list[Any] = field(default_factory=list)
    default: Any = 200
    received: list[Received] = field(default_factory=list)
    huge_sent_whole: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/loa/events"

    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.received for e in r.json["events"]]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                answer = receiver.answers.pop(0) if receiver.answers else receiver.default
            if isinstance(answer, tuple) and answer[0] == "sleep":
                time.sleep(answer[1])
                answer = 200
            if isinstance(answer, tuple) and answer[0] == "redirect":
                self.send_response(302)
                self.send_header("Location", answer[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if isinstance(answer, tuple) and answer[0] == "huge":
                size = answer[1]
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = b"x" * 65536
                try:
                    for _ in range(size // len(chunk)):
                        self.wfile.write(chunk)
                    receiver.huge_sent_whole.append(True)
                except OSError:
                    receiver.huge_sent_whole.append(False)
                return
            payload = b'{"ok": true}'
            self.send_response(int(answer))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    r = Receiver(server)
    server.RequestHandlerClass = _handler(r)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield r
    server.shutdown()
    server.server_close()


class Clock:
    """What `utcnow()` says in dispatch.hooks.deliver (and .registry) during a test."""

    def __init__(self) -> None:
        self.now: datetime = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture()
def hook_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("dispatch.hooks.deliver.utcnow", clock)
    return clock


def run_jobs() -> None:
    """Run every waiting job, webhook ones included (they are on `low`)."""
    from dispatch.jobs import QUEUES
    from tests.helpers.engine import work

    work(list(QUEUES))
