"""A fresh gateway per test, on the stand-in FCM of the test module.

The module's stand-in and its service account are the fixtures of tests/helpers/push (a plugin of
tests/conftest.py), the same ones the push tests use; here `fcm` only zeroes the stand-in, with no
app to configure. `sender` runs each test once per way of sending (gateways.fcm.SENDERS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.fcm import SENDERS, PushGateway
from scripts.fcm import FcmStandIn


@pytest.fixture()
def fcm(standin: FcmStandIn) -> Iterator[FcmStandIn]:
    """The module's stand-in with zeroed counters and every switch off."""
    standin.reset()
    yield standin
    standin.refuse_auth = standin.deny_send = False
    standin.latency = 0.0


@pytest.fixture(params=SENDERS)
def sender(request: pytest.FixtureRequest) -> str:
    """Every way the gateway can send a batch: each must give the same outcomes."""
    return str(request.param)


@pytest.fixture()
def gateway(fcm: FcmStandIn, service_account: Path, sender: str) -> Iterator[PushGateway]:
    gw = PushGateway(service_account, endpoint=fcm.url, timeout=5, sender=sender)
    yield gw
    gw.close()
