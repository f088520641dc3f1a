"""The graceful stop of a long-running process: SIGTERM (the process manager) or SIGINT (^C)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(event: threading.Event | None = None, *, log: logging.Logger | None = None,
                    message: str = "%s received, stopping") -> threading.Event:
    """Set `event` (a new one when None) on SIGTERM or SIGINT, and return it; the process stops
    at its own pace once it sees it. `message` (with %s for the signal's name) goes to `log`.
    Call from the main thread: Python runs signal handlers there only."""
    stop = event if event is not None else threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if log is not None:
            log.info(message, signal.Signals(signum).name)
        stop.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, request_stop)
    return stop
