"""The one classify: every SMPP command_status Loa knows and every FCM outcome, to a ledger
status, reason, error code and retry decision, for each channel's policy."""

from __future__ import annotations

import pytest

from dispatch.engine.outcomes import Verdict, classify
from dispatch.models import MessageStatus
from dispatch.push import state as push
from dispatch.sms import recorder as sms
from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable, Unknowable
from gateways.outcome import Fate, Outcome, fate_of, outcome_of
from gateways.smpp import PartOutcome, SubmitOutcome
from gateways.smpp import status as codes

S = MessageStatus
MAX = sms.MAX_ATTEMPTS


def submit(*parts: tuple[str, GatewayError | None]) -> Outcome:
    """An SMPP submit's outcome with parts given as (state, error)."""
    return SubmitOutcome("1", "gsm7", tuple(
        PartOutcome(n, state, f"ID{n}" if state == "accepted" else None, error)
        for n, (state, error) in enumerate(parts, start=1))).outcome


def smpp_expected(status: codes.Status, attempts: int) -> Verdict:
    if status.cls == "ok":
        return Verdict(S.SUBMITTED)
    reason = (status.name, status.hex)
    if status.cls == "permanent" or attempts >= MAX:
        return Verdict(S.FAILED, *reason)
    if status.cls == "auth":
        return Verdict(S.QUEUED, *reason, sms.AUTH_FAILED_DELAY)
    return Verdict(S.QUEUED, *reason, sms.RETRY_DELAY)  # retryable and throttle


KNOWN = [*sorted(codes.TABLE), 0x400, 0x4FF, 0x1234]  # vendor and unlisted codes too


@pytest.mark.parametrize("attempts", [1, MAX - 1, MAX])
@pytest.mark.parametrize("code", KNOWN, ids=[f"0x{c:02X}" for c in KNOWN])
def test_every_smpp_command_status(code: int, attempts: int) -> None:
    error = codes.error_for(code)
    outcome = submit(("accepted", None) if error is None else ("failed", error))
    assert classify(outcome, attempts, sms.POLICY) == smpp_expected(codes.lookup(code), attempts)


@pytest.mark.parametrize(("parts", "attempts", "expected"), [
    # The link died with it in flight: never resent, whatever the attempts.
    ([("unknown", Unknowable("no submit_sm_resp in time", code="timeout"))], 1,
     Verdict(S.UNKNOWN, "timeout", "timeout")),
    # A part is out: resending the message would send that part twice.
    ([("accepted", None), ("failed", codes.error_for(0x58))], 1,
     Verdict(S.FAILED, "ESME_RTHROTTLED", "0x58")),
    ([("accepted", None), ("unknown", Unknowable("link lost", code="link_lost"))], 1,
     Verdict(S.UNKNOWN, "link_lost", "link_lost")),
    # Nothing on the wire: our own session closed (the next process takes it at once), no bind,
    # an SMSC asking to wait.
    ([("not_sent", Retryable("session closed", code="closed"))], 1,
     Verdict(S.QUEUED, "closed", "closed", 0.0)),
    ([("not_sent", Retryable("no bind", code="unbound"))], 1,
     Verdict(S.QUEUED, "unbound", "unbound", sms.UNBOUND_DELAY)),
    ([("failed", codes.error_for(0x14, retry_after=2.5))], 1,
     Verdict(S.QUEUED, "ESME_RMSGQFUL", "0x14", 2.5)),
    ([("not_sent", AuthFailed("ESME_RINVPASWD: Invalid password", code="0x0E"))], 1,
     Verdict(S.QUEUED, "ESME_RINVPASWD", "0x0E", sms.AUTH_FAILED_DELAY)),
])
def test_smpp_outcomes_beyond_the_status_table(parts, attempts, expected) -> None:
    assert classify(submit(*parts), attempts, sms.POLICY) == expected


def fcm(fate: Fate, code: str | None = None, retry_after: float | None = None) -> Outcome:
    return Outcome("1", fate, code=code, reason="FCM said so", retry_after=retry_after)


