"""Waiting for something another thread or process does: the one polling loop of the scripts
and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str | None = None, *,
             interval: float = 0.05, tolerate: tuple[type[BaseException], ...] = ()) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    After `timeout` seconds: its last value (falsy; a test asserts on it), or, when `what` says
    what was awaited, TimeoutError. Exceptions of the `tolerate` types count as "not yet" (a
    stand-in whose port is not open yet)."""
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
