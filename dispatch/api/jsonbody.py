"""Every JSON request body is read here, once, and refused whole when no schema could take it.

Python's JSON parser accepts what Loa can neither store nor answer: lone UTF-16 surrogates
(`"\\ud800"`: valid JSON, but no database stores one and encoding it again fails), NUL
characters, and nesting deep enough to exhaust the interpreter's recursion (a RecursionError,
before any view or even authentication ran). Flask's `request.get_json` (`LoaRequest`) and
the API's argument parser (`dispatch.api.common.StrictParser`) both load through
`loads`, so each of these is a 4xx naming the field, whatever the endpoint. Bodies other than
file uploads are capped at JSON_MAX_BYTES before they are read.

The query string is checked here too, for every page and endpoint: a NUL in a filter
(`?q=%00`) would otherwise reach a query on PostgreSQL, which refuses it with a 500. (A URL
cannot carry a lone surrogate: werkzeug decodes it as UTF-8, replacing what is not.)
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request, current_app, request

from dispatch.errors import LoaError, ValidationFailed
from dispatch.schemas.fields import unstorable

MAX_DEPTH = 32  # the API's deepest body (a setting's value) nests 3 levels
MAX_PROBLEMS = 20
MAX_QUERY_VALUE = 1000


def loads(data: str | bytes) -> Any:
    """Parse a request body and refuse it, naming the fields, if it holds what no text may."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep("_") from None
    check(value)
    return value


def check(value: Any) -> None:
    """Refuse nesting beyond MAX_DEPTH, and NUL or lone surrogates in any key or string."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack and len(problems) < MAX_PROBLEMS:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _note(problems, path, item)
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise _too_deep(path.split(".", 1)[0] or "_")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, sub in pairs:
                sub_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _note(problems, sub_path, key, is_key=True):
                    continue
                stack.append((sub, sub_path, depth + 1))
    if problems:
        field, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {messages[0]}", errors=problems)


def _note(problems: dict[str, list[str]], path: str, text: str, *, is_key: bool = False) -> bool:
    # NUL and surrogates only: which other control characters a field allows (line breaks in
    # a text) is its schema's business (dispatch.schemas.fields.Text).
    problem = unstorable(text)
    if problem is None:
        return False
    # The path of a bad key is itself unprintable: name it by the characters that are fine.
    shown = _printable(path) or "_"
    problems.setdefault(shown, []).append(f"The field name {problem[0].lower()}{problem[1:]}"
                                          if is_key else problem)
    return True


def _printable(path: str) -> str:
    return "".join(ch if unstorable(ch) is None else "\N{REPLACEMENT CHARACTER}" for ch in path)


def _too_deep(field: str) -> LoaError:
    return LoaError(f"{field}: nested more than {MAX_DEPTH} levels deep.",
                    errors={field: [f"Nested more than {MAX_DEPTH} levels deep."]},
                    code="too_deep")


class LoaRequest(Request):
    """`request.get_json()` with the checks of `loads`.

    Not by replacing the app's JSON provider: Flask loads the session cookie through it too, and
    a refusal there would lock a person out of every page.
    """

    def get_json(self, force: bool = False, silent: bool = False,
                 cache: bool = True) -> Any | None:
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise _too_deep("_") from None
        check(value)
        return value


def init_app(app: Flask) -> None:
    app.request_class = LoaRequest
    app.before_request(_cap_body)
    app.before_request(_check_query)


def _check_query() -> None:
    problems: dict[str, list[str]] = {}
    for name, values in request.args.lists():
        for text in (name, *values):
            problem = unstorable(text)
            if problem is None and len(text) > MAX_QUERY_VALUE:
                # A filter is a few words; SQLite refuses LIKE patterns past 50,000 bytes.
                problem = f"Longer than maximum length {MAX_QUERY_VALUE}."
            if problem:
                problems.setdefault(_printable(name) or "_", []).append(problem)
    if problems:
        field, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {messages[0]}", errors=problems)


def _cap_body() -> None:
    # Flask 3.1 lets a request lower its own limit; werkzeug then refuses a longer body (413)
    # whether it announced its length or is chunked. Uploads keep MAX_CONTENT_LENGTH.
    if request.mimetype != "multipart/form-data":
        limits = [current_app.config.get("JSON_MAX_BYTES"), current_app.config.get(
            "MAX_CONTENT_LENGTH")]
        request.max_content_length = min(n for n in limits if n) if any(limits) else None
