"""The JSON API: one flask-smorest Blueprint per resource, registered here."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from dispatch.api import (
        app_devices,
        audit,
        campaigns,
        health,
        plans,
        preview,
        settings,
        smpp_accounts,
        tokens,
        users,
    )

    for module in (health, users, tokens, settings, smpp_accounts, preview, campaigns,
                   plans, audit):
        api.register_blueprint(module.blp)
    api.register_blueprint(app_devices.blp)
    api.register_blueprint(app_devices.keys_blp)
    from dispatch.api import contacts, devices, imports, lists, localities, optouts

    for module in (contacts, lists, imports, optouts, localities, devices):
        api.register_blueprint(module.blp)
    from dispatch.api import reports

    api.register_blueprint(reports.blp)
    from dispatch.api import personal_data

    api.register_blueprint(personal_data.blp)
    from dispatch.api import hooks

    api.register_blueprint(hooks.blp)
    from dispatch.api import replies

    api.register_blueprint(replies.blp)
    from dispatch.api import testlist

    api.register_blueprint(testlist.blp)
