"""Loa's dispatch side: the Flask app, the domain and the jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from dispatch import config as config_module
from dispatch.ops.files import narrow, private_dir, private_file


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `config` (tests) overriding it."""
    settings = config_module.from_env()
    settings.update(config or {})
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
    )
    app.config.update(settings)
    app.config.setdefault("PASSWORD_HASH_METHOD", "scrypt")
    private_dir(app.instance_path)
    # Before any route is added: an id too large for the database is simply no such page.
    app.url_map.converters["int"] = RowIdConverter

    trust_proxies(app)
    register_extensions(app)
    register_errors(app)
    register_api(app)
    register_web(app)
    register_ops(app)
    register_cli(app)
    return app


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: 0 … 2^31-1, so a huge number is a 404, not a database error."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the last PROXY_COUNT proxies' headers.

    Without proxies the headers are the client's own words and are ignored: honouring them
    would let anyone choose the address that sign-in throttling counts against.
    """
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    from dispatch import models  # noqa: F401  (registers the tables)
    from dispatch.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)


def _tune_sqlite(app: Flask) -> None:
    from sqlalchemy import event

    from dispatch.extensions import db

    with app.app_context():
        engine = db.engine
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:") \
            and Path(database).parent.is_dir():
        # Before the first connection: SQLite gives its -wal and -shm files the database's mode.
        private_file(database)
        for suffix in ("-wal", "-shm", "-journal"):
            narrow(Path(database + suffix), 0o600)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets the web process read while a worker writes; the busy timeout makes the
        # single writer wait its turn instead of failing.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def register_errors(app: Flask) -> None:
    from dispatch.access import auth
    from dispatch.api import jsonbody
    from dispatch.errors import register_error_handlers

    register_error_handlers(app)
    jsonbody.init_app(app)
    auth.init_app(app)


def register_api(app: Flask) -> None:
    from dispatch.api import register_blueprints
    from dispatch.api.docs import bp as docs_bp
    from dispatch.extensions import api

    api.init_app(app)
    register_blueprints(api)
    app.register_blueprint(docs_bp)


def register_web(app: Flask) -> None:
    from dispatch.web import register_web as register_pages

    register_pages(app)


def register_ops(app: Flask) -> None:
    from dispatch.ops import register_ops as register

    register(app)


def register_cli(app: Flask) -> None:
    from dispatch.cli import register_commands

    register_commands(app)
