"""API tokens: created with a password (Basic) or an existing token, shown once, revocable."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from dispatch.access import users
from dispatch.access.auth import password_or_token_user, require
from dispatch.api.common import Blueprint, actor, with_extra
from dispatch.extensions import db
from dispatch.models import ApiToken
from dispatch.schemas.users import TokenCreatedSchema, TokenCreateSchema, TokenSchema

blp = Blueprint("tokens", __name__, url_prefix="/api", description="API tokens")


@blp.route("/tokens")
class Tokens(MethodView):
    @require("self")
    @blp.response(200, TokenSchema(many=True))
    def get(self) -> list[ApiToken]:
        """List your tokens (secrets are never shown again)."""
        stmt = select(ApiToken).where(ApiToken.user_id == actor().id).order_by(ApiToken.id)
        return list(db.session.scalars(stmt))

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    @blp.doc(security=[{"basic": []}, {"bearer": []}])
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a token for yourself; the response is the only time the secret is shown."""
        user = password_or_token_user(allow_must_change=False)
        token, secret = users.create_token(user, data["name"], expires_at=data["expires_at"])
        db.session.commit()
        return with_extra(token, TokenSchema, token=secret)


@blp.route("/tokens/<int:token_id>")
class TokenById(MethodView):
    @require("self")
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke a token (yours; admins may revoke anyone's)."""
        users.revoke_token(token_id, actor=actor())
        db.session.commit()
