"""`flask …` commands for operators; each concern adds its group here."""

from __future__ import annotations

import functools
import logging
from typing import Any

import click
import marshmallow as ma
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from dispatch.access import users as users_service
from dispatch.errors import LoaError, flatten_errors
from dispatch.extensions import db
from dispatch.models import ROLES, User
from dispatch.schemas.app_devices import AppKeyCreateSchema
from dispatch.schemas.users import TokenCreateSchema, UserCreateSchema
from dispatch.seed import seed_defaults
from dispatch.sms.cli import smpp_cli


def checked(schema: type[ma.Schema], **values: Any) -> dict[str, Any]:
    """Command-line values through the API's schema (NFC, the same limits), or a usage error."""
    try:
        return dict(schema(partial=True).load(values))
    except ma.ValidationError as err:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in flatten_errors(err.messages).items())
        raise click.UsageError(problems) from None


users_cli = AppGroup("users", help="Staff accounts.")
tokens_cli = AppGroup("tokens", help="API tokens.")
secrets_cli = AppGroup("secrets", help="Stored credentials.")


@secrets_cli.command("rotate")
def rotate_secrets() -> None:
    """Re-encrypt stored credentials with the first key of LOA_SECRETS_KEY."""
    from dispatch.access import secrets
    from dispatch.models import SmppAccount

    count = 0
    for account in db.session.scalars(select(SmppAccount)):
        account.password_encrypted = secrets.rotate(account.password_encrypted)
        count += 1
    factors = 0
    for user in db.session.scalars(select(User).where(User.totp_secret.is_not(None))):
        user.totp_secret = secrets.rotate(user.totp_secret or "")
        factors += 1
    from dispatch.models import Webhook

    hooks = 0
    for hook in db.session.scalars(select(Webhook)):
        hook.secret_encrypted = secrets.rotate(hook.secret_encrypted)
        hooks += 1
    db.session.commit()
    click.echo(f"Re-encrypted {count} SMPP password(s), {factors} two-factor secret(s) and "
               f"{hooks} webhook secret(s).")


@click.command("seed")
def seed_command() -> None:
    """Insert the default localities and settings where missing."""
    seed_defaults()
    click.echo("Seeded defaults.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--name", "full_name", default="")
def create_user(username: str, roles: tuple[str, ...], full_name: str) -> None:
    """Create a user and print their one-time password."""
    given = checked(UserCreateSchema, username=username, roles=list(roles), full_name=full_name)
    user, password = users_service.create_user(given["username"], given["roles"], actor=None,
                                               full_name=given["full_name"])
    db.session.commit()
    click.echo(f"Created {user.username} ({', '.join(user.roles)}).")
    click.echo(f"One-time password: {password}")


@users_cli.command("ensure-admin")
@click.option("--username", default="admin")
def ensure_admin(username: str) -> None:
    """Create the first admin unless an admin exists; print its one-time password once."""
    username = checked(UserCreateSchema, username=username)["username"]
    for user in db.session.scalars(select(User).where(User.active.is_(True))):
        if "admin" in user.roles:
            click.echo(f"An admin exists ({user.username}); nothing to do.")
            return
    user, password = users_service.create_user(username, ["admin"], actor=None,
                                               full_name="Quản trị viên")
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
    _, secret = users_service.create_token(user, checked(TokenCreateSchema, name=name)["name"])
    db.session.commit()
    click.echo(secret)


appkeys_cli = AppGroup("appkeys", help="Keys the province app authenticates with.")


@appkeys_cli.command("create")
@click.argument("name")
@click.option("--rate-limit", type=click.IntRange(min=1), default=None,
              help="Requests per minute for the key (all installations together).")
@click.option("--verifies-numbers", is_flag=True,
              help="The app's backend checks the numbers it tells (e.g. by OTP).")
def create_appkey(name: str, rate_limit: int | None, verifies_numbers: bool) -> None:
    """Create an app key and print the secret (shown once; only its hash is stored)."""
    from dispatch.push import devices as app_devices
    name = checked(AppKeyCreateSchema, name=name)["name"]
    key, secret = app_devices.create_key(name, rate_limit_per_minute=rate_limit,
                                         verifies_numbers=verifies_numbers)
    db.session.commit()
    click.echo(f"Created app key {key.id} ({key.name}, {key.rate_limit_per_minute}/min).",
               err=True)
    click.echo(secret)


