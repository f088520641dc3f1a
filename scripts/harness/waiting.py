"""Waiting for something another thread or process does: the one polling loop of the scripts
and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, what: str | None = None, *,
             interval: float = 0.05, tolerate: tuple[type[BaseException], ...] = ()) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    After `timeout` seconds: its last value (falsy; a test asserts on it), or, when `what` says
    what was awaited, TimeoutError. Exceptions of the `tolerate` types count as "not yet" (a
    stand-in whose port is not open yet). The default is generous: what takes a second on a
    quiet machine can take ten on a loaded one, and the wait costs nothing when it holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value: Any = predicate()
        except tolerate:
            value = None
        if value:
            return value  # type: ignore[no-any-return]
        if time.monotonic() >= deadline:
            if what is not None:
                raise TimeoutError(f"{what}: not within {timeout:g} s")
            return value  # type: ignore[no-any-return]
        time.sleep(interval)


def wait_draining(remaining: Callable[[], int], stall: float = 60.0, timeout: float = 900.0,
                  *, interval: float = 1.0) -> int:
    """Poll `remaining` (how much is left of some work another process does) until it is 0,
    and return the last value: 0, or what was left when it stopped falling for `stall` seconds
    or `timeout` passed. For work whose pace follows the machine's load (a busy machine
    drains slower, not never): a stall fails, a slow pace does not."""
    deadline = time.monotonic() + timeout
    left = remaining()
    moved = time.monotonic()
    while left:
        now = time.monotonic()
        if now - moved >= stall or now >= deadline:
            return left
        time.sleep(interval)
        now_left = remaining()
        if now_left < left:
            moved = time.monotonic()
        left = now_left
    return 0
