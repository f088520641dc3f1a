"""Configuration from the environment, and the embedded Redis default."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis

from dispatch import config, create_app
from dispatch.jobs.redis_conn import ensure_embedded_redis, get_redis, stop_embedded_redis


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
