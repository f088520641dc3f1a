"""Vietnamese by default, English on request; numbers and times the Vietnamese way."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from dispatch.models import User
from dispatch.web.i18n import dt, num
from tests.helpers import web as helpers

CATALOG = Path(__file__).resolve().parents[2] / "dispatch/translations/vi/LC_MESSAGES"


def test_the_committed_mo_is_compiled_from_the_po() -> None:
    with open(CATALOG / "messages.po", "rb") as po:
        catalog = read_po(po)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (CATALOG / "messages.mo").read_bytes(), \
        "messages.mo is stale: run scripts/i18n compile"
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []


def test_vietnamese_by_default_english_on_request(backend: str, as_role: Any) -> None:
    editor = as_role("editor")
    page = editor.get("/campaigns").get_data(as_text=True)
    assert '<html lang="vi">' in page and "Chiến dịch" in page and "Đăng xuất" in page
    switched = editor.get("/lang/en?next=/campaigns")
    assert switched.headers["Location"] == "/campaigns"
    page = editor.get("/campaigns").get_data(as_text=True)
    assert '<html lang="en">' in page and "Campaigns" in page and "Sign out" in page
    # The choice outlives signing out and in again.
    editor.post("/logout")
    assert "Sign in" in editor.get("/login").get_data(as_text=True)
    assert editor.get("/lang/xx").status_code == 302
    assert "Sign in" in editor.get("/login").get_data(as_text=True)


def test_numbers_and_times(app: Any) -> None:
    with app.test_request_context("/"):
        assert num(1234567) == "1.234.567"
        # 01:30 UTC is 08:30 in Hồ Chí Minh City (UTC+7).
        assert dt(datetime(2026, 1, 2, 1, 30, tzinfo=UTC)) == "02/01/2026 08:30"
        assert dt("2026-01-02T20:00:00+00:00") == "03/01/2026 03:00"
        with force_locale("en"):
            assert num(1234567) == "1,234,567"


def test_estimate_shows_vietnamese_figures(backend: str, as_role: Any,
                                           people: dict[str, User]) -> None:
    lst = helpers.contact_list(numbers=3)
    c = helpers.campaign(people["editor"], lst, sms_text="Đại hội " * 40)
    html = as_role("editor").get(f"/campaigns/{c.id}").get_data(as_text=True)
    # 3 recipients x 5 UCS-2 parts x 800 VND
    assert "12.000 ₫" in html


def test_a_filter_on_a_literal_is_called_at_render_time_not_compile_time(app):
    """`{{ 'push'|label }}` compiled into the template as the words of whoever came first
    would speak English to every Vietnamese reader after one English page in the process."""
    for name in ("label", "num", "tr", "reason", "note", "duration", "field_label"):
        source = app.jinja_env.compile(f"{{{{ 'push'|{name} }}}}", raw=True)
        assert "App notification" not in source and "Thông báo" not in source, name
        assert f"filters['{name}']" in source or f'filters["{name}"]' in source, source
