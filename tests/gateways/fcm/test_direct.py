"""What is the "direct" sender's own: its connections, how it reads answers, never twice.

The stand-in's WIRE prefixes (scripts/fcm/server.py) make it answer chunked, gzipped, with
`Connection: close`, cut the connection after taking a message, or drop a keep-alive one.
"""

from __future__ import annotations

import contextlib
import gzip
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from firebase_admin import messaging

from gateways.errors import Unknowable
from gateways.fcm import PushContent, PushGateway, PushMessage, PushStatus, build_message, direct
from scripts.fcm import FcmStandIn
from scripts.harness import wait_for

CONTENT = PushContent(title="Thông báo", body="Lịch tiêm chủng tại phường 5", link="hg://tin/1")


def batch(*tokens: str, content: PushContent = CONTENT) -> list[PushMessage]:
    return [PushMessage(str(i), token, content) for i, token in enumerate(tokens)]


@pytest.fixture()
def one_thread(fcm: FcmStandIn, service_account: Path) -> Iterator[PushGateway]:
    """A direct gateway with one sender thread: one connection, whose fate the test follows."""
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender="direct",
                     threads=1) as gateway:
        assert gateway.send_one("warm-up", CONTENT).ok  # the token, the connection
        yield gateway


def _sends(fcm: FcmStandIn) -> int:
    """Connections opened at the stand-in, less the token endpoint's."""
    counters = fcm.counters()
    return int(counters["connections"]) - int(counters["token_requests"])


def test_batches_share_at_most_64_kept_connections(fcm: FcmStandIn,
                                                   service_account: Path) -> None:
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender="direct") as gateway:
        for n in range(6):
            outcomes = gateway.send_batch(batch(*(f"tok-{n}-{i}" for i in range(500))))
            assert {o.status for o in outcomes} == {PushStatus.SENT}
    counters = fcm.counters()
    assert counters["sent"] == 3000
    assert set(counters["by_token"].values()) == {1}
    assert counters["token_requests"] == 1
    assert _sends(fcm) <= 64


