"""`flask …` commands for operators; each concern adds its group here."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from dispatch import users as users_service
from dispatch.extensions import db
from dispatch.models import ROLES, User
from dispatch.seed import seed_defaults
from dispatch.smpp_cli import smpp_cli

users_cli = AppGroup("users", help="Staff accounts.")
tokens_cli = AppGroup("tokens", help="API tokens.")
secrets_cli = AppGroup("secrets", help="Stored credentials.")


@secrets_cli.command("rotate")
def rotate_secrets() -> None:
    """Re-encrypt stored credentials with the first key of LOA_SECRETS_KEY."""
    from dispatch import secrets
    from dispatch.models import SmppAccount

    count = 0
    for account in db.session.scalars(select(SmppAccount)):
        account.password_encrypted = secrets.rotate(account.password_encrypted)
        count += 1
    db.session.commit()
    click.echo(f"Re-encrypted {count} SMPP password(s).")


@click.command("seed")
def seed_command() -> None:
    """Insert the default phase tags, localities and settings where missing."""
    seed_defaults()
    click.echo("Seeded defaults.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--name", "full_name", default="")
def create_user(username: str, roles: tuple[str, ...], full_name: str) -> None:
    """Create a user and print their one-time password."""
    user, password = users_service.create_user(username, list(roles), actor=None,
                                               full_name=full_name)
    db.session.commit()
    click.echo(f"Created {user.username} ({', '.join(user.roles)}).")
    click.echo(f"One-time password: {password}")


@users_cli.command("ensure-admin")
@click.option("--username", default="admin")
def ensure_admin(username: str) -> None:
    """Create the first admin unless an admin exists; print its one-time password once."""
    for user in db.session.scalars(select(User).where(User.active.is_(True))):
        if "admin" in user.roles:
            click.echo(f"An admin exists ({user.username}); nothing to do.")
            return
    user, password = users_service.create_user(username, ["admin"], actor=None,
                                               full_name="Administrator")
    db.session.commit()
    click.secho(f"First admin: {user.username}  one-time password: {password}", bold=True)
    click.echo("Change it with PUT /api/me/password before creating a token.")


@users_cli.command("list")
def list_users() -> None:
    """List users and their roles."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        state = "" if user.active else "  (inactive)"
        click.echo(f"{user.id:>4}  {user.username:<20} {','.join(user.roles)}{state}")


@tokens_cli.command("create")
@click.argument("username")
@click.option("--name", default="cli")
def create_token(username: str, name: str) -> None:
    """Create an API token for a user and print the secret (shown once)."""
    user = db.session.scalar(select(User).where(User.username == username.lower()))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    _, secret = users_service.create_token(user, name)
    db.session.commit()
    click.echo(secret)


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(smpp_cli)
    app.cli.add_command(secrets_cli)
    from dispatch.audiences.cli import contacts_cli, localities_cli

    app.cli.add_command(contacts_cli)
    app.cli.add_command(localities_cli)


@click.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to serve (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker for the background jobs."""
    from flask import current_app
    from rq import Worker

    from dispatch.jobs import QUEUES
    from dispatch.redis_conn import get_redis

    names = list(queues) or list(QUEUES)
    conn = get_redis(current_app._get_current_object())  # type: ignore[attr-defined]
    Worker(names, connection=conn).work(burst=burst, with_scheduler=not burst)


def main() -> None:
    """The `loa` command: `flask` with this app preselected."""
    import os

    from flask.cli import main as flask_main

    os.environ.setdefault("FLASK_APP", "dispatch")
    flask_main()
