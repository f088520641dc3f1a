"""Shared by the security tests."""

from __future__ import annotations

import logging


class Unhandled(logging.Handler):
    """Keeps the exception behind each 500 (dispatch.errors logs it), for the findings."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.into.append(f"{type(exc).__module__}.{type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160] if str(exc) else ''}")
