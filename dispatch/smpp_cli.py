"""`flask smpp account add|list|update|remove`: SMPP accounts from the command line."""

from __future__ import annotations

from typing import Any

import click
import marshmallow as ma
from flask.cli import AppGroup
from sqlalchemy import select

from dispatch import smpp_accounts
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.models import SmppAccount
from dispatch.schemas.smpp import SmppAccountCreateSchema, SmppAccountUpdateSchema

smpp_cli = AppGroup("smpp", help="SMPP links to the telecom operators.")
account_cli = AppGroup("account", help="SMPP accounts (admin).")
smpp_cli.add_command(account_cli)


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _account_options(required: bool) -> Any:
    """The options named after the account fields; unset options are left unchanged."""
    options = [
        click.option("--host", required=required),
        click.option("--port", type=int, required=required),
        click.option("--system-id", "system_id", required=required),
        click.option("--password", required=required, help="Stored encrypted; never shown."),
        click.option("--system-type", "system_type"),
        click.option("--bind-mode", "bind_mode", type=click.Choice(["trx", "tx_rx"])),
        click.option("--binds", type=int),
        click.option("--tps", type=int),
        click.option("--window", type=int),
        click.option("--brandnames", help="Comma-separated"),
        click.option("--source-ton", "source_ton", type=int),
        click.option("--source-npi", "source_npi", type=int),
        click.option("--validity-minutes", "validity_minutes", type=int),
        click.option("--operators", help="Comma-separated operator codes it carries"),
        click.option("--default/--no-default", "is_default", default=None),
        click.option("--id-format", "id_format",
                     type=click.Choice(["auto", "hex", "dec", "str"])),
        click.option("--concat", type=click.Choice(["udh", "sar", "payload"])),
        click.option("--enabled/--disabled", "enabled", default=None),
    ]

    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _load(schema: ma.Schema, values: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if v is not None}
    for key in ("brandnames", "operators"):
        if key in values:
            values[key] = _csv(values[key])
    try:
        return schema.load(values)
    except ma.ValidationError as err:
        raise click.UsageError("; ".join(f"--{k.replace('_', '-')}: {' '.join(map(str, v))}"
                                         for k, v in err.normalized_messages().items())) from None


def _show(account: SmppAccount) -> None:
    click.echo(f"{account.id:>3}  {account.name:<14} {account.host}:{account.port} "
               f"id={account.system_id} {account.bind_mode}x{account.binds} tps={account.tps} "
               f"window={account.window} operators={','.join(account.operators) or '-'}"
               f"{' default' if account.is_default else ''}"
               f"{'' if account.enabled else ' (disabled)'}")


@account_cli.command("add")
@click.argument("name")
@_account_options(required=True)
def add(name: str, **values: Any) -> None:
    """Add an SMPP account NAME."""
    data = _load(SmppAccountCreateSchema(), {"name": name, **values})
    try:
        account = smpp_accounts.create(data, actor=None)
        db.session.commit()
    except LoaError as err:
        raise click.ClickException(err.message) from None
    _show(account)


@account_cli.command("update")
@click.argument("name")
@_account_options(required=False)
@click.option("--rename", help="New name")
def update(name: str, rename: str | None, **values: Any) -> None:
    """Change the given fields of account NAME."""
    if rename:
        values["name"] = rename
    data = _load(SmppAccountUpdateSchema(), values)
    try:
        account = smpp_accounts.update(smpp_accounts.by_name_or_id(name), data, actor=None)
        db.session.commit()
    except LoaError as err:
        raise click.ClickException(err.message) from None
    _show(account)


@account_cli.command("list")
def list_accounts() -> None:
    """List SMPP accounts and the operator routes."""
    for account in db.session.scalars(select(SmppAccount).order_by(SmppAccount.name)):
        _show(account)
    names = {a.id: a.name for a in db.session.scalars(select(SmppAccount))}
    for op, acc in smpp_accounts.route_table().items():
        click.echo(f"  route {op:<13} → {names.get(acc, 'NO ROUTE') if acc else 'NO ROUTE'}")


@account_cli.command("remove")
@click.argument("name")
@click.confirmation_option(prompt="Remove this account?")
def remove(name: str) -> None:
    """Remove account NAME."""
    try:
        smpp_accounts.remove(smpp_accounts.by_name_or_id(name), actor=None)
        db.session.commit()
    except LoaError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"Removed {name}.")
