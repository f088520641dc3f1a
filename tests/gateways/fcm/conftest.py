"""A fresh gateway per test, on the stand-in FCM of the test module.

The module's stand-in and its service account are the fixtures of tests/helpers/push (a plugin of
tests/conftest.py), the same ones the push tests use; here `fcm` only zeroes the stand-in, with no
app to configure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.fcm import PushGateway
from scripts.fcm import FcmStandIn


@pytest.fixture()
def fcm(standin: FcmStandIn) -> Iterator[FcmStandIn]:
    """The module's stand-in with zeroed counters and every switch off."""
    standin.reset()
    yield standin
    standin.refuse_auth = standin.deny_send = False
    standin.latency = 0.0


@pytest.fixture()
def gateway(fcm: FcmStandIn, service_account: Path) -> Iterator[PushGateway]:
    gw = PushGateway(service_account, endpoint=fcm.url, timeout=5)
    yield gw
    gw.close()
