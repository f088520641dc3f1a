"""Fixtures shared by the whole suite.

A database test runs on PostgreSQL (TEST_DATABASE_URL, default the machine's `test` database, in
a schema of this run's own), the production database; the modules of BOTH_DATABASES, where the
database matters, run on SQLite too. Under CI=true an unreachable PostgreSQL fails the run
instead of skipping; elsewhere the tests then run on SQLite. Redis is real: TEST_REDIS_URL
(scripts/test starts the embedded server when none is given), flushed before each test that
asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis as redis_lib
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from dispatch import create_app
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.seed import seed_defaults
from scripts.harness.databases import PgSchema, pg_server
from tests.helpers.factories import ApiClient

IN_CI = os.environ.get("CI", "").lower() == "true"
# Hypothesis fails a test whose examples are slow to generate (`too_slow`): on a machine busy
# with a second test worker that says how loaded the machine is, not how the code behaves.
# Every property test also sets deadline=None for the same reason.
settings.register_profile("loa", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("loa")
# The stand-ins' fixtures (an SMSC, an FCM endpoint, the smpp process in threads): the SMS and
# push tests use them, and the tests that cross both (reports, security).
pytest_plugins = ["tests.helpers.sms", "tests.helpers.push", "tests.helpers.hooks"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backends", default=os.environ.get("LOA_TEST_BACKENDS", "sqlite,postgresql"),
                     help="comma-separated database backends to run database tests on")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends_for(metafunc.definition, metafunc.config),
                             scope="session")


# Where the database matters, a test runs on both: these modules send SQL that differs by
# dialect (the batch writes of dispatch/models/sqlbatch.py and the upserts, the ledger's claim
# and the expansion, the reports' time buckets, the migrations) or walk the newcomer's SQLite
# path (the demo). Every other database test runs once, on PostgreSQL, the production database:
# what it checks (a form, a permission, a page, a state) does not depend on the database, and
# running it twice had doubled the suite's time.
BOTH_DATABASES = (
    "tests/dispatch/models/", "tests/dispatch/test_migrations.py", "tests/dispatch/test_demo.py",
    "tests/dispatch/engine/test_ledger.py", "tests/dispatch/engine/test_expand.py",
    "tests/dispatch/engine/test_frozen_audience.py",
    "tests/dispatch/audiences/test_import.py", "tests/dispatch/audiences/test_api.py",
    "tests/dispatch/reports/test_summary.py", "tests/dispatch/reports/test_campaign_report.py",
    "tests/dispatch/reports/test_exports.py", "tests/dispatch/reports/test_survey.py",
    "tests/dispatch/reports/test_retention.py",
    "tests/dispatch/sms/test_pipeline.py", "tests/dispatch/sms/test_receipts.py",
    "tests/dispatch/sms/test_inbound.py", "tests/dispatch/sms/test_attributor.py",
    "tests/dispatch/push/test_send_batch.py", "tests/dispatch/testsend/test_test_sends.py",
)


def backends_for(definition: pytest.Item, config: pytest.Config) -> list[str]:
    """The backends a database test runs on (of those --backends lists)."""
    listed = config.getoption("--backends").split(",")
    if definition.get_closest_marker("postgres_only"):
        return [b for b in listed if b == "postgresql"]
    where = Path(str(definition.path)).relative_to(Path(str(config.rootpath))).as_posix()
    if where.startswith(BOTH_DATABASES):
        return listed
    return [main_backend(config)]


MAIN_BACKEND = pytest.StashKey[str]()


def main_backend(config: pytest.Config) -> str:
    """PostgreSQL when listed and reachable (under CI it must be: `database_url` fails the run
    if it is not); else the first listed, so a machine without PostgreSQL still runs them."""
    if MAIN_BACKEND not in config.stash:
        listed = config.getoption("--backends").split(",")
        chosen = listed[0]
        if "postgresql" in listed:
            others = [b for b in listed if b != "postgresql"]
            chosen = "postgresql" if IN_CI or _pg_reachable() or not others else others[0]
        config.stash[MAIN_BACKEND] = chosen
    return config.stash[MAIN_BACKEND]


def _pg_reachable() -> bool:
    engine = sa.create_engine(pg_server(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


# Tests that start whole stacks (processes, a Redis, stand-ins) or a browser: under pytest-xdist
# (`--dist loadgroup`, as scripts/test runs it) they all go to one worker, so two of them never
# compete for the two cores at once and one browser serves them, while the other worker takes
# the many short tests.
HEAVY = ("tests/drills/", "tests/scripts/", "tests/web/browser/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        where = Path(str(item.path)).relative_to(root).as_posix()
        if where.startswith(HEAVY):
            item.add_marker(pytest.mark.xdist_group("heavy"))


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'loa.db'}"
        return
    # Each run gets its own schema, so parallel runs on one machine never collide.
    try:
        schema = PgSchema("loa_test")
    except sa.exc.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {pg_server()}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {pg_server()}")
    yield schema.url
    schema.drop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield worker_database(url)
        return
    from dispatch.jobs.redis_conn import ensure_embedded_redis, stop_embedded_redis

    folder = tmp_path_factory.mktemp("redis")
    yield ensure_embedded_redis(folder)
    stop_embedded_redis(folder)


def worker_database(url: str) -> str:
    """`url` for this pytest-xdist worker: its own Redis database (gw0 → 1, gw1 → 2, …), since
    every test flushes its database. Pub/sub channels are shared by all databases; the only
    one Loa uses (the SMS wake-up) at worst wakes another worker's runner to find nothing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    number = int(worker[2:]) + 1
    parts = urlsplit(url)
    if parts.scheme == "unix":  # unix:///path/redis.sock?db=N (the embedded server)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(number))]
        return f"unix://{parts.path}?{urlencode(query)}"  # urlunsplit would drop the "//"
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture(scope="session")
def _app(database_url: str, redis_url: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        # Fast hashes: tests create many users; production keeps scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "REDIS_URL": redis_url,
    })
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture()
def app(_app: Flask) -> Iterator[Flask]:
    """The app with an empty, seeded database, an empty Redis and an app context pushed."""
    with _app.app_context():
        _empty_tables()
        get_redis(_app).flushdb()
        seed_defaults()
        yield _app
        db.session.remove()


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture()
def redis(redis_url: str, _app: Flask) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    _app.config["REDIS_URL"] = redis_url
    _app.extensions.pop("loa_redis", None)
    yield client
    client.flushdb()
    client.close()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def api(client: FlaskClient) -> ApiClient:
    """JSON API caller; `api.as_(user)` sends that user's token."""
    return ApiClient(client)


@pytest.fixture()
def people(app: Flask) -> dict[str, Any]:
    """One active user per role, plus a second editor and approver."""
    from tests.helpers.factories import make_user

    return {
        "editor": make_user("editor1", ["editor"]),
        "editor2": make_user("editor2", ["editor"]),
        "approver": make_user("approver1", ["approver"]),
        "approver2": make_user("approver2", ["approver"]),
        "admin": make_user("admin1", ["admin"]),
        "editor_approver": make_user("both1", ["editor", "approver"]),
    }


@pytest.fixture()
def data_dir() -> Path:
    return Path(__file__).parent / "data"
