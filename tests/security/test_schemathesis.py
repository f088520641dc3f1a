"""Schemathesis against /api/openapi.json, in-process (WSGI), as one person holding every role.

Every operation of the published schema gets a bounded number of generated requests, valid ones
(positive), invalid ones (negative), and each valid one again with some strings made hostile
(lone surrogates, NUL, control characters, decomposed Vietnamese, very long text, digits
`int` refuses, and dates in year 1 and 9999, in the body and in every query parameter the
operation declares, present in the generated case or not). Two checks: no 5xx ever, and every
response matches what the schema documents for its status (the `default` error response
included). Failures are collected over the whole run and reported together, without
Hypothesis' shrinking, so one run lists everything found.

The caller holds editor, approver and admin at once (admin alone would be refused most campaign
and audience operations before any code under test ran). Operations that would lock the caller
out (deactivating itself, revoking its token, resetting its password) are pointed at another id.
"""

from __future__ import annotations

import contextlib
import os
import time
import unicodedata
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from dispatch.extensions import db
from tests.helpers import seed
from tests.helpers.factories import make_user, token_for
from tests.helpers.security import Unhandled

EXAMPLES = int(os.environ.get("LOA_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance]

_LETTERS = "aăâđêôơư AĐ áàảãạấầẩẫậắặéẽệếềểễíịóõọốồổỗộớờởỡợúũụứừửữựýỳỹỵ"
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "Cử tri\x00", "\x1b[31m", "a\r\nb",
                     "\x7f\x85\u009b", "\u202e", "x" * 5000, "lý do " * 17_000, "9" * 5000, "²",
                     "١٢٣", "-1", "", "javascript:alert(1)", "%(x)s {0} {{7*7}}"]),
    st.text(_LETTERS, min_size=1, max_size=40).map(lambda t: unicodedata.normalize("NFD", t)),
    st.text(st.characters(categories=["Cc", "Cs"]), min_size=1, max_size=6),
)
HOSTILE_DATES = st.sampled_from([
    "0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2026-02-30", "1999-12-31"])
DATE_FIELDS = ("send_at", "expires_at", "since", "until", "created_since", "created_until")


def _findings(operation: Any, mode: GenerationMode, headers: dict[str, str],
              protect: dict[str, int], found: list[str], errors: list[str]) -> None:
    query_names = [p.name for p in operation.query]

    def check(case: Any, label: str) -> None:
        errors.clear()
        response = case.call(headers=headers)
        cause = f"\n    cause: {errors[-1]}" if errors else ""
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                found.append(f"{operation.label} [{label}] {response.status_code}: "
                             f"{failure.title}: {str(failure.message)[:300]}{cause}\n"
                             f"    reproduce: {case.as_curl_command(headers=None)[:400]}")
        except AssertionError as exc:
            found.append(f"{operation.label} [{label}] {response.status_code}: {exc}")
        finally:
            db.session.rollback()

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: Any, data: Any) -> None:
        for name, own in protect.items():
            if (case.path_parameters or {}).get(name) == own:
                case.path_parameters[name] = own + 1000
        check(case, mode.value)
        # The hostile pass rides on the valid cases: generating a case costs more than sending.
        if mode == GenerationMode.POSITIVE:
            changed = _make_hostile(case, data, query_names)
            if changed:
                check(case, f"hostile {changed}")

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body)
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _string_leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_leaves(v, (*path, i))]
    return []


def _put(container: Any, path: tuple[Any, ...], value: str) -> None:
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value


def _no_surrogate(text: str) -> bool:
    return not any("\ud800" <= ch <= "\udfff" for ch in text)


def _make_hostile(case: Any, data: Any, query_names: list[str]) -> dict[str, str]:
    """Replace up to three strings of the JSON body or the query (any declared parameter)."""
    json_body = (case.media_type or "").endswith("json")
    body = case.body if json_body and isinstance(case.body, dict | list) else None
    targets: list[tuple[str, Any]] = [("query", n) for n in query_names]
    if body is not None:
        targets += [("body", p) for p in _string_leaves(body)]
        if isinstance(body, dict):
            targets += [("body", (k,)) for k in DATE_FIELDS if k in body]
    if not targets:
        return {}
    picked = data.draw(st.lists(st.sampled_from(targets), min_size=1, max_size=3, unique=True))
    changed = {}
    for where, key in picked:
        name = key if where == "query" else key[-1]
        strategy = HOSTILE_DATES if name in DATE_FIELDS else HOSTILE_TEXT
        if where == "query":
            # A URL cannot carry a lone surrogate (the client cannot even encode one).
            value = data.draw(strategy.filter(_no_surrogate))
            case.query = {**(case.query or {}), key: value}
        else:
            value = data.draw(strategy)
            _put(body, key, value)
        changed[".".join(map(str, key)) if where == "body" else key] = value[:40]
    return changed


def test_no_server_errors_and_responses_match_the_schema(backend: str, app: Any,
                                                         redis: Any) -> None:
    seed.sample_data()
    boss = make_user("boss", ["editor", "approver", "admin"])
    token = token_for(boss)
    own_token = max(t.id for t in boss.tokens) if hasattr(boss, "tokens") else 0
    headers = {"Authorization": f"Bearer {token}"}
    protect = {"user_id": boss.id, "token_id": own_token}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    found: list[str] = []
    errors: list[str] = []
    handler = Unhandled(errors)
    app.logger.addHandler(handler)
    started = time.monotonic()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _findings(operation, mode, headers, protect, found, errors)
    app.logger.removeHandler(handler)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {operations} operations, {EXAMPLES} examples per mode, each "
          "positive one sent again made hostile, "
          f"{elapsed:.1f} s, {len(found)} finding(s)")
    assert not found, "\n".join(found)
