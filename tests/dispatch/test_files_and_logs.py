"""What Loa leaves on disk and in its logs: instance files for its own user only, no SQL values
in an error's text."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from dispatch import create_app, secrets
from dispatch.extensions import db
from dispatch.models import RawReceipt
from dispatch.redis_conn import embedded_paths, ensure_embedded_redis, stop_embedded_redis


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


def test_a_database_error_logs_no_sql_parameters(app, backend, caplog):
    secret = "loa_5f3a9c secret-token-hash-0123456789abcdef"
    log = logging.getLogger("dispatch.test")
    with caplog.at_level(logging.ERROR):
        try:
            if backend == "postgresql":  # too long for the column: a DataError
                db.session.add(RawReceipt(account_id=1, smsc_id="A1", stat=secret, body=""))
            else:  # SQLite checks no lengths: a NOT NULL column left empty instead
                db.session.add(RawReceipt(account_id=1, smsc_id=secret, body=None))
            db.session.flush()
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            assert isinstance(exc, sa.exc.DataError if backend == "postgresql"
                              else sa.exc.IntegrityError)
            log.exception("storing failed")
        else:
            pytest.fail("the database took the row")
    assert "storing failed" in caplog.text
    assert "parameters hidden" in caplog.text
    assert secret not in caplog.text and "5f3a9c" not in caplog.text
