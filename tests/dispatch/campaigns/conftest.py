"""The campaign tests' lifecycle driver as a fixture (tests/helpers/campaigns.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.campaigns import Flow
from tests.helpers.factories import ApiClient


@pytest.fixture()
def flow(api: ApiClient, people: dict[str, Any]) -> Flow:
    return Flow(api, people)
