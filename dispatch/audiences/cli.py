"""`flask contacts …` and `flask localities …`: imports for the department's staff."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from dispatch.audiences import contacts as contacts_service
from dispatch.audiences import refusals
from dispatch.audiences.import_jobs import run_inline
from dispatch.audiences.localities import import_localities
from dispatch.cli import checked
from dispatch.errors import LoaError
from dispatch.extensions import db
from dispatch.models import ContactImport, Locality, User
from dispatch.schemas.audiences import ListCreateSchema

contacts_cli = AppGroup("contacts", help="Contacts and contact lists.")
localities_cli = AppGroup("localities", help="Localities (districts, communes).")

ERRORS_SHOWN = 20


def _actor(username: str | None) -> User | None:
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username.lower()))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    return user


def print_report(record: ContactImport, shown: int = ERRORS_SHOWN) -> None:
    """The summary, then the first problems and warnings, one a line, and the encoding."""
    colour = "green" if record.status == "completed" and record.imported_rows else "red"
    click.secho(f"Import {record.id} {record.status}: {refusals.text(record.message)}", fg=colour,
                bold=True)
    for problem in record.errors[:shown]:
        column = f", {problem['column']}" if problem["column"] else ""
        click.echo(f"  line {problem['line']}{column}: {problem['value']!r}: {problem['reason']}")
    more = max(record.error_rows, len(record.errors)) - shown
    if more > 0:
        click.echo(f"  … and {more:,} more (GET /api/imports/{record.id} lists the first 1,000).")
    for problem in record.warnings[:shown]:  # imported, with a caveat
        column = f", {problem['column']}" if problem["column"] else ""
        click.echo(f"  warning, line {problem['line']}{column}: {problem['value']!r}: "
                   f"{problem['reason']}")
    if record.warning_rows > shown:
        click.echo(f"  … and {record.warning_rows - shown:,} more warnings.")
    if record.encoding:
        click.echo(f"Read as {record.encoding}.")


@contacts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", required=True, help="Name of the list to import into.")
@click.option("--existing-list", is_flag=True,
              help="Refuse if the list does not exist (by default it is created).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Rows per database batch (default: IMPORT_BATCH_SIZE).")
@click.option("--as", "username", default=None, help="Record the import as done by this user.")
def import_contacts(file: Path, list_name: str, existing_list: bool, batch_size: int | None,
                    username: str | None) -> None:
    """Import a CSV or XLSX FILE of phone numbers into a list and print the report.

    Exits with status 1 when nothing could be imported. Runs here rather than as a job, so the
    progress bar follows it.
    """
    actor = _actor(username)
    list_name = checked(ListCreateSchema, name=list_name)["name"]  # NFC, as the API stores it
    contact_list = contacts_service.find_list(list_name)
    if contact_list is None:
        if existing_list:
            raise click.ClickException(f"No list named {list_name!r}.")
        try:
            contact_list = contacts_service.create_list(list_name, actor=actor)
        except LoaError as exc:
            raise click.ClickException(exc.message) from None
        db.session.commit()
        click.echo(f"Created list {contact_list.name!r} (id {contact_list.id}).")
    with file.open("rb") as stream, click.progressbar(
        length=max(file.stat().st_size, 1), label=f"Importing {file.name}",
        show_percent=True, show_eta=True, file=sys.stderr,
    ) as bar:
        state: dict[str, Any] = {"done": 0}

        def progress(done: int, total: int) -> None:
            # CSV reports bytes read; XLSX reports rows against the sheet's row count.
            if total and total != bar.length:
                bar.length = total
            bar.update(done - state["done"])
            state["done"] = done

        # Inline, in this process, with the job's heartbeat (so the clock leaves it be) and
        # its refused-rows file (GET /api/imports/<id>/refused.csv).
        record = run_inline(stream, file.name, contact_list, actor,
                            batch_size=batch_size, progress=progress)
    print_report(record)
    if record.status != "completed" or record.imported_rows == 0:
        raise SystemExit(1)


@localities_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_localities_command(file: Path) -> None:
    """Create or update localities from a CSV with columns code,name,kind,parent_code."""
    with file.open("rb") as stream:
        try:
            created, updated, errors = import_localities(stream, actor=None)
        except LoaError as exc:
            raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"{created} created, {updated} updated, {len(errors)} errors.")
    for error in errors:
        click.echo(f"  {error}")
    if errors and not created and not updated:
        raise SystemExit(1)


@localities_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include inactive localities.")
def list_localities(show_all: bool) -> None:
    """Print the localities: code, kind, name, parent code."""
    places = list(db.session.scalars(select(Locality).order_by(Locality.code)))
    codes = {p.id: p.code for p in places}
    for place in places:
        if not place.active and not show_all:
            continue
        parent = codes.get(place.parent_id, "") if place.parent_id else ""
        state = "" if place.active else "  (inactive)"
        click.echo(f"{place.code:<24} {place.kind:<9} {place.name:<40} {parent}{state}")
