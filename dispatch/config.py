"""Settings read from the environment, with embedded defaults for development.

The one place Loa reads its environment: everything else reads `app.config`, which tests and
scripts can set without touching the process's environment.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
TIMEZONE = "Asia/Ho_Chi_Minh"  # Loa's local time: send windows, report days, times shown


def local_zone() -> ZoneInfo:
    """The app's TIMEZONE (in an app context)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(env: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    """A whole, non-negative number from the environment; ConfigError naming the variable."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, not {value!r}")
    return number


def from_env(env: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    instance = Path(env.get("LOA_INSTANCE_PATH") or DEFAULT_INSTANCE)
    loa_env = env.get("LOA_ENV", "development")
    secret = env.get("SECRET_KEY")
    if not secret:
        if loa_env != "development":
            raise ConfigError("SECRET_KEY must be set when LOA_ENV is not 'development'")
        secret = "dev-only-insecure-secret"
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'loa.db'}"
    # Heroku-style URLs say postgres://; SQLAlchemy wants a driver name.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "LOA_ENV": loa_env,
        "SECRET_KEY": secret,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # None means: start (or reuse) the embedded redis-server under the instance folder.
        "REDIS_URL": env.get("REDIS_URL") or None,
        "MAX_CONTENT_LENGTH": env_int(env, "LOA_MAX_UPLOAD_MB", 100) * 1024 * 1024,
        "IMPORT_BATCH_SIZE": env_int(env, "LOA_IMPORT_BATCH_SIZE", 5000),
        # Imports run as jobs (dispatch.audiences.import_jobs); one whose heartbeat is older
        # than this is marked failed by the clock (its worker died).
        "IMPORT_HEARTBEAT_SECONDS": env_int(env, "LOA_IMPORT_HEARTBEAT_SECONDS", 120),
        # What one XLSX workbook may cost (dispatch.audiences.readers): refused beyond these,
        # declared or found while reading. Excel's own maxima are 1,048,576 rows and 32,767
        # characters a cell; a part is one file inside the zip (the sheet, its shared strings).
        "IMPORT_MAX_ROWS": env_int(env, "LOA_IMPORT_MAX_ROWS", 1_048_576),
        "IMPORT_MAX_CELLS": env_int(env, "LOA_IMPORT_MAX_CELLS", 20_000_000),
        "IMPORT_MAX_CELL_CHARS": env_int(env, "LOA_IMPORT_MAX_CELL_CHARS", 32_767),
        "IMPORT_MAX_PART_MB": env_int(env, "LOA_IMPORT_MAX_PART_MB", 512),
        "IMPORT_MAX_SHARED_STRINGS_MB": env_int(env, "LOA_IMPORT_MAX_SHARED_STRINGS_MB", 64),
        # A JSON (or any non-multipart) request body larger than this is a 413 before it is
        # read: the API's bodies are small, only file uploads need MAX_CONTENT_LENGTH.
        "JSON_MAX_BYTES": env_int(env, "LOA_JSON_MAX_KB", 1024) * 1024,
        # Schemes of the province app's deep links a push may open, besides https: and http:
        # (space or comma separated).
        "APP_LINK_SCHEMES": tuple((env.get("LOA_APP_LINK_SCHEMES") or "haugiang")
                                  .replace(",", " ").split()),
        "TIMEZONE": TIMEZONE,
        # Fernet key(s), comma-separated, newest first (dispatch.access.secrets); unset in
        # development: a key generated under the instance folder.
        "SECRETS_KEY": env.get("LOA_SECRETS_KEY") or None,
        "API_TITLE": "Loa API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_REDOC_PATH": None,
        "OPENAPI_SWAGGER_UI_PATH": None,
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "basic": {"type": "http", "scheme": "basic"},
                }
            },
            "security": [{"bearer": []}],
        },
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": loa_env == "production",
        # hide_parameters: an error's text (logged, kept in RQ's failed jobs) never carries the
        # statement's values, which can be token hashes, phone numbers or message texts.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "TESTING": _bool(env.get("LOA_TESTING")),
        # Push (dispatch.push.config builds the gateway from these). The service-account JSON
        # of the Firebase project; Google's own variable is honoured when Loa's is not set.
        "FCM_CREDENTIALS": (env.get("LOA_FCM_CREDENTIALS")
                            or env.get("GOOGLE_APPLICATION_CREDENTIALS") or None),
        "FCM_PROJECT_ID": env.get("LOA_FCM_PROJECT_ID") or None,  # None: the JSON's project
        # Only for the demo, the tests and sites behind a relay: None sends to Google.
        "FCM_ENDPOINT": env.get("LOA_FCM_ENDPOINT") or None,
        # How per-device batches are sent (gateways.fcm.SENDERS): "direct" (default: the SDK's
        # credential and encoding, our own HTTP/1.1 connections), "threads" (messaging.send
        # from a pool), the SDK's "send_each", or "http2" (send_each_async);
        # docs/BENCHMARKS.md "push".
        "FCM_SENDER": env.get("LOA_FCM_SENDER") or "direct",
        # Topic sends have no per-device ledger rows; off unless the department wants them.
        "PUSH_TOPIC_SENDS": _bool(env.get("LOA_PUSH_TOPICS")),
        # Operations (dispatch.ops, docs/OPERATIONS.md): log lines as JSON (or key=value text),
        # the bearer token Prometheus scrapes /metrics with (unset: admins only), how long
        # /readyz waits for each dependency, and the read-only RQ dashboard at /admin/rq.
        "LOG_FORMAT": (env.get("LOA_LOG_FORMAT")
                       or ("text" if loa_env == "development" else "json")),
        "LOG_LEVEL": (env.get("LOA_LOG_LEVEL") or "INFO").upper(),
        "METRICS_TOKEN": env.get("LOA_METRICS_TOKEN") or None,
        "READY_TIMEOUT": float(env.get("LOA_READY_TIMEOUT", "2")),
        "RQ_DASHBOARD": _bool(env.get("LOA_RQ_DASHBOARD"), default=True),
        # The engine's timings (docs/ENGINE.md). A receipt not come after RECEIPT_WAIT makes
        # its row `unknown`; rows claimed for sending longer than CLAIM_TIMEOUT ago by a
        # process that died become `unknown`; a push send job (or an import) started longer
        # than ORPHAN_AFTER ago no longer stops the clock from enqueuing its queued rows again
        # (SMS has no jobs: the smpp process claims from the ledger); an expansion, or the
        # freeze of a submission's recipients, whose heartbeat is older than EXPAND_HEARTBEAT
        # is started again; N consecutive gateway failures on an account pause its campaigns
        # (0: never).
        "RECEIPT_WAIT_SECONDS": env_int(env, "LOA_RECEIPT_WAIT_SECONDS", 48 * 3600),
        # The parts of a concatenated MO not all come after this are stored as incomplete.
        "MO_REASSEMBLY_SECONDS": env_int(env, "LOA_MO_REASSEMBLY_SECONDS", 300),
        # Replies a number may send a day that still count and are acknowledged.
        "REPLY_DAILY_LIMIT": env_int(env, "LOA_REPLY_DAILY_LIMIT", 20),
        "CLAIM_TIMEOUT_SECONDS": env_int(env, "LOA_CLAIM_TIMEOUT_SECONDS", 600),
        "ORPHAN_AFTER_SECONDS": env_int(env, "LOA_ORPHAN_AFTER_SECONDS", 60),
        "EXPAND_HEARTBEAT_SECONDS": env_int(env, "LOA_EXPAND_HEARTBEAT_SECONDS", 120),
        "SMPP_AUTO_PAUSE_FAILURES": env_int(env, "LOA_SMPP_AUTO_PAUSE_FAILURES", 50),
        # How long (ms) the smpp process gathers submit outcomes, and receipts, before writing
        # a batch (dispatch.sms.batcher): a batch costs a few statements and a commit whatever
        # its size, so a slow link gathers by time what a fast one gathers by count. Receipts
        # are answered once stored: an SMSC that allows few deliver_sm unanswered per bind
        # wants the second one short.
        "SMPP_RECORD_GATHER_MS": env_int(env, "LOA_SMPP_RECORD_GATHER_MS", 200),
        "SMPP_RECEIPT_GATHER_MS": env_int(env, "LOA_SMPP_RECEIPT_GATHER_MS", 200),
        # ... and a batch of receipts also goes once none has come for this long (ms): an SMSC
        # whose window of unanswered deliver_sm is full sends nothing until they are answered.
        # On a link whose receipts come further apart the silence waited is longer, up to four
        # times this (dispatch.sms.batcher, `silence`).
        "SMPP_RECEIPT_GAP_MS": env_int(env, "LOA_SMPP_RECEIPT_GAP_MS", 5),
        # Sign-in (dispatch.access.signin, docs/OPERATIONS.md "Sessions and sign-in"): how many
        # proxies in front of the web process append to X-Forwarded-For (0: the header is ignored
        # and the socket's peer is the client), and whether approvers and admins need a second
        # factor.
        "PROXY_COUNT": env_int(env, "LOA_PROXY_COUNT", 0),
        "REQUIRE_2FA": _bool(env.get("LOA_REQUIRE_2FA")),
        # A signed-in session ends after this long however busy it is, or after this long idle.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=env_int(env, "LOA_SESSION_HOURS", 12)),
        "SESSION_IDLE_MINUTES": env_int(env, "LOA_SESSION_IDLE_MINUTES", 60),
        # Failed sign-ins one address may make over all accounts per 15 minutes, and attempts
        # of any outcome per minute (each costs a password hash).
        "SIGNIN_LIMIT_PER_IP": env_int(env, "LOA_SIGNIN_LIMIT_PER_IP", 30),
        "SIGNIN_ATTEMPTS_PER_MINUTE": env_int(env, "LOA_SIGNIN_ATTEMPTS_PER_MINUTE", 60),
        # The app API (dispatch.push.installations, README "The province app's API"): requests
        # per source address and per installation, new installations per address an hour (a
        # carrier's NAT puts many phones behind one address), and the days after which an
        # installation that never came back and was never pushed to is pruned.
        "APP_REQUESTS_PER_ADDRESS_PER_MINUTE": env_int(env, "LOA_APP_REQUESTS_PER_ADDRESS", 300),
        "APP_REQUESTS_PER_INSTALLATION_PER_MINUTE": env_int(
            env, "LOA_APP_REQUESTS_PER_INSTALLATION", 30),
        "APP_REGISTRATIONS_PER_ADDRESS_PER_HOUR": env_int(
            env, "LOA_APP_REGISTRATIONS_PER_ADDRESS", 100),
        "APP_UNRETURNED_DAYS": env_int(env, "LOA_APP_UNRETURNED_DAYS", 7),
        # Personal data (dispatch.audiences.retention, docs/OPERATIONS.md "Personal data and
        # retention"): days after a campaign ends before its per-recipient rows are pseudonymised
        # (and MO and receipts of that age purged), and days a contact in no list, not imported,
        # updated or sent to, is kept.
        "RETENTION_DAYS": env_int(env, "LOA_RETENTION_DAYS", 180),
        "CONTACT_RETENTION_DAYS": env_int(env, "LOA_CONTACT_RETENTION_DAYS", 365),
    }
