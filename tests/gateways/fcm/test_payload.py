"""Payload size and validation, and the wire message FCM receives for a piece of content."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from gateways.fcm import (
    LINK_KEY,
    PayloadInvalid,
    PayloadTooLarge,
    PushContent,
    PushGateway,
    build_message,
    check_payload,
    payload_size,
)
from gateways.fcm.gateway import _retry_after
from scripts.fcm import FcmStandIn


def test_size_is_utf8_bytes_of_the_compact_json() -> None:
    content = PushContent(title="Tin", body="Đường", data={"id": "7"}, link="hg://a")
    wire = '{"notification":{"title":"Tin","body":"Đường"},"data":{"id":"7","link":"hg://a"}}'
    assert payload_size(content) == len(wire.encode()) == len(wire) + 4  # Đ, ư, ờ: 2-3 bytes


@pytest.mark.parametrize(("topic", "limit"), [(False, 4096), (True, 2048)])
def test_too_large_names_the_overage(topic: bool, limit: int) -> None:
    overhead = payload_size(PushContent(body="x")) - 1
    content = PushContent(body="x" * (limit - overhead))
    assert check_payload(content, topic=topic) == limit  # exactly at the limit is fine
    over = PushContent(body="ế" * ((limit - overhead) // 3 + 10))  # 3 bytes each
    with pytest.raises(PayloadTooLarge) as error:
        check_payload(over, topic=topic)
    size = payload_size(over)
    assert error.value.over == size - limit > 0
    assert f"{size:,} bytes, {size - limit:,} over FCM's {limit:,}-byte limit" in str(error.value)
    assert error.value.code == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(("content", "field"), [
    (PushContent(), "body"),
    (PushContent(body="x", data={"from": "a"}), "data.from"),
    (PushContent(body="x", data={"google.c.a": "a"}), "data.google.c.a"),
    (PushContent(body="x", data={"n": 1}), "data.n"),  # type: ignore[dict-item]
    (PushContent(body="x", link="hg://a", data={LINK_KEY: "b"}), f"data.{LINK_KEY}"),
    (PushContent(body="x", image="http://insecure/a.png"), "image"),
    (PushContent(body="x", collapse_key="k" * 65), "collapse_key"),
    (PushContent(body="x", priority="urgent"), "priority"),  # type: ignore[arg-type]
    (PushContent(body="x", expires_at=datetime(2030, 1, 1)), "expires_at"),
])
def test_invalid_fields_are_named(content: PushContent, field: str) -> None:
    with pytest.raises(PayloadInvalid) as error:
        check_payload(content)
    assert error.value.field == field


def test_wire_message_carries_delivery_options(gateway: PushGateway, fcm: FcmStandIn) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    content = PushContent(
        title="Cúp nước", body="Phường 5, 8g-12g", image="https://hg.gov.vn/a.png",
        link="hg://tin/9", data={"campaign": "9"}, priority="high", expires_at=expires,
        collapse_key="campaign-9",
    )
    assert gateway.send_one("tok-a", content).ok
    (message,) = fcm.messages(1)
    assert message["token"] == "tok-a"
    assert message["notification"] == {"title": "Cúp nước", "body": "Phường 5, 8g-12g",
                                       "image": "https://hg.gov.vn/a.png"}
    assert message["data"] == {"campaign": "9", "link": "hg://tin/9"}
    android = message["android"]
    assert android["priority"] == "high"
    assert android["collapse_key"] == "campaign-9"
    assert 7190 <= int(android["ttl"].rstrip("s")) <= 7200
    assert message["apns"]["headers"] == {
        "apns-priority": "10",
        "apns-expiration": str(int(expires.timestamp())),
        "apns-collapse-id": "campaign-9",
    }
    assert message["apns"]["payload"] == {"aps": {"mutable-content": 1}}
    assert message["apns"]["fcm_options"] == {"image": "https://hg.gov.vn/a.png"}


def test_plain_content_sends_no_optional_fields() -> None:
    message = json.loads(str(build_message(PushContent(body="x"), token="t")))
    assert message == {"android": {"priority": "normal"}, "apns": {"headers": {
        "apns-priority": "5"}}, "notification": {"body": "x"}, "token": "t"}


def test_ttl_is_capped_at_four_weeks() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    content = PushContent(body="x", expires_at=now + timedelta(days=90))
    message = json.loads(str(build_message(content, token="t", now=now)))
    assert message["android"]["ttl"] == f"{28 * 86400}s"
    assert message["apns"]["headers"]["apns-expiration"] == str(
        int((now + timedelta(days=28)).timestamp()))


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "17"
    assert _retry_after(response) == 17.0
    later = datetime.now(UTC) + timedelta(seconds=120)
    response.headers["Retry-After"] = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 110 <= (_retry_after(response) or 0) <= 120
    response.headers["Retry-After"] = "soon"
    assert _retry_after(response) is None