@appkeys_cli.command("list")
def list_appkeys() -> None:
    """List app keys: id, prefix, name, limit, last use, revoked."""
    from dispatch.models import AppKey

    for key in db.session.scalars(select(AppKey).order_by(AppKey.id)):
        used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
        state = "  (revoked)" if key.revoked_at else ""
        click.echo(f"{key.id:>4}  {key.prefix}…  {key.name:<24} {key.rate_limit_per_minute:>7}/min"
                   f"  used {used} UTC{state}")


@appkeys_cli.command("verifies-numbers")
@click.argument("key_id", type=int)
@click.argument("state", type=click.Choice(["on", "off"]))
def verifies_numbers_appkey(key_id: int, state: str) -> None:
    """Mark whether an app key verifies the numbers it tells (on: its links are verified)."""
    from dispatch.push import devices as app_devices

    key = app_devices.update_key(app_devices.get_key(key_id), actor=None,
                                 verifies_numbers=state == "on")
    db.session.commit()
    click.echo(f"App key {key.id} ({key.name}) verifies numbers: {state}.")


@appkeys_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke_appkey(key_id: int) -> None:
    """Revoke an app key by id: every installation using it is refused from now on."""
    from dispatch.errors import NotFound
    from dispatch.push import devices as app_devices

    try:
        key = app_devices.revoke_key(app_devices.get_key(key_id), actor=None)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Revoked app key {key.id} ({key.name}).")


@click.command("clock")
@click.option("--interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds between ticks.")
@click.option("--once", is_flag=True, help="Tick once and exit.")
def clock_command(interval: float, once: bool) -> None:
    """Run the engine's periodic tick (schedules, windows, expiry, orphans, completion)."""
    import logging

    from flask import current_app

    from dispatch.engine import clock
    from dispatch.ops.signals import stop_on_signals

    log = logging.getLogger("dispatch.engine.clock")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if once:
        click.echo(clock.tick(current_app.config))
        db.session.commit()
        return
    stop = stop_on_signals(log=log, message="clock: %s received, stopping after this tick")
    click.echo(f"clock running: a tick every {interval:g} s")
    clock.run_forever(current_app.config, interval, stop)
    click.echo("clock stopped")


def register_commands(app: Flask) -> None:
    from dispatch.audiences.cli import contacts_cli, localities_cli
    from dispatch.audiences.retention_cli import data_cli
    from dispatch.push.cli import push_cli

    for command in (seed_command, users_cli, tokens_cli, worker_command, clock_command,
                    demo_cli, smpp_cli, secrets_cli, appkeys_cli, contacts_cli, localities_cli,
                    push_cli, data_cli):
        guard(command)
        app.cli.add_command(command)


def guard(command: click.Command) -> None:
    """Make every failure of a command (and of its subcommands) a one-line error, exit 1.

    A refusal of the domain (`LoaError`: unknown id, exists already, invalid value) says its
    message; anything unexpected says its type and message, with the traceback in the log at
    debug level. Commands that exit on purpose still do.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "_loa_guarded", False):
        return

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit,
                KeyboardInterrupt):
            raise
        except LoaError as exc:
            raise click.ClickException(exc.message) from None
        except Exception as exc:
            logging.getLogger("dispatch.cli").debug("%s failed", command.name, exc_info=True)
            first = (str(exc).strip().splitlines() or [""])[0]
            raise click.ClickException(
                f"Unexpected error ({type(exc).__name__}): {first}") from None

    guarded._loa_guarded = True  # type: ignore[attr-defined]
    command.callback = guarded


@click.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to serve (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker for the background jobs."""
    import logging
    import threading

    from flask import current_app
    from redis.exceptions import RedisError

    from dispatch.jobs import QUEUES, Worker
    from dispatch.jobs.redis_conn import get_redis
    from dispatch.ops.signals import stop_on_signals

    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"{', '.join(map(repr, unknown))}; queues are "
                                 f"{', '.join(QUEUES)}.", param_hint="--queue")
    names = list(queues) or list(QUEUES)
    conn = get_redis(current_app._get_current_object())  # type: ignore[attr-defined]
    stopping = threading.Event()
    while True:
        # Non-forking: a push batch reuses this process's FCM gateway (token, TLS connections)
        # instead of building one per job in a fresh work-horse (docs/BENCHMARKS.md, push).
        worker: Worker | None = None
        try:
            worker = Worker(names, connection=conn)
            worker.work(burst=burst, with_scheduler=not burst)
            return
        except RedisError as exc:
            # RQ quits when Redis goes away at the wrong moment (a job ending, its own
            # bookkeeping): a new worker once it is back, as the smpp process does.
            if burst:
                raise
            if getattr(worker, "_shutdown_requested_date", None) is not None:
                # Asked to stop, and RQ's stop handler itself needed Redis: stop here.
                logging.getLogger(__name__).warning("worker: stopping without Redis (%s)", exc)
                return
            logging.getLogger(__name__).warning("worker: Redis unavailable (%s); starting "
                                                "again", exc)
        # Between two workers no RQ handler is installed: a stop request ends the command.
        stop_on_signals(stopping)
        if stopping.wait(2.0):
            return


