"""`flask smpp account add|list|update|remove`: SMPP accounts from the command line."""

from __future__ import annotations

from typing import Any

import click
import marshmallow as ma
from flask.cli import AppGroup
from sqlalchemy import select

from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.models import SmppAccount
from dispatch.schemas.smpp import SmppAccountCreateSchema, SmppAccountUpdateSchema
from dispatch.sms import accounts as smpp_accounts

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
        click.option("--pacing", type=click.Choice(["per_second", "spacing"]),
                     help="spacing: no two submits closer than 1/TPS (SMSCs that police an "
                     "interval)"),
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
    if rename is not None:
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


@account_cli.command("ensure-demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=click.IntRange(1, 65535), default=2775)
@click.option("--system-id", "system_id", default="loa")
@click.option("--password", default="secret")
def ensure_demo(host: str, port: int, system_id: str, password: str) -> None:
    """Add a default account `demo` for the local SMSC stand-in, unless any account exists.

    Exits 0 when an enabled `demo` account points at HOST:PORT (the stand-in is needed), 1 when
    only other accounts are enabled (scripts/run then leaves the stand-in out).
    """
    if db.session.scalar(select(SmppAccount.id).limit(1)) is None:
        account = smpp_accounts.create(
            {"name": "demo", "host": host, "port": port, "system_id": system_id,
             "password": password, "is_default": True, "tps": 200, "window": 50,
             "brandnames": ["HAUGIANG", "LOA"]}, actor=None)
        db.session.commit()
        click.echo("Added the SMPP account `demo`, for the local SMSC stand-in:")
        _show(account)
    demo = db.session.scalar(select(SmppAccount).where(SmppAccount.name == "demo"))
    if demo is None or not demo.enabled or (demo.host, demo.port) != (host, port):
        click.echo("SMS goes through the configured SMPP accounts (no stand-in).")
        raise SystemExit(1)


@smpp_cli.command("run")
@click.option("--account", "accounts", multiple=True,
              help="Serve only these accounts (by name; default: every enabled one).")
@click.option("--poll", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds between looks at the account table.")
@click.option("--no-throttle", is_flag=True,
              help="Ignore the accounts' TPS (benchmarks against the stand-in only).")
def run(accounts: tuple[str, ...], poll: float, no_throttle: bool) -> None:
    """Run the SMPP sessions and SMS sending of every enabled account until SIGTERM."""
    import logging

    from flask import current_app

    from dispatch.sms.process import SmppProcess

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    known = set(db.session.scalars(select(SmppAccount.name)))
    unknown = [name for name in accounts if name not in known]
    if unknown:  # refused before anything starts, not served forever as nothing
        raise click.ClickException(f"No SMPP account {', '.join(map(repr, unknown))}; "
                                   f"accounts are {', '.join(sorted(known)) or 'none'}.")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    SmppProcess(app, poll_interval=poll, throttle=not no_throttle,
                accounts=list(accounts) or None).run_forever()


@smpp_cli.command("status")
def status_command() -> None:
    """Show each bind of the running smpp processes: state, since, in flight, sent, errors, rate."""
    from dispatch.jobs.redis_conn import get_redis
    from dispatch.sms import status

    client = get_redis()
    rows = status.read(client)
    if not rows:
        running = status.processes(client)
        click.echo("No smpp process is running." if not running
                   else "The smpp process serves no account.")
        raise SystemExit(1)
    click.echo(f"{'bind':<22}{'state':<14}{'since (UTC)':<21}{'in flight':>10}{'queued':>8}"
               f"{'sent':>10}{'errors':>8}{'receipts':>10}{'rate/s':>8}  process")
    for row in rows:
        since = (row.get("since") or "")[:19].replace("T", " ")
        click.echo(f"{row['name']:<22}{row['state']:<14}{since:<21}{row.get('in_flight', 0):>10}"
                   f"{row.get('queued', 0):>8}{row.get('sent', 0):>10}{row.get('errors', 0):>8}"
                   f"{row.get('receipts', 0):>10}{row.get('rate', 0.0):>8.0f}  {row['process']}")
        if row.get("detail") and row["state"] != "bound":
            click.echo(f"{'':<22}{row['detail']}")
    _echo_paces(rows)
    problems = status.problems(rows)
    for problem in problems:
        click.secho(f"no bind up: {problem}", fg="red", err=True)
    raise SystemExit(1 if problems else 0)


def _echo_paces(rows: list[dict[str, Any]]) -> None:
    """Per account: the allowance, the rate achieved, refusals, and what limits it."""
    from sqlalchemy import select

    from dispatch.extensions import db
    from dispatch.models import SmppAccount
    from dispatch.sms.pace import paces

    ids = {int(r["account_id"]) for r in rows}
    accounts = db.session.scalars(select(SmppAccount).where(SmppAccount.id.in_(ids))
                                  .order_by(SmppAccount.name)).all()
    click.echo("")
    click.echo(f"{'account':<22}{'TPS':>7}{'rate/s':>9}{'refused/min':>13}{'round trip':>12}"
               f"{'window limit':>14}  limited by")
    for pace in paces(list(accounts), rows):
        trip = f"{pace.round_trip * 1000:.1f} ms" if pace.round_trip else "—"
        carried = f"{pace.window_limit:.0f}/s" if pace.window_limit is not None else "—"
        click.echo(f"{pace.account:<22}{pace.tps:>7}{pace.rate:>9.1f}{pace.refused:>13}"
                   f"{trip:>12}{carried:>14}  {pace.limit}")


@smpp_cli.command("test")
@click.argument("account_name", metavar="ACCOUNT")
@click.argument("msisdn")
@click.argument("text")
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for the delivery receipt.")
@click.option("--sender", help="Source address (default: the account's first brandname).")
def test_command(account_name: str, msisdn: str, text: str, wait: float,
                 sender: str | None) -> None:
    """Send TEXT to MSISDN on a bind of its own and wait for the receipt; exit 0 if delivered."""
    from dispatch.sms.probe import probe

    if not text.strip():
        raise click.BadParameter("the text is empty.", param_hint="TEXT")
    if sender is not None and not 0 < len(sender) <= 11:
        raise click.BadParameter("a source address has 1 to 11 characters.",
                                 param_hint="--sender")
    try:
        account = smpp_accounts.by_name_or_id(account_name)
    except LoaError as err:
        raise click.ClickException(err.message) from None
    raise SystemExit(probe(account, msisdn, text, wait=wait, sender=sender, echo=click.echo))
