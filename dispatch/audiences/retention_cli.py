"""`flask data`: a person's data, exported or erased on request, and the retention run."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from dispatch.audiences import retention
from dispatch.errors import ValidationFailed

data_cli = AppGroup("data", help="Personal data: export, erase, retention.")


@data_cli.command("export")
@click.argument("number")
def export_command(number: str) -> None:
    """Print everything Loa holds on NUMBER as JSON."""
    try:
        click.echo(json.dumps(retention.export_person(number, actor=None), ensure_ascii=False,
                              indent=2))
    except ValidationFailed as err:
        raise click.UsageError(err.message) from None


@data_cli.command("erase")
@click.argument("number")
@click.option("--reason", default=None, help="The request, e.g. its reference.")
@click.option("--drop-opt-out", is_flag=True, help="Also forget the opt-out (only if asked).")
def erase_command(number: str, reason: str | None, drop_opt_out: bool) -> None:
    """Erase NUMBER: contact and memberships deleted, ledger rows pseudonymised, MO purged."""
    try:
        done = retention.erase_person(number, actor=None, reason=reason,
                                      drop_opt_out=drop_opt_out)
    except ValidationFailed as err:
        raise click.UsageError(err.message) from None
    click.echo(json.dumps(done))


@data_cli.command("retain")
def retain_command() -> None:
    """Run the retention pass now (the clock enqueues it daily)."""
    click.echo(json.dumps(retention.run(current_app.config)))
