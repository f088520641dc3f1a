"""SMPP accounts (admin): the operator links Loa binds to, and the routing they give."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.extensions import db
from dispatch.models import SmppAccount
from dispatch.schemas.smpp import (
    RouteSchema,
    SmppAccountCreateSchema,
    SmppAccountSchema,
    SmppAccountUpdateSchema,
)
from dispatch.sms import accounts as smpp_accounts

blp = Blueprint("smpp_accounts", __name__, url_prefix="/api",
                description="SMPP accounts per telecom operator (passwords are write-only)")


@blp.route("/smpp-accounts")
class Accounts(MethodView):
    @require("gateway.manage")
    @blp.response(200, SmppAccountSchema(many=True))
    def get(self) -> list[SmppAccount]:
        """List SMPP accounts."""
        return list(db.session.scalars(select(SmppAccount).order_by(SmppAccount.name)))

    @require("gateway.manage")
    @blp.arguments(SmppAccountCreateSchema)
    @blp.response(201, SmppAccountSchema)
    def post(self, data: dict[str, Any]) -> SmppAccount:
        """Add an SMPP account."""
        account = smpp_accounts.create(data, actor=actor())
        db.session.commit()
        return account


@blp.route("/smpp-accounts/<int:account_id>")
class AccountById(MethodView):
    @require("gateway.manage")
    @blp.response(200, SmppAccountSchema)
    def get(self, account_id: int) -> SmppAccount:
        """Show an SMPP account (without its password)."""
        return smpp_accounts.get(account_id)

    @require("gateway.manage")
    @blp.arguments(SmppAccountUpdateSchema)
    @blp.response(200, SmppAccountSchema)
    def patch(self, data: dict[str, Any], account_id: int) -> SmppAccount:
        """Change an SMPP account; give `password` only to replace it."""
        account = smpp_accounts.update(smpp_accounts.get(account_id), data, actor=actor())
        db.session.commit()
        return account

    @require("gateway.manage")
    @blp.response(204)
    def delete(self, account_id: int) -> None:
        """Remove an SMPP account."""
        smpp_accounts.remove(smpp_accounts.get(account_id), actor=actor())
        db.session.commit()


@blp.route("/routes")
class Routes(MethodView):
    @require("gateway.view")
    @blp.response(200, RouteSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Show which account carries each operator's numbers (null: no route)."""
        table = smpp_accounts.route_table()
        return [{"operator": op, "account_id": acc} for op, acc in table.items()]