@pytest.mark.parametrize(("outcome", "attempts", "expected"), [
    (fcm(Fate.SENT), 1, Verdict(S.SUBMITTED)),
    (fcm(Fate.DEAD_TOKEN, "UNREGISTERED"), 1, Verdict(S.FAILED, "unregistered")),
    (fcm(Fate.DEAD_TOKEN, "SENDER_ID_MISMATCH"), 1, Verdict(S.FAILED, "sender_id_mismatch")),
    (fcm(Fate.FAILED, "INVALID_ARGUMENT"), 1, Verdict(S.FAILED, "invalid_argument")),
    (fcm(Fate.FAILED, "THIRD_PARTY_AUTH_ERROR"), 1, Verdict(S.FAILED, "third_party_auth_error")),
    (fcm(Fate.FAILED, "NOT_FOUND"), 1, Verdict(S.FAILED, "not_found")),
    (fcm(Fate.FAILED), 1, Verdict(S.FAILED, "failed")),
    (fcm(Fate.EXPIRED, "EXPIRED"), 1, Verdict(S.EXPIRED, "validity_ended")),
    (fcm(Fate.UNKNOWN, "UNKNOWN"), 1, Verdict(S.UNKNOWN, "unknown")),
    (fcm(Fate.UNKNOWN, "DEADLINE_EXCEEDED"), MAX, Verdict(S.UNKNOWN, "deadline_exceeded")),
    # Backoff 15, 30, 60, 120 s, at least FCM's Retry-After; failed after MAX_ATTEMPTS sends.
    (fcm(Fate.RETRY, "UNAVAILABLE"), 1, Verdict(S.QUEUED, "unavailable", None, 15.0)),
    (fcm(Fate.RETRY, "INTERNAL"), 3, Verdict(S.QUEUED, "internal", None, 60.0)),
    (fcm(Fate.RETRY, "INTERNAL", 200.0), 2, Verdict(S.QUEUED, "internal", None, 200.0)),
    (fcm(Fate.RETRY, "UNAVAILABLE"), push.MAX_ATTEMPTS, Verdict(S.FAILED, "unavailable")),
    # The project's quota: not the message's fault, so no attempt limit.
    (fcm(Fate.RETRY, "QUOTA_EXCEEDED", 30.0), 1, Verdict(S.QUEUED, "quota_exceeded", None, 30.0)),
    (fcm(Fate.RETRY, "QUOTA_EXCEEDED"), 50, Verdict(S.QUEUED, "quota_exceeded", None, 60.0)),
    # The service account refused: held (the push side is blocked) until an operator acts.
    (fcm(Fate.AUTH, "UNAUTHENTICATED"), 1, Verdict(S.QUEUED, "unauthenticated", None, None)),
    (fcm(Fate.AUTH, "PERMISSION_DENIED"), 50, Verdict(S.QUEUED, "permission_denied", None,
                                                      None)),
])
def test_every_fcm_outcome(outcome, attempts, expected) -> None:
    assert classify(outcome, attempts, push.POLICY) == expected


@pytest.mark.parametrize(("error", "fate"), [
    (None, Fate.SENT),
    (Retryable("busy", code="UNAVAILABLE", retry_after=3.0), Fate.RETRY),
    (Permanent("bad", code="INVALID_ARGUMENT"), Fate.FAILED),
    (Permanent("validity ended before sending", code="EXPIRED"), Fate.EXPIRED),
    (Unknowable("read timeout", code="UNKNOWN"), Fate.UNKNOWN),
    (AuthFailed("refused", code="UNAUTHENTICATED"), Fate.AUTH),
    (GatewayError("something else"), Fate.RETRY),
])
def test_a_gateway_error_maps_to_one_fate_and_back(error, fate) -> None:
    assert fate_of(error) is fate
    if error is not None:
        outcome = outcome_of("7", error)
        assert (outcome.status, outcome.code) == (fate, error.code)
        back = outcome.error()
        assert back is not None and back.code == error.code
        if fate is not Fate.RETRY or isinstance(error, Retryable):
            assert type(back) is type(error)
