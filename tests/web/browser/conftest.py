"""A real server on 127.0.0.1 and Debian's headless Chromium driven by Playwright.

The server runs the test app (same database and Redis as the test) in a thread on a free port.
Chromium is Debian's (`scripts/test` installs it): Playwright's own browser download cannot work
on these machines. They run on one database backend, as most tests do (tests/conftest.py).
Screenshots go to build/screenshots/ (not committed).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.helpers.screen import Screen

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it lives, and tests collected after these (asyncio.run in the stand-ins) need it gone.
@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def live_server(app: Flask) -> Iterator[str]:
    """The app served by a real HTTP server on 127.0.0.1 at a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture()
def screen(chromium: Any, live_server: str) -> Iterator[Screen]:
    window = Screen(chromium, live_server, DESKTOP)
    yield window
    window.close()
    assert window.errors == [], window.errors


@pytest.fixture()
def phone(chromium: Any, live_server: str) -> Iterator[Screen]:
    window = Screen(chromium, live_server, PHONE)
    yield window
    window.close()
    assert window.errors == [], window.errors