def test_chunked_gzipped_and_closing_answers(one_thread: PushGateway, fcm: FcmStandIn,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    gunzipped: list[int] = []
    real = direct._decoded

    def counted(data: bytes, *, gzip_wrapped: bool) -> bytes:
        gunzipped.append(len(data))
        return real(data, gzip_wrapped=gzip_wrapped)

    monkeypatch.setattr(direct, "_decoded", counted)
    opened = _sends(fcm)
    tokens = ["chunked-1", "gzip-2", "chunked-gzip-3", "close-4", "good-5", "close-chunked-6",
              "good-7"]
    outcomes = one_thread.send_batch(batch(*tokens))
    assert [o.status for o in outcomes] == [PushStatus.SENT] * len(tokens)
    assert all(o.message_name and o.message_name.startswith("projects/loa-test/messages/")
               for o in outcomes)
    assert len({o.message_name for o in outcomes}) == len(tokens)
    assert len(gunzipped) == 2  # the answers the stand-in gzipped because we asked
    assert fcm.counters()["by_token"] == {"warm-up": 1, **dict.fromkeys(tokens, 1)}
    assert _sends(fcm) - opened == 2  # a new connection after each `Connection: close`


def test_error_answers_keep_their_meaning_when_chunked(one_thread: PushGateway) -> None:
    # The errors come with a length; a chunked 2xx between them must not shift the stream.
    outcomes = one_thread.send_batch(batch("quota-7-a", "chunked-b", "unregistered-c",
                                           "chunked-gzip-d", "invalid-e"))
    assert [(o.status, o.code, o.retry_after) for o in outcomes] == [
        (PushStatus.RETRY, "QUOTA_EXCEEDED", 7.0), (PushStatus.SENT, None, None),
        (PushStatus.DEAD_TOKEN, "UNREGISTERED", None), (PushStatus.SENT, None, None),
        (PushStatus.FAILED, "INVALID_ARGUMENT", None)]


def test_cut_after_writing_is_unknown_and_never_resent(one_thread: PushGateway,
                                                       fcm: FcmStandIn) -> None:
    cut, after = one_thread.send_batch(batch("cut-1", "good-2"))
    assert (cut.status, cut.code) == (PushStatus.UNKNOWN, "UNAVAILABLE")
    assert isinstance(cut.error(), Unknowable)
    assert after.ok  # on a new connection
    assert fcm.counters()["by_token"] == {"warm-up": 1, "cut-1": 1, "good-2": 1}


def test_connection_dropped_while_idle_is_replaced_before_writing(
        one_thread: PushGateway, fcm: FcmStandIn) -> None:
    assert one_thread.send_one("drop-1", CONTENT).ok  # answered, then the server closes
    opened = _sends(fcm)
    time.sleep(0.2)  # the close reaches us while the connection is idle
    assert one_thread.send_one("good-2", CONTENT).ok
    assert fcm.counters()["by_token"] == {"warm-up": 1, "drop-1": 1, "good-2": 1}
    assert _sends(fcm) == opened + 1


def test_without_the_idle_check_the_same_send_would_be_unknown(
        one_thread: PushGateway, fcm: FcmStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the idle check saves: written into the dropped connection, the request is lost
    in flight, and then it must not be sent again."""
    monkeypatch.setattr(direct._Link, "_closed_while_idle", lambda self: False)
    assert one_thread.send_one("drop-1", CONTENT).ok
    time.sleep(0.2)
    lost = one_thread.send_one("good-2", CONTENT)
    assert (lost.status, lost.code) == (PushStatus.UNKNOWN, "UNAVAILABLE")
    assert "good-2" not in fcm.counters()["by_token"]


class _BrokenPipe:
    """A connected socket whose writes fail, as a connection the peer reset does."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _break_connections(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """The next `count` connections the direct sender opens fail on their first write."""
    real = direct._Origin.connect
    left = [count]

    def connect(self: direct._Origin) -> Any:
        sock = real(self)
        if left[0] <= 0:
            return sock
        left[0] -= 1
        return _BrokenPipe(sock)

    monkeypatch.setattr(direct._Origin, "connect", connect)


def test_a_failed_write_is_tried_once_on_a_fresh_connection(
        fcm: FcmStandIn, service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break_connections(monkeypatch, 1)
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender="direct",
                     threads=1) as gateway:
        assert gateway.send_one("good-1", CONTENT).ok
    assert fcm.counters()["by_token"] == {"good-1": 1}
    assert _sends(fcm) == 2  # the broken one, then the one it went on


def test_two_failed_writes_are_retry(fcm: FcmStandIn, service_account: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _break_connections(monkeypatch, 2)
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender="direct",
                     threads=1) as gateway:
        failed = gateway.send_one("good-1", CONTENT)
        assert (failed.status, failed.code) == (PushStatus.RETRY, "UNAVAILABLE")
        assert gateway.send_one("good-2", CONTENT).ok  # the third connection is a good one
    assert fcm.counters()["by_token"] == {"good-2": 1}


def test_timeout_is_unknown_then_a_new_connection(fcm: FcmStandIn,
                                                  service_account: Path) -> None:
    with PushGateway(service_account, endpoint=fcm.url, timeout=0.3, sender="direct",
                     threads=1) as gateway:
        slow = gateway.send_one("slow-1000-a", CONTENT)
        assert (slow.status, slow.code) == (PushStatus.UNKNOWN, "DEADLINE_EXCEEDED")
        assert gateway.send_one("good-b", CONTENT).ok
        opened = _sends(fcm)
    assert fcm.counters()["by_token"] == {"slow-1000-a": 1, "good-b": 1}
    assert opened == 2  # the timed-out connection is not read from again
    # The stand-in counts the slow one sent once its second is over, past the client's timeout:
    # waited for here, or it lands in a later test's counters (test_dry_run_… saw 3 sent, not 2).
    assert wait_for(lambda: fcm.counters()["sent"] == 2, 5)


def test_body_is_the_sdks_json_with_the_token_escaped(one_thread: PushGateway,
                                                      fcm: FcmStandIn) -> None:
    content = PushContent(title='Tin "khẩn"', body="Dòng 1\nDòng 2 \\ hết", image="https://x/a.png",
                          link="hg://tin/9", data={"k": "v"}, priority="high",
                          expires_at=datetime.now(UTC) + timedelta(hours=2), collapse_key="c-1")
    token = 'tok-"quoted"\\back/slash\u2028é\x01'
    assert one_thread.send_batch(batch(token, "plain", content=content))[0].ok
    first, second = fcm.messages(2)
    assert first["token"] == token
    assert second["token"] == "plain"
    expected = messaging._MessagingService.encode_message(build_message(content, token=token))
    assert first == expected  # the same message the SDK would have posted (TTL to the second)


def test_dry_run_asks_only_for_validation(one_thread: PushGateway, fcm: FcmStandIn) -> None:
    outcome = one_thread.send_batch(batch("good"), dry_run=True)[0]
    assert outcome.message_name == "projects/loa-test/messages/fake_message_id"
    assert fcm.counters()["sent"] == 2  # the warm-up, and this one validated


def test_a_token_that_is_not_a_string_is_not_sent(one_thread: PushGateway,
                                                   fcm: FcmStandIn) -> None:
    bad = PushMessage("1", 42, CONTENT)  # type: ignore[arg-type]
    outcome, good = one_thread.send_batch([bad, PushMessage("2", "good", CONTENT)])
    assert (outcome.status, outcome.code) == (PushStatus.FAILED, "INVALID_ARGUMENT")
    assert good.ok
    assert fcm.counters()["requests"] == 2  # the warm-up and "good"


class _IdleSocket:
    """What an idle connection's socket shows the idle check: `recv` gives `got`."""

    def __init__(self, got: bytes | type[BaseException]) -> None:
        self._got = got

    def setblocking(self, flag: bool) -> None:
        pass

    def settimeout(self, timeout: float) -> None:
        pass

    def fileno(self) -> int:
        return 99

    def recv(self, n: int) -> bytes:
        if isinstance(self._got, bytes):
            return self._got
        raise self._got()


class _Readable:
    def poll(self, timeout: float) -> list[tuple[int, int]]:
        return [(99, 1)]


@pytest.mark.parametrize(("got", "closed"), [
    (b"", True),  # the server's FIN
    (b"H", True),  # an answer nobody asked for: the stream is out of step
    (ConnectionResetError, True),
    (ssl.SSLWantReadError, False),  # a TLS record with no data in it (a late session ticket)
])
def test_idle_check_tells_closed_from_tls_housekeeping(got: bytes | type[BaseException],
                                                       closed: bool) -> None:
    link = direct._Link(direct._Origin("http://127.0.0.1:1/x", 1.0))
    link._sock = _IdleSocket(got)  # type: ignore[assignment]
    link._poll = _Readable()  # type: ignore[assignment]
    assert link._closed_while_idle() is closed


def _answer_of(raw: bytes, *, close: bool = True) -> Any:
    """What one link makes of `raw` sent back by an endpoint, as an exchange would."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(2)
        link = direct._Link.__new__(direct._Link)
        link._sock, link._reader, link._poll = ours, direct._Reader(ours), select.poll()

        def endpoint() -> None:  # from a thread: more than the socket's buffer holds
            with contextlib.suppress(OSError):  # the link stopped reading and closed
                theirs.sendall(raw)
            if close:
                theirs.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=endpoint, daemon=True)
        sender.start()
        try:
            return link._answer()
        except (OSError, ValueError) as exc:
            return exc
        finally:
            ours.shutdown(socket.SHUT_RDWR)
            sender.join(5)


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n{}",  # a length of gigabytes
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100001\r\n" + b"x" * 70000,
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * (direct.MAX_BODY + 10),
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (
        len(_bomb := gzip.compress(b"\0" * 20_000_000)), _bomb),  # 20 KB inflating to 20 MB
], ids=["length", "chunked", "to-close", "gzip-bomb"])
def test_an_answer_larger_than_fcm_would_send_is_unreadable_not_held(raw: bytes) -> None:
    # The endpoint keeps the connection open, as one streaming gigabytes would: the answer is
    # refused by its size, not by a close or a timeout.
    started = time.monotonic()
    got = _answer_of(raw, close=False)
    assert isinstance(got, direct.Cut) and "more than" in str(got), got
    assert time.monotonic() - started < 1.5


def test_a_small_gzip_answer_is_still_read() -> None:
    body = gzip.compress(b'{"name": "projects/p/messages/1"}')
    got = _answer_of(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
    assert isinstance(got, direct.Answer) and got.body == b'{"name": "projects/p/messages/1"}'
