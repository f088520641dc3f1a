"""Configuration from the environment, and the embedded Redis default."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis

from dispatch import config, create_app
from dispatch.engine import flags
from dispatch.jobs import keys
from dispatch.jobs.redis_conn import ensure_embedded_redis, get_redis, stop_embedded_redis
from dispatch.models import Campaign
from dispatch.reports.sql import time_bucket


def test_development_defaults_to_sqlite_under_instance(tmp_path):
    cfg = config.from_env({"LOA_INSTANCE_PATH": str(tmp_path)})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'loa.db'}"
    assert cfg["REDIS_URL"] is None and cfg["SECRET_KEY"]


def test_secret_key_required_outside_development():
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.from_env({"LOA_ENV": "production"})
    cfg = config.from_env({"LOA_ENV": "production", "SECRET_KEY": "s3cret"})
    assert cfg["SESSION_COOKIE_SECURE"] is True


def test_postgres_urls_get_the_psycopg_driver():
    cfg = config.from_env({"DATABASE_URL": "postgres://u:p@db:5432/loa"})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db:5432/loa"


def test_embedded_redis_starts_once_and_is_shared(tmp_path):
    url = ensure_embedded_redis(tmp_path)
    try:
        assert url.startswith("unix://")
        assert ensure_embedded_redis(tmp_path) == url  # reused, not started twice
        # Another process reaches the same server through the socket.
        code = f"import redis; redis.Redis.from_url({url!r}).set('k', 'from-child')"
        subprocess.run([sys.executable, "-c", code], check=True)
        assert redis.Redis.from_url(url).get("k") == b"from-child"
        # An app with no REDIS_URL uses it.
        app = create_app({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": None,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
        assert get_redis(app).get("k") == b"from-child"
    finally:
        assert stop_embedded_redis(tmp_path)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url).ping()


def test_engine_timings_come_from_the_environment():
    cfg = config.from_env({"LOA_RECEIPT_WAIT_SECONDS": "3600", "LOA_CLAIM_TIMEOUT_SECONDS": "90",
                           "LOA_ORPHAN_AFTER_SECONDS": "30", "LOA_EXPAND_HEARTBEAT_SECONDS": "45",
                           "LOA_SMPP_AUTO_PAUSE_FAILURES": "0"})
    names = ("RECEIPT_WAIT_SECONDS", "CLAIM_TIMEOUT_SECONDS", "ORPHAN_AFTER_SECONDS",
             "EXPAND_HEARTBEAT_SECONDS", "SMPP_AUTO_PAUSE_FAILURES")
    assert [cfg[name] for name in names] == [3600, 90, 30, 45, 0]
    defaults = config.from_env({})
    assert defaults["RECEIPT_WAIT_SECONDS"] == 48 * 3600 and defaults["ORPHAN_AFTER_SECONDS"] == 60


@pytest.mark.parametrize("value", ["ten", "1.5", "-3"])
def test_a_bad_number_names_the_variable(value):
    with pytest.raises(config.ConfigError, match=f"LOA_CLAIM_TIMEOUT_SECONDS .*{value!r}"):
        config.from_env({"LOA_CLAIM_TIMEOUT_SECONDS": value})


def test_web_and_secret_settings_come_from_the_environment():
    cfg = config.from_env({"LOA_SECRETS_KEY": "new,old", "LOA_SESSION_HOURS": "2",
                           "LOA_SESSION_IDLE_MINUTES": "5", "LOA_SIGNIN_LIMIT_PER_IP": "7",
                           "LOA_SIGNIN_ATTEMPTS_PER_MINUTE": "9"})
    assert cfg["SECRETS_KEY"] == "new,old"
    assert cfg["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)
    assert (cfg["SESSION_IDLE_MINUTES"], cfg["SIGNIN_LIMIT_PER_IP"],
            cfg["SIGNIN_ATTEMPTS_PER_MINUTE"]) == (5, 7, 9)
    defaults = config.from_env({})
    assert defaults["SECRETS_KEY"] is None and defaults["SESSION_IDLE_MINUTES"] == 60
    assert "DEFAULT_SEND_WINDOW" not in defaults  # never used: windows are per campaign


def _sources() -> list[tuple[Path, str]]:
    root = Path(config.__file__).parent
    return [(path, path.read_text(encoding="utf-8")) for path in sorted(root.rglob("*.py"))
            if "migrations" not in path.parts]


def test_only_config_reads_the_environment():
    readers = re.compile(r"os\.environ(?!\.setdefault\(\"FLASK_APP\")|\bgetenv\(|environ\.get\(")
    found = [str(path) for path, text in _sources()
             if path.name != "config.py" and readers.search(text)]
    assert found == []


def test_every_redis_key_is_named_in_the_keys_module():
    literal = re.compile(r"""f?["']loa:""")
    found = [str(path) for path, text in _sources()
             if path != Path(keys.__file__) and literal.search(text)]
    assert found == []


def test_local_time_is_the_configured_zone(app):
    with app.app_context():
        before = app.config["TIMEZONE"]
        campaign = Campaign(window_start=time(7), window_end=time(22))
        at = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)  # 06:30 in Ha Noi, 23:30 in London
        try:
            assert config.local_zone() == ZoneInfo("Asia/Ho_Chi_Minh")
            assert not flags.in_window(campaign, at)
            app.config["TIMEZONE"] = "Asia/Tokyo"  # 08:30 there
            assert config.local_zone() == ZoneInfo("Asia/Tokyo")
            assert flags.in_window(campaign, at)
            assert time_bucket(Campaign.created_at, 60).offset == 9 * 3600
        finally:
            app.config["TIMEZONE"] = before
