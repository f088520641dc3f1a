"""Unbound extension objects; `create_app` binds them."""

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from dispatch.errors import http_error_payload
from dispatch.schemas.common import ErrorSchema

# Named constraints so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LoaApi(Api):
    """flask-smorest's Api, answering errors in Loa's one format (see `dispatch.errors`)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        from dispatch.extensions import db

        db.session.rollback()  # see dispatch.errors: a refused request leaves nothing behind
        return http_error_payload(error)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = LoaApi()
