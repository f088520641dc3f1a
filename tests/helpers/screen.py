"""One headless Chromium window for the browser tests (tests/web/browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


class Screen:
    """One browser window: pages, screenshots, and the JavaScript dialogs that opened."""

    def __init__(self, chromium: Any, base: str, viewport: dict[str, int]) -> None:
        # The staff's browsers are Vietnamese: date and time inputs show dd/mm/yyyy, 24 h.
        self.context = chromium.new_context(viewport=viewport, base_url=base, locale="vi-VN",
                                            timezone_id="Asia/Ho_Chi_Minh",
                                            accept_downloads=True)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def _console(self, message: Any) -> None:
        # A CSP violation shows up as a console error: the pages must not cause any.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def shot(self, name: str, *, full: bool = True) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        return path

    def sign_in(self, username: str, password: str) -> None:
        page = self.page
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)

    def sign_out(self) -> None:
        self.page.click(".who button[type=submit]")
        self.page.wait_for_url("**/login")

    def close(self) -> None:
        self.context.close()
