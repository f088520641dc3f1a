"""The JSON API: one flask-smorest Blueprint per resource, registered here."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from dispatch.api import audit, health, preview, settings, tokens, users

    for module in (health, users, tokens, settings, preview, audit):
        api.register_blueprint(module.blp)
