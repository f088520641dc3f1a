"""Started: what a drill or a benchmark starts whole and must stop whole, as a `with` block."""

from __future__ import annotations

from typing import Any, Self


class Started:
    """`with X(...) as x:` starts x and stops it at the end. When starting fails halfway, what
    did start is stopped before the error goes on, so no child or data folder is left behind;
    `stop` must therefore cope with a start that did not finish."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()
