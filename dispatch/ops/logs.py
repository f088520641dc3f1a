"""Structured logs: one line of JSON (or key=value) per record, the same in every process.

`configure(app)` runs from `create_app`, so the web process, the RQ workers, the clock and the
smpp process (all built by `create_app`) log the same way. Each line carries, where known:

- `campaign_id`, `account_id`, `job_id`, `job` inside an RQ job (read from the job's arguments:
  every engine job takes the campaign id first);
- `request_id`, `method`, `path`, `user_id` and `campaign_id` (from the URL) inside a request;
- whatever the call passes in `extra=` (`log.info("…", extra={"message_id": m.id})`) or inside
  `with context(campaign_id=…):`.

Secrets never reach a line: values of secret-looking fields (password, token, key…) and of
`extra` entries with such names are replaced by `[redacted]`, as are bearer tokens, private-key
blocks, passwords in URLs and every value registered with `register_secret` (SECRET_KEY, the
metrics token, the secrets key). The raw record is not changed, so pytest's caplog and any other
handler see what the code wrote; the tests check that the code writes no secret either.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import socket
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "loa_log_context", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message", "asctime", "taskName"}
_HOST = socket.gethostname()
FIELDS_FIRST = ("time", "level", "logger", "message", "host", "process", "request_id",
                "campaign_id", "message_id", "account_id", "job_id", "job")
CAMPAIGN_JOBS = ("dispatch.engine.", "dispatch.sms.", "dispatch.push.")  # campaign id first

SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential"
                         r"|authori[sz]ation|cookie|^key$", re.IGNORECASE)
REDACTED = "[redacted]"
_PATTERNS = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                re.DOTALL), "[redacted private key]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    # scheme://user:password@host — DATABASE_URL, REDIS_URL
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    # password=…, "secret": "…", token: … (the value up to a delimiter)
    (re.compile(r"(?i)((?:pass(?:word|wd)?|secret|token|api[_-]?key|private[_-]?key)"
                r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]+)"), r"\1" + REDACTED),
    # PostgreSQL's own error details quote the values (the engine hides the statement's
    # parameters, not these): "Key (token_hash)=(…) already exists", "Failing row contains (…)".
    (re.compile(r"(Key \([^\n]*?\)=\()[^\n]*(\) (?:already exists|is not present|conflicts))"),
     r"\1" + REDACTED + r"\2"),
    (re.compile(r"(Failing row contains \()[^\n]*(\))"), r"\1" + REDACTED + r"\2"),
]
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never let this exact value appear in a log line (only values of 8+ characters)."""
    if value and len(value) >= 8:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced."""
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every line logged inside the block (this thread or task only)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


# The packages whose jobs take the campaign id first (every wing's, since the layout).
CAMPAIGN_JOBS = ("dispatch.engine.", "dispatch.sms.", "dispatch.push.")


def _job_fields() -> dict[str, Any]:
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # never let logging fail for want of a job
        return {}
    if job is None:
        return {}
    fields: dict[str, Any] = {"job_id": job.id}
    try:
        func, args = job.func_name, job.args
    except Exception:  # an unloadable job: its id is enough
        return fields
    fields["job"] = func
    # Expansion, requeue and push batches take the campaign id first (SMS has no jobs: the
    # smpp process claims its rows from the ledger).
    if func and func.startswith(CAMPAIGN_JOBS) and args and isinstance(args[0], int):
        fields["campaign_id"] = args[0]
    return fields


def _request_fields() -> dict[str, Any]:
    if not has_request_context():
        return {}
    fields: dict[str, Any] = {"request_id": request_id(), "method": request.method,
                              "path": request.path}
    user = g.get("user")  # only if authentication already ran: never trigger it from a log call
    if user is not None:
        fields["user_id"] = user.id
    campaign_id = (request.view_args or {}).get("campaign_id")
    if campaign_id is not None:
        fields["campaign_id"] = campaign_id
    return fields


def request_id() -> str:
    """The caller's X-Request-ID (a proxy's), else one made for this request."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given[:64] if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", given) else \
            uuid.uuid4().hex
    return str(g.request_id)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """Everything a line says about `record`, secrets redacted, in a stable order."""
    data: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": record.getMessage(),
        "host": _HOST,
        "process": record.process,
    }
    data.update(_job_fields())
    data.update(_request_fields())
    data.update(_context.get() or {})
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            data[key] = REDACTED if SECRET_NAME.search(key) else value
    if record.exc_info:
        data["exception"] = logging.Formatter().formatException(record.exc_info)
    elif record.exc_text:
        data["exception"] = record.exc_text
    if record.stack_info:
        data["stack"] = record.stack_info
    out = {k: data.pop(k) for k in FIELDS_FIRST if k in data}
    out.update(data)
    return {k: _clean(v) for k, v in out.items()}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(fields_of(record), ensure_ascii=False, default=str)


class KeyValueFormatter(logging.Formatter):
    """`time level logger message key=value …`, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        data = fields_of(record)
        head = " ".join(str(data.pop(k)) for k in ("time", "level", "logger", "message"))
        exception = data.pop("exception", None)
        data.pop("process", None)
        data.pop("host", None)
        tail = " ".join(f"{k}={_kv(v)}" for k, v in data.items())
        line = f"{head} {tail}".rstrip()
        return f"{line}\n{exception}" if exception else line


def _kv(value: Any) -> str:
    if isinstance(value, str) and (not value or " " in value or '"' in value):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _LoaHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Marks the handler `configure` installed, so a second app in one process replaces it."""


def configure(app: Flask) -> None:
    """Send every logger's records through one handler on stderr in the configured format."""
    for name in ("SECRET_KEY", "METRICS_TOKEN"):
        register_secret(app.config.get(name))
    keys = app.config.get("SECRETS_KEY") or ""
    for key in keys.split(","):
        register_secret(key.strip())
    fmt = app.config.get("LOG_FORMAT", "json")
    if fmt == "off":
        return
    root = logging.getLogger()
    handler = _LoaHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter() if fmt == "text" else JsonFormatter())
    for old in [h for h in root.handlers if isinstance(h, _LoaHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Flask's logger has its own plain handler when it was first used before this ran.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
