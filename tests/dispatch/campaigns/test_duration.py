"""The expected duration of a campaign's SMS: exact to the minute, and the send window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from dispatch.campaigns.duration import estimate, finish_at, sending_seconds
from dispatch.models import Campaign, User
from dispatch.sms import status as smpp_status
from tests.helpers.factories import add_account
from tests.helpers.sms import make_campaign

SEVEN, TEN_PM = time(7, 0), time(22, 0)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Vietnam (UTC+7), as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def test_sending_seconds_and_finish_within_one_window(app: Any) -> None:
    # 405,000 parts at 50 a second: 8,100 s = 2 h 15 min exactly.
    assert sending_seconds(405_000, 50) == 8_100
    assert sending_seconds(405_001, 50) == 8_101  # a part more is a second more
    assert finish_at(local(3, 9), 8_100, SEVEN, TEN_PM) == (local(3, 11, 15), 0)


def test_what_does_not_fit_before_22_00_continues_the_next_morning(app: Any) -> None:
    # Begun at 20:30 with 3 h to send: 1 h 30 min tonight, the rest from 07:00 tomorrow.
    assert finish_at(local(3, 20, 30), 3 * 3600, SEVEN, TEN_PM) == (local(4, 8, 30), 1)
    # Begun at night: nothing goes before 07:00.
    assert finish_at(local(3, 5), 600, SEVEN, TEN_PM) == (local(3, 7, 10), 0)
    # Two whole days of sending: two closings.
    assert finish_at(local(3, 7), 2 * 15 * 3600 + 60, SEVEN, TEN_PM) == (local(5, 7, 1), 2)


def test_the_estimate_takes_the_slowest_account_at_its_tps_or_its_window(
        backend: str, redis: Any, people: dict[str, User]) -> None:
    viettel = add_account(name="viettel", tps=50, window=10)
    add_account(name="vinaphone", tps=100, window=10)
    c: Campaign = make_campaign(people["editor"], window_start=SEVEN, window_end=TEN_PM)
    figures = estimate(c, {"viettel": 135_000, "vinaphone": 135_000, "gmobile": 7},
                       parts_per_message=3, start=local(3, 9))
    assert figures is not None
    assert figures["seconds"] == 8_100 and figures["longest"] == "viettel"
    assert figures["unrouted"] == 7  # gmobile: no account carries it
    assert figures["finish_at"] == local(3, 11, 15).isoformat() and not figures["next_day"]
    by_name = {a["account"]: a for a in figures["accounts"]}
    assert by_name["vinaphone"]["seconds"] == 4_050
    # Viettel's bind reports a 100 ms round trip: its window of 10 carries 100/s, under a TPS
    # of 500, so the window sets its time.
    viettel.tps = 500
    smpp_status.publish(redis, [{"account_id": viettel.id, "account": "viettel",
                                 "process": "test", "name": "viettel-1", "state": "bound",
                                 "bind_mode": "transceiver", "window": 10, "round_trip": 0.1,
                                 "accepted_rate": 97.0, "refused_recent": 0}])
    figures = estimate(c, {"viettel": 135_000}, parts_per_message=3, start=local(3, 9))
    assert figures is not None
    line = figures["accounts"][0]
    assert line["limit"] == "window" and line["rate"] == 100 and line["measured_rate"] == 97
    assert figures["seconds"] == 4_050
