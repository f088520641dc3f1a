"""`flask db upgrade` builds exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from dispatch import create_app
from dispatch.extensions import db
from dispatch.seed import seed_defaults
from scripts.harness.databases import PgSchema


@pytest.fixture()
def empty_database(backend, database_url, tmp_path):
    """A database with nothing in it, apart from the suite's own."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    with PgSchema("loa_mig", database_url.split("?")[0]) as schema:
        yield schema.url


def test_upgrade_matches_models_and_downgrades(empty_database, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        seed_defaults()
        seed_defaults()  # idempotent
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
