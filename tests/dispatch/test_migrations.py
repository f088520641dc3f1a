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


def test_campaign_notes_become_codes_and_back(empty_database, tmp_path):
    """c95d3707473f: the English sentences stored before it become codes; a person's pause
    reason stays as typed; the downgrade writes the sentences back."""
    import importlib

    from dispatch.models import AuditEvent, Campaign, CampaignStatus
    from tests.helpers.factories import make_user

    revision = importlib.import_module(
        "dispatch.migrations.versions.c95d3707473f_campaign_notes_as_codes")
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": "x"})
    stored = {
        "paused by staff": "staff",
        "Paused automatically: 5 consecutive gateway failures on SMPP account 'viettel-1' "
        "(last: ESME_RSYSERR).": "gateway_failures?count=5&account=viettel-1&last=ESME_RSYSERR",
        "Chờ ý kiến lãnh đạo": "Chờ ý kiến lãnh đạo",
    }
    pushes = {
        "Per-device sends: topic sends are turned off (LOA_PUSH_TOPICS), so every device has "
        "its own ledger row and result.": "topics_off",
        "Topic send to 'all': one request for the 1,200 active devices of the audience, all "
        "subscribed; no per-device results.": "topic?topic=all&devices=1200",
        "Per-device sends: 1 device subscribed to 'all' is outside the audience (opted out of "
        "push, or registered elsewhere).": "outside_subscribed?outside=1&topic=all",
    }
    with app.app_context():
        upgrade()
        author = make_user("author", ["editor"])
        for pause, push in zip(stored, pushes, strict=True):
            db.session.add(Campaign(title="x", channels="both", status=CampaignStatus.PAUSED,
                                    created_by_id=author.id,
                                    pause_reason=pause, push_mode="devices",
                                    push_mode_reason=push))
        db.session.add(AuditEvent(action="campaign.void", entity="campaign", entity_id="1",
                                  reason="Edited while approved: the approval is void."))
        db.session.commit()
        downgrade(revision=revision.down_revision)
        upgrade()
        void = db.session.scalar(sa.text(
            "SELECT reason FROM audit_events WHERE action = 'campaign.void'"))
        assert void == "voided?status=approved&what=approval"

        def notes() -> list[tuple[str, str]]:
            return [tuple(row) for row in db.session.execute(sa.text(
                "SELECT pause_reason, push_mode_reason FROM campaigns ORDER BY id"))]

        assert notes() == list(zip(stored.values(), pushes.values(), strict=True))
        db.session.commit()
        downgrade(revision=revision.down_revision)
        back = notes()
        db.session.commit()
        assert back[0] == (next(iter(stored)), next(iter(pushes)))
        assert back[2][0] == "Chờ ý kiến lãnh đạo"
        # The sentences come back in their words ("1200" without its separator): each reads as
        # its code again.
        for (pause, push), codes in zip(back, zip(stored.values(), pushes.values(),
                                                  strict=True), strict=True):
            assert (revision.to_code(pause) or pause, revision.to_code(push)) == codes
        db.engine.dispose()
