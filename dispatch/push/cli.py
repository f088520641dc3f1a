"""`flask push test|unblock|mode|prune-devices`: the operator's push tools.

firebase-admin is imported inside the commands: `create_app` registers this group in every
process, and the web process has no use for the SDK's quarter of a second of imports.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from dispatch.extensions import db
from dispatch.models import Campaign

push_cli = AppGroup("push", help="Push notifications to the province app (FCM).")


@push_cli.command("test")
@click.argument("token")
@click.option("--title", required=True)
@click.option("--body", required=True)
@click.option("--link", default=None, help="Deep link the app opens.")
@click.option("--dry-run", is_flag=True, help="Let FCM validate the message without sending it.")
def test_push(token: str, title: str, body: str, link: str | None, dry_run: bool) -> None:
    """Send one notification to TOKEN with the configured credentials; print its FCM name."""
    from dispatch.push.config import PushNotConfigured, build_gateway
    from gateways.errors import GatewayError
    from gateways.fcm import PushAuthFailed, PushContent, check_payload

    content = PushContent(title=title, body=body, link=link, priority="high")
    try:
        check_payload(content)
        gateway = build_gateway(timeout=15)
    except (PushNotConfigured, GatewayError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        outcome = gateway.send_one(token, content, ref="cli", dry_run=dry_run)
    except PushAuthFailed as exc:
        raise click.ClickException(
            f"FCM refused the service account ({exc.code}): {exc.reason}"
        ) from None
    finally:
        gateway.close()
    if not outcome.ok:
        after = f" (retry after {outcome.retry_after:g} s)" if outcome.retry_after else ""
        raise click.ClickException(
            f"{outcome.status.value}: {outcome.code or '-'}: {outcome.reason}{after}"
        )
    click.echo(outcome.message_name)


def _campaign(campaign_id: int) -> Campaign:
    c = db.session.get(Campaign, campaign_id)
    if c is None:
        raise click.ClickException(f"No campaign {campaign_id}.")
    return c


@push_cli.command("unblock")
@click.argument("campaign_id", type=int)
def unblock_push(campaign_id: int) -> None:
    """Resume a campaign's push side after its credentials were fixed."""
    from dispatch.push import send as push
    c = _campaign(campaign_id)
    if not c.push_blocked:
        click.echo(f"Campaign {c.id}'s push side is not blocked.")
        return
    reason = c.push_blocked
    jobs = push.unblock(c)
    click.echo(f"Unblocked campaign {c.id} (was: {reason}); enqueued {jobs} push job(s).")


@push_cli.command("mode")
@click.argument("campaign_id", type=int)
def show_mode(campaign_id: int) -> None:
    """Show the push mode a campaign uses (or would use if launched now), and why."""
    from dispatch.push import send as push
    c = _campaign(campaign_id)
    if c.push_mode:
        click.echo(f"{c.push_mode}: {c.push_mode_reason}")
    else:
        mode, reason = push.choose_push_mode(c)
        click.echo(f"{mode} (if launched now): {reason}")


@push_cli.command("prune-devices")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Registered at least this many days ago (default LOA_APP_UNRETURNED_DAYS).")
def prune_devices(days: int | None) -> None:
    """Delete installations that registered, never came back and were never pushed to."""
    from datetime import timedelta

    from flask import current_app

    from dispatch.models.common import utcnow
    from dispatch.push import installations as app_installations

    days = days or int(current_app.config["APP_UNRETURNED_DAYS"])
    pruned = app_installations.prune_unreturned(utcnow() - timedelta(days=days))
    click.echo(f"Pruned {pruned} installation(s) registered over {days} day(s) ago that never "
               "came back.")
