"""The JSON API: one flask-smorest Blueprint per resource, registered here."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from dispatch.api import audit, health, preview, settings, smpp_accounts, tokens, users

    for module in (health, users, tokens, settings, smpp_accounts, preview, audit):
        api.register_blueprint(module.blp)
