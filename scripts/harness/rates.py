"""Rates measured from timestamps: what a throttle test or benchmark checks a TPS against."""

from __future__ import annotations


def busiest_second(stamps: list[float]) -> int:
    """The most events in any sliding one-second window (a window closed at both ends, so a
    throttle at `rate` may show rate + 1)."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] <= stamp - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
