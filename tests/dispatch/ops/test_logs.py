"""Structured log lines: fields, ids from jobs and requests, and secrets kept out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from rq import Queue, SimpleWorker

from dispatch.ops import logs


@pytest.fixture()
def lines(app: Any) -> Iterator[io.StringIO]:
    """Configure logging as every process does, into a buffer; put things back after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, app.config.get("LOG_FORMAT"))
    app.config["LOG_FORMAT"] = "json"
    logs.configure(app)
    handler = next(h for h in root.handlers if isinstance(h, logs._LoaHandler))
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    app.config["LOG_FORMAT"] = saved[2]


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def test_one_json_object_per_line_with_extras(lines: io.StringIO) -> None:
    log = logging.getLogger("dispatch.sms.send")
    log.info("submitted %d parts", 3, extra={"campaign_id": 7, "message_id": 42})
    with logs.context(campaign_id=8):
        log.warning("paused")
    first, second = parsed(lines)
    assert first["message"] == "submitted 3 parts" and first["level"] == "info"
    assert first["logger"] == "dispatch.sms.send"
    assert (first["campaign_id"], first["message_id"]) == (7, 42)
    assert list(first)[:4] == ["time", "level", "logger", "message"]
    assert second["campaign_id"] == 8 and second["level"] == "warning"


def test_configuring_twice_keeps_one_handler(app: Any, lines: io.StringIO) -> None:
    logs.configure(app)
    assert sum(isinstance(h, logs._LoaHandler) for h in logging.getLogger().handlers) == 1


def test_secrets_are_redacted(app: Any, lines: io.StringIO) -> None:
    log = logging.getLogger("dispatch.test")
    logs.register_secret("the-metrics-token-value")
    log.info("bind with password=s3cr3t-pw system_id=loa")
    log.info('settings {"secret": "abc123def", "token": "xyz789"}')
    log.info("calling with Authorization: Bearer loa_abcdefghijklmnop")
    log.info("redis at redis://:hunter2@10.0.0.5:6379/0")
    log.info("key -----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY----- loaded")
    log.info("scraped with the-metrics-token-value", extra={"password": "pw-in-extra"})
    log.info("secret key %s", app.config["SECRET_KEY"])
    text = lines.getvalue()
    for secret in ("s3cr3t-pw", "abc123def", "xyz789", "abcdefghijklmnop", "hunter2",
                   "MIIEabc", "the-metrics-token-value", "pw-in-extra",
                   app.config["SECRET_KEY"]):
        assert secret not in text, secret
    assert "system_id=loa" in text and "10.0.0.5" in text  # what is not secret stays


def test_exceptions_are_one_line_of_json(lines: io.StringIO) -> None:
    try:
        raise ValueError("bad password=opensesame")
    except ValueError:
        logging.getLogger("x").exception("failed")
    [record] = parsed(lines)
    assert "ValueError" in record["exception"] and "opensesame" not in record["exception"]


def test_request_lines_carry_the_request_and_campaign(app: Any, lines: io.StringIO) -> None:
    with app.test_request_context("/api/campaigns/12/progress",
                                  headers={"X-Request-ID": "req-abc"}):
        app.preprocess_request()
        logging.getLogger("dispatch.web").info("looked")
    record = parsed(lines)[-1]
    assert record["request_id"] == "req-abc" and record["campaign_id"] == 12
    assert record["path"] == "/api/campaigns/12/progress" and record["method"] == "GET"


def log_in_a_job(campaign_id: int, ids: list[int]) -> None:
    logging.getLogger("dispatch.push.send").info("batch of %d", len(ids))


def test_job_lines_carry_the_job_and_campaign(app: Any, redis: Any, lines: io.StringIO,
                                              monkeypatch: Any) -> None:
    # Named like an engine job so the campaign is read from its arguments.
    import dispatch.push.send as push

    monkeypatch.setattr(push, "send_batch", log_in_a_job)
    job = Queue("default", connection=redis).enqueue("dispatch.push.send.send_batch", 21, [1, 2])
    SimpleWorker(["default"], connection=redis).work(burst=True)
    record = next(r for r in parsed(lines) if r["message"] == "batch of 2")
    assert record["job_id"] == job.id and record["campaign_id"] == 21
    assert record["job"] == "dispatch.push.send.send_batch"


def test_text_format(app: Any, lines: io.StringIO) -> None:
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logs._LoaHandler))
    handler.setFormatter(logs.KeyValueFormatter())
    logging.getLogger("dispatch.clock").info("tick done", extra={"campaign_id": 5, "note": "a b"})
    line = lines.getvalue().strip()
    assert " info dispatch.clock tick done " in line
    assert "campaign_id=5" in line and 'note="a b"' in line
