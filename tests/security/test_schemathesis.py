"""Schemathesis against /api/openapi.json, in-process (WSGI), as one person holding every role.

Every operation of the published schema gets a bounded number of generated requests, valid ones
(positive) and invalid ones (negative). Two checks: no 5xx ever, and every response matches
what the schema documents for its status (the `default` error response included). Failures are
collected over the whole run and reported together, without Hypothesis' shrinking, so one run
lists everything found.

The caller holds editor, approver and admin at once (admin alone would be refused most campaign
and audience operations before any code under test ran). Operations that would lock the caller
out (deactivating itself, revoking its token, resetting its password) are pointed at another id.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from dispatch.extensions import db
from tests.factories import make_user, token_for
from tests.security import seed

EXAMPLES = int(os.environ.get("LOA_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance]
class _Unhandled(logging.Handler):
    """Keeps the exception behind each 500 (dispatch.errors logs it), for the findings."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.into.append(f"{type(exc).__module__}.{type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160] if str(exc) else ''}")


def _findings(operation: Any, mode: GenerationMode, headers: dict[str, str],
              protect: dict[str, int], found: list[str], errors: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        for name, own in protect.items():
            if (case.path_parameters or {}).get(name) == own:
                case.path_parameters[name] = own + 1000
        errors.clear()
        response = case.call(headers=headers)
        cause = f"\n    cause: {errors[-1]}" if errors else ""
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                found.append(f"{operation.label} [{mode.value}] {response.status_code}: "
                             f"{failure.title}: {str(failure.message)[:300]}{cause}\n"
                             f"    reproduce: {case.as_curl_command(headers=None)[:400]}")
        except AssertionError as exc:
            found.append(f"{operation.label} [{mode.value}] {response.status_code}: {exc}")
        finally:
            db.session.rollback()

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body)
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()


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
    handler = _Unhandled(errors)
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
    print(f"schemathesis: {operations} operations, {EXAMPLES} examples per mode, "
          f"{elapsed:.1f} s, {len(found)} finding(s)")
    assert not found, "\n".join(found)
