"""Every refusal written as a literal in the code has Vietnamese words: a page shows a service's
or a schema's message through `tr`, so a message missing from the catalog reaches a clerk in
English (six webhook URL refusals did). The literals are read from the source, so a new
refusal without a translation fails here, wherever it was added."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from flask_babel import force_locale

from dispatch.schemas.translate import tr

ROOT = Path(__file__).resolve().parents[2]
VALIDATORS = {"Regexp", "URL", "Email", "OneOf", "Length", "Range", "ContainsOnly"}


def _message_nodes(call: ast.Call) -> Iterator[ast.expr]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
    if name == "ValidationError" and call.args:
        yield call.args[0]
    if name == "field" and owner == "ValidationFailed" and len(call.args) > 1:
        yield call.args[1]
    if name in VALIDATORS:
        yield from (kw.value for kw in call.keywords if kw.arg == "error")


def refusals() -> Iterator[tuple[str, str]]:
    """(where, message) of each refusal whose message is a plain string literal."""
    for path in sorted((ROOT / "dispatch").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for message in _message_nodes(node):
                    if isinstance(message, ast.Constant) and isinstance(message.value, str):
                        yield f"{path.relative_to(ROOT)}:{node.lineno}", message.value


def test_the_scan_finds_the_refusals_it_is_meant_to_guard() -> None:
    found = dict((m, w) for w, m in refusals())
    # One of each shape: a schema's ValidationError, a validator's error=, a service's field().
    assert "The URL has no host." in found
    assert "Use HH:MM, 24-hour local time." in found
    assert "Give the list a name." in found
    assert len(found) > 40


def test_every_literal_refusal_has_vietnamese_words(app) -> None:
    with app.test_request_context("/"), force_locale("vi"):
        english = [f"{where}: {message}" for where, message in refusals()
                   if tr(message) == message]
    assert english == [], "add them to dispatch/web/messages.py, then scripts/i18n update"
