"""The POST itself (gateways.webhook) against a real receiver: no redirect followed, a huge
answer not read whole, a timeout."""

from __future__ import annotations

import time

from gateways import webhook


def test_a_redirect_is_not_followed(receiver):
    receiver.answers = [("redirect", "/elsewhere")]
    result = webhook.post(receiver.url, b"{}", {})
    assert not result.ok and result.status == 302 and result.error == "redirect_302"
    assert [r.path for r in receiver.received] == ["/loa/events"]


def test_a_huge_answer_is_not_read_whole(receiver):
    receiver.answers = [("huge", 64 * 1024 * 1024)]
    started = time.monotonic()
    result = webhook.post(receiver.url, b"{}", {}, max_body=4096)
    assert result.ok and len(result.body) == 4096
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while not receiver.huge_sent_whole and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.huge_sent_whole == [False]  # Loa hung up long before 64 MB


def test_a_slow_receiver_times_out(receiver):
    receiver.answers = [("sleep", 2)]
    result = webhook.post(receiver.url, b"{}", {}, read_timeout=0.3)
    assert not result.ok and result.status is None and result.error == "timeout"
    assert result.duration_ms < 1500


def test_nothing_listening_is_a_connect_error():
    result = webhook.post("http://127.0.0.1:9/x", b"{}", {}, connect_timeout=0.5)
    assert not result.ok and result.error is not None and result.error.startswith("connect")
