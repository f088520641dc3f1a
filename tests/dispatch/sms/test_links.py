"""An account's link in the smpp process: what wakes its runner."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask

from dispatch.sms.links import AccountLink
from dispatch.sms.recorder import Resolved
from gateways.smpp import PartOutcome, SubmitOutcome
from tests.helpers.factories import add_account


class CountingCondition(threading.Condition):
    def __init__(self) -> None:
        super().__init__()
        self.notified = 0

    def notify_all(self) -> None:
        self.notified += 1
        super().notify_all()


def accepted(message_id: int) -> Resolved:
    outcome = SubmitOutcome(str(message_id), "gsm7", (PartOutcome(1, "accepted", "x", None, 1),))
    return Resolved(message_id, 1, 1, outcome)


def test_an_outcome_wakes_a_runner_waiting_for_room_only_once_there_is_room(
        app: Flask, backend: str) -> None:
    link = AccountLink(app, add_account(window=10), "secret", throttle=False)
    recorded: list[Any] = []
    link.recorder.put = recorded.append  # type: ignore[method-assign]  # not started here
    link.progress = CountingCondition()
    link.handed(link.hold)  # the sessions hold two windows
    returned = threading.Event()

    def runner() -> None:
        assert link.wait_hold(10)
        returned.set()

    waiting = threading.Thread(target=runner)
    waiting.start()
    time.sleep(0.05)
    for number in range(link.capacity - 1):  # a window less one: no room yet, nobody woken
        link.resolved(accepted(number))
    assert link.progress.notified == 0 and not returned.wait(0.1)
    link.resolved(accepted(99))  # room for a window: the runner goes on
    assert returned.wait(5)
    waiting.join(5)
    assert link.progress.notified == 1 and len(recorded) == link.capacity
    assert link.in_sessions == link.capacity and link.unrecorded == link.hold
