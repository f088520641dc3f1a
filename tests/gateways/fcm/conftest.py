"""A stand-in FCM per test module, a generated service account, a fresh gateway per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.fcm import PushGateway
from scripts.fcm import FcmStandIn

PROJECT = "loa-test"


@pytest.fixture(scope="module")
def standin() -> Iterator[FcmStandIn]:
    with FcmStandIn(project_id=PROJECT) as server:
        yield server


@pytest.fixture(scope="module")
def service_account(standin: FcmStandIn, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standin.write_service_account(tmp_path_factory.mktemp("fcm") / "service-account.json")


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
