"""Per-device batches and topic sends through the real firebase_admin.messaging code path."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateways.errors import AuthFailed, Permanent, Retryable, Unknowable
from gateways.fcm import (
    PayloadTooLarge,
    PushAuthFailed,
    PushContent,
    PushGateway,
    PushMessage,
    PushStatus,
)
from scripts.fcm import FcmStandIn

CONTENT = PushContent(title="Thông báo", body="Lịch tiêm chủng tại phường 5", link="hg://tin/1")


def batch(*tokens: str, content: PushContent = CONTENT) -> list[PushMessage]:
    return [PushMessage(str(i), token, content) for i, token in enumerate(tokens)]


def test_mixed_batch_maps_every_outcome(gateway: PushGateway, fcm: FcmStandIn) -> None:
    tokens = ["good-1", "unregistered-a", "mismatch-b", "quota-30-c", "unavailable-d",
              "internal-e", "invalid-f", "thirdparty-g", "good-2"]
    started = time.monotonic()
    outcomes = gateway.send_batch(batch(*tokens))
    elapsed = time.monotonic() - started

    got = {tokens[int(o.ref)]: (o.status, o.code, o.retry_after) for o in outcomes}
    assert got == {
        "good-1": (PushStatus.SENT, None, None),
        "good-2": (PushStatus.SENT, None, None),
        "unregistered-a": (PushStatus.DEAD_TOKEN, "UNREGISTERED", None),
        "mismatch-b": (PushStatus.DEAD_TOKEN, "SENDER_ID_MISMATCH", None),
        "quota-30-c": (PushStatus.RETRY, "QUOTA_EXCEEDED", 30.0),
        "unavailable-d": (PushStatus.RETRY, "UNAVAILABLE", None),
        "internal-e": (PushStatus.RETRY, "INTERNAL", None),
        "invalid-f": (PushStatus.FAILED, "INVALID_ARGUMENT", None),
        "thirdparty-g": (PushStatus.FAILED, "THIRD_PARTY_AUTH_ERROR", None),
    }
    assert [o.ref for o in outcomes] == [str(i) for i in range(len(tokens))]  # input order
    sent = [o for o in outcomes if o.ok]
    assert all(o.message_name and o.message_name.startswith("projects/loa-test/messages/")
               for o in sent)
    invalid = next(o for o in outcomes if o.code == "INVALID_ARGUMENT")
    assert "not a valid FCM registration token" in invalid.reason
    # One request per message: the SDK retried nothing and slept on nothing.
    counters = fcm.counters()
    assert counters["by_token"] == dict.fromkeys(tokens, 1)
    assert counters["tokens_issued"] == 1
    assert elapsed < 5  # a Retry-After of 30 s or the SDK's 5xx schedule (≈7 s) would show


def test_outcomes_convert_to_gateway_errors(gateway: PushGateway) -> None:
    sent, dead, quota, unavailable, invalid = gateway.send_batch(
        batch("good", "unregistered-x", "quota-12-x", "unavailable-4-x", "invalid-x"))
    assert sent.error() is None
    assert isinstance(dead.error(), Permanent)
    error = quota.error()
    assert isinstance(error, Retryable) and error.retry_after == 12.0
    assert error.code == "QUOTA_EXCEEDED"
    assert unavailable.retry_after == 4.0  # a 503's Retry-After is honoured too
    assert isinstance(invalid.error(), Permanent)


def test_429_and_5xx_do_not_hold_the_worker(gateway: PushGateway, fcm: FcmStandIn) -> None:
    tokens = [f"{kind}-{i}" for kind in ("quota", "unavailable", "internal") for i in range(40)]
    started = time.monotonic()
    outcomes = gateway.send_batch(batch(*tokens))
    elapsed = time.monotonic() - started
    assert {o.status for o in outcomes} == {PushStatus.RETRY}
    assert all(o.retry_after == 60.0 for o in outcomes if o.code == "QUOTA_EXCEEDED")
    assert fcm.counters()["requests"] == len(tokens)  # no SDK retry
    # The SDK's own schedule would sleep ≈7 s (5xx) or 60 s (429); 120 requests on a loaded
    # machine can take a few seconds without sleeping at all.
    assert elapsed < 5


def test_full_batch_of_500(gateway: PushGateway, fcm: FcmStandIn) -> None:
    outcomes = gateway.send_batch(batch(*(f"tok-{i}" for i in range(500))))
    assert {o.status for o in outcomes} == {PushStatus.SENT}
    assert len({o.message_name for o in outcomes}) == 500
    assert fcm.counters()["sent"] == 500
    with pytest.raises(ValueError, match="at most 500"):
        gateway.send_batch(batch(*(f"tok-{i}" for i in range(501))))


def test_senders_keep_their_connections(gateway: PushGateway, fcm: FcmStandIn,
                                        sender: str) -> None:
    """Batch after batch on the connections already open; HTTP/2 as h2c on few of them."""
    gateway.send_batch(batch(*(f"warm-{i}" for i in range(500))))
    opened = fcm.counters()["connections"]
    tokens = [f"tok-{i}" for i in range(400)] + [f"unregistered-{i}" for i in range(100)]
    for _ in range(3):
        outcomes = gateway.send_batch(batch(*tokens))
        assert [o.status for o in outcomes] == [PushStatus.SENT] * 400 + [
            PushStatus.DEAD_TOKEN] * 100
    counters = fcm.counters()
    assert counters["by_token"] == {**{f"warm-{i}": 1 for i in range(500)},
                                    **dict.fromkeys(tokens, 3)}
    if sender != "send_each":  # whose 500 fresh threads outnumber the connections pooled
        assert counters["connections"] == opened  # none opened after the first batch
    if sender == "http2":
        assert 1 <= counters["h2_connections"] <= 5  # 500 streams on few connections
    else:
        assert counters["h2_connections"] == 0
    if sender in ("threads", "direct"):
        assert opened <= 1 + 64  # the token request's, then one per pool thread


def test_topic_send_is_one_request(gateway: PushGateway, fcm: FcmStandIn) -> None:
    result = gateway.send_topic(CONTENT, topic="xa-vi-thanh", ref="campaign-7")
    assert result.ref == "campaign-7"
    assert result.remote_ids[0].startswith("projects/loa-test/messages/")
    condition = "'huyen-long-my' in topics || 'xa-vi-thanh' in topics"
    gateway.send_topic(CONTENT, condition=condition)
    counters = fcm.counters()
    assert counters["requests"] == 2
    assert counters["by_topic"] == {"xa-vi-thanh": 1}
    assert counters["by_condition"] == {condition: 1}


def test_topic_errors_raise(gateway: PushGateway, fcm: FcmStandIn) -> None:
    with pytest.raises(Retryable) as quota:
        gateway.send_topic(CONTENT, topic="quota-9-all")
    assert quota.value.retry_after == 9.0
    with pytest.raises(Permanent, match="topic"):
        gateway.send_topic(CONTENT, topic="not a topic!")
    big = PushContent(title="x", body="ư" * 1100)
    with pytest.raises(PayloadTooLarge, match="over FCM's 2,048-byte limit"):
        gateway.send_topic(big, topic="all")
    assert fcm.counters()["requests"] == 1  # only the quota one went out


def test_oversized_or_expired_messages_are_not_sent(gateway: PushGateway,
                                                    fcm: FcmStandIn) -> None:
    big = PushContent(title="x", body="ệ" * 1400)  # 3 bytes each in UTF-8
    past = PushContent(body="x", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    outcomes = gateway.send_batch(
        [PushMessage("1", "good", big), PushMessage("2", "good", past),
         PushMessage("3", "", CONTENT), PushMessage("4", "good", CONTENT)])
    assert [(o.status, o.code) for o in outcomes] == [
        (PushStatus.FAILED, "PAYLOAD_TOO_LARGE"),
        (PushStatus.EXPIRED, "EXPIRED"),
        (PushStatus.FAILED, "INVALID_ARGUMENT"),
        (PushStatus.SENT, None),
    ]
    assert "over FCM's 4,096-byte limit" in outcomes[0].reason
    assert fcm.counters()["requests"] == 1


def test_what_the_sdk_refuses_to_encode_is_failed_and_not_sent(gateway: PushGateway,
                                                                fcm: FcmStandIn) -> None:
    """The SDK's encoder refuses a title that is not a string and a token that is not one, before
    anything is sent: FAILED (not retried), whatever the sender, never UNKNOWN; the rest of the
    batch goes."""
    bad = PushContent(title=5)  # type: ignore[arg-type]  # past validate(), refused by the SDK
    outcomes = gateway.send_batch([
        PushMessage("1", "good-a", bad), PushMessage("2", 42, CONTENT),  # type: ignore[arg-type]
        PushMessage("3", "good-b", CONTENT), PushMessage("4", "good-c", bad)])
    assert [(o.status, o.code, o.retry_after) for o in outcomes] == [
        (PushStatus.FAILED, "INVALID_ARGUMENT", None),
        (PushStatus.FAILED, "INVALID_ARGUMENT", None),
        (PushStatus.SENT, None, None),
        (PushStatus.FAILED, "INVALID_ARGUMENT", None)]
    assert outcomes[0].reason == outcomes[3].reason == "Notification.title must be a string."
    assert outcomes[1].reason == "the registration token is not a string"
    assert isinstance(outcomes[0].error(), Permanent)
    assert fcm.counters()["by_token"] == {"good-b": 1}


def test_refused_service_account_fails_fast(fcm: FcmStandIn, service_account: Path,
                                            sender: str) -> None:
    fcm.refuse_auth = True
    with PushGateway(service_account, endpoint=fcm.url, sender=sender) as gateway:
        started = time.monotonic()
        with pytest.raises(PushAuthFailed) as refused:
            gateway.send_batch(batch("good-1", "good-2", "good-3"))
        assert time.monotonic() - started < 5  # no refresh retried on a back-off schedule
        assert "invalid_grant" in refused.value.reason
        assert [o.status for o in refused.value.outcomes] == [PushStatus.AUTH] * 3
        with pytest.raises(AuthFailed):
            gateway.send_topic(CONTENT, topic="all")
    counters = fcm.counters()
    assert counters["requests"] == 0  # nothing reached the send endpoint
    assert counters["tokens_refused"] == 2  # one per call, no retry storm


def test_permission_denied_fails_the_batch(gateway: PushGateway, fcm: FcmStandIn) -> None:
    fcm.deny_send = True
    with pytest.raises(PushAuthFailed) as denied:
        gateway.send_batch(batch("good-1", "good-2"))
    assert {(o.status, o.code) for o in denied.value.outcomes} == {
        (PushStatus.AUTH, "PERMISSION_DENIED")}
    assert fcm.counters()["requests"] == 2


def test_revoked_token_fails_then_recovers(gateway: PushGateway, fcm: FcmStandIn) -> None:
    assert gateway.send_batch(batch("good"))[0].ok
    fcm.revoke_tokens()
    with pytest.raises(PushAuthFailed) as revoked:
        gateway.send_batch(batch("good-1", "good-2"))
    assert {o.status for o in revoked.value.outcomes} == {PushStatus.AUTH}
    assert fcm.counters()["unauthenticated"] == 2  # one 401 each, no refresh-and-resend
    # The refused token was dropped: the next batch asks for a new one and goes through.
    assert gateway.send_batch(batch("good-3"))[0].ok
    assert fcm.counters()["tokens_issued"] == 2


def test_read_timeout_is_unknown(fcm: FcmStandIn, service_account: Path,
                                 sender: str) -> None:
    with PushGateway(service_account, endpoint=fcm.url, timeout=0.3, sender=sender) as gateway:
        slow, fine = gateway.send_batch(batch("slow-1500-a", "good"))
    assert (slow.status, slow.code) == (PushStatus.UNKNOWN, "DEADLINE_EXCEEDED")
    assert isinstance(slow.error(), Unknowable)
    assert fine.ok


def test_refused_connection_is_retry(fcm: FcmStandIn, service_account: Path,
                                     sender: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with PushGateway(service_account, endpoint=f"http://127.0.0.1:{port}",
                     sender=sender) as gateway:
        started = time.monotonic()
        (outcome,) = gateway.send_batch(batch("good"))
    assert (outcome.status, outcome.code) == (PushStatus.RETRY, "UNAVAILABLE")
    assert time.monotonic() - started < 5  # no retries on a back-off schedule


def test_two_gateways_coexist(fcm: FcmStandIn, service_account: Path,
                              tmp_path: Path, sender: str) -> None:
    with FcmStandIn(project_id="other-project") as other:
        other_sa = other.write_service_account(tmp_path / "other.json")
        with PushGateway(service_account, endpoint=fcm.url, sender=sender) as first, \
                PushGateway(other_sa, endpoint=other.url, sender=sender) as second:
            assert first.project_id == "loa-test"
            assert second.project_id == "other-project"
            assert first.send_batch(batch("a"))[0].message_name.startswith(  # type: ignore[union-attr]
                "projects/loa-test/")
            assert second.send_batch(batch("b"))[0].message_name.startswith(  # type: ignore[union-attr]
                "projects/other-project/")
        assert other.counters()["by_token"] == {"b": 1}
    assert fcm.counters()["by_token"] == {"a": 1}


def test_dry_run_validates_without_sending(gateway: PushGateway) -> None:
    (outcome,) = gateway.send_batch(batch("good"), dry_run=True)
    assert outcome.message_name == "projects/loa-test/messages/fake_message_id"


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_no_deprecation_warning_for_tokens(gateway: PushGateway) -> None:
    assert gateway.send_one("good", CONTENT).ok
