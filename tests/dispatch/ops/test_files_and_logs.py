"""What Loa leaves on disk and in its logs: instance files for its own user only, no SQL values
in an error's text."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from dispatch import create_app
from dispatch.access import secrets
from dispatch.extensions import db
from dispatch.jobs.redis_conn import embedded_paths, ensure_embedded_redis, stop_embedded_redis
from dispatch.models import RawReceipt
from dispatch.ops import logs


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_instance_files_are_the_service_users_only(tmp_path):
    instance = tmp_path / "instance"
    old = tmp_path / "old.db"
    old.touch(mode=0o644)  # made by an older version, or by hand
    old.chmod(0o644)
    for database in (instance / "loa.db", old):
        app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "x",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
        with app.app_context():
            db.create_all()
            db.session.add(RawReceipt(account_id=1, smsc_id="A1", body="id:A1"))
            db.session.commit()
            secrets.encrypt("an SMPP password")  # makes instance/secrets.key in development
            files = [database, *(Path(f"{database}{s}") for s in ("-wal", "-shm"))]
            assert {f.name: mode(f) for f in files if f.exists()} == {
                f.name: 0o600 for f in files if f.exists()}
            assert Path(f"{database}-wal").exists()
            db.session.remove()
            db.engine.dispose()
    assert mode(instance) == 0o700
    assert mode(instance / "secrets.key") == 0o600
    ensure_embedded_redis(instance)
    try:
        folder, _ = embedded_paths(instance)
        assert mode(folder) == 0o700
        made = [p for p in folder.iterdir()]
        assert made and all(not mode(p) & 0o077 for p in made), {p.name: oct(mode(p))
                                                                  for p in made}
    finally:
        stop_embedded_redis(instance)


SECRET = "loa_5f3a9c secret-token-hash-0123456789abcdef"


def logged_without_values(row: RawReceipt, error: type, caplog: pytest.LogCaptureFixture) -> None:
    """Fail to store `row`, log the error as Loa's code does, read the lines Loa would write."""
    with caplog.at_level(logging.ERROR):
        try:
            db.session.add(row)
            db.session.flush()
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            assert isinstance(exc, error)
            logging.getLogger("dispatch.test").exception("storing failed")
        else:
            pytest.fail("the database took the row")
    (record,) = [r for r in caplog.records if r.getMessage() == "storing failed"]
    for formatter in (logs.JsonFormatter(), logs.KeyValueFormatter()):  # LOA_LOG_FORMAT
        line = formatter.format(record)
        assert "storing failed" in line and "parameters hidden" in line
        assert "5f3a9c" not in line and "secret-token" not in line, line


@pytest.mark.postgres_only
def test_a_data_error_logs_no_sql_values(app, backend, caplog):
    logged_without_values(RawReceipt(account_id=1, smsc_id="A1", stat=SECRET, body=""),
                          sa.exc.DataError, caplog)  # too long for its column


def test_an_integrity_error_logs_no_sql_values(app, backend, caplog):
    # PostgreSQL's detail of a NOT NULL violation quotes the whole row.
    logged_without_values(RawReceipt(account_id=1, smsc_id=SECRET, body=None),
                          sa.exc.IntegrityError, caplog)