def main() -> None:
    """The `loa` command: `flask` with this app preselected."""
    import os

    from flask.cli import main as flask_main

    os.environ.setdefault("FLASK_APP", "dispatch")
    flask_main()


demo_cli = AppGroup("demo", help="Demo data for a first run.")


@demo_cli.command("seed")
@click.option("--contacts", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option("--devices", type=click.IntRange(0, 100_000), default=60, show_default=True)
def demo_seed(contacts: int, devices: int) -> None:
    """Create demo users, the congress plan, a list, app devices and campaigns (once)."""
    from dispatch import demo

    if demo.exists():
        click.echo("Demo data exists already.")
        return
    made = demo.seed(contacts, devices)
    record = made["import"]
    click.secho("Demo data:", bold=True)
    click.echo(f"  editor   {made['editor'][0]:<9} one-time password: {made['editor'][1]}")
    click.echo(f"  approver {made['approver'][0]:<9} one-time password: {made['approver'][1]}")
    click.echo(f"  list {made['list_id']}: {record.imported_rows} contacts imported, "
               f"{record.error_rows} rows refused (see GET /api/imports/{record.id})")
    click.echo(f"  campaign {made['campaign_id']} approved, ready: "
               f"POST /api/campaigns/{made['campaign_id']}/launch")
    click.echo(f"  plan {made['plan_id']}: the congress plan's three phases, its calendar at "
               f"/plans/{made['plan_id']}; campaign {made['draft_id']}: a draft of phase 2")
    click.echo(f"  campaign {made['survey_id']}: a survey of phase 1, launched; the SMSC "
               f"stand-in answers it (process demo), results at "
               f"/campaigns/{made['survey_id']}/report")


@demo_cli.command("answers")
@click.option("--control", default="http://127.0.0.1:2776", show_default=True,
              help="The SMSC stand-in's HTTP control.")
@click.option("--timeout", type=click.FloatRange(min=1), default=120, show_default=True,
              help="Seconds to wait for the survey's SMS to leave.")
@click.option("--stay", is_flag=True,
              help="Then wait for SIGTERM (a Procfile process: honcho stops all when one ends).")
def demo_answers(control: str, timeout: float, stay: bool) -> None:
    """Have the SMSC stand-in answer the demo survey from the numbers it was sent to."""
    from dispatch import demo

    try:
        c, asked, sent = demo.answer_survey(control, timeout=timeout)
    except demo.AlreadyAnswered as exc:
        click.echo(str(exc))
    except demo.NotAnswered as exc:
        if not stay:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Error: {exc}")  # said, and the other processes keep running
    else:
        said = ", ".join(f"{k}: {n}" for k, n in sent.items())
        click.echo(f"The SMSC stand-in answered the demo survey (campaign {c.id}): "
                   f"{sum(sent.values())} of the {asked} numbers it reached ({said}); "
                   f"results at /campaigns/{c.id}/report")
    if stay:
        _wait_for_sigterm()


def _wait_for_sigterm() -> None:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
