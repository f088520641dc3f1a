"""The engine tests' app: with the test Redis (builders: tests/helpers/engine.py, factories.py)."""

from __future__ import annotations

import pytest


@pytest.fixture()
def engine_app(app, redis):
    """The app wired to the test Redis; engine tests need both."""
    return app
