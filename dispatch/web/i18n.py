"""Translations (Vietnamese by default, English available) and the way numbers and times show.

Messages are written in English in the code and templates and translated in
`dispatch/translations/vi/LC_MESSAGES/messages.po`. The compiled `.mo` is committed beside it:
deployments run no build step, and `tests/web/test_i18n.py` fails when it is older than the
`.po` (recompile with `scripts/i18n compile`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app, session
from flask_babel import Babel, format_datetime, format_decimal, gettext, lazy_gettext
from jinja2 import pass_context

from dispatch.audiences.msisdn import display
from dispatch.schemas.translate import tr

babel = Babel()
LOCALES = {"vi": "Tiếng Việt", "en": "English"}
_l = lazy_gettext


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LOCALES else current_app.config["BABEL_DEFAULT_LOCALE"]


def add_filters(app: Flask, **filters: Callable[..., Any]) -> None:
    """Register template filters that Jinja must call at render time, in the reader's language.

    Jinja evaluates a filter on a literal (`{{ 'push'|label }}`) once, when it compiles the
    template, unless the filter takes the context; a template compiled first for an English
    reader then said "App notification" to every Vietnamese one in that process."""
    def at_render(func: Callable[..., Any]) -> Callable[..., Any]:
        @pass_context
        def call(context: Any, *args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)
        return call

    app.jinja_env.filters.update({name: at_render(f) for name, f in filters.items()})


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    add_filters(app, num=num, money=money, dt=dt, day=day, duration=duration, tr=tr,
                label=label, pct=pct, event=event, phone=phone)
    app.jinja_env.globals.update(LOCALES=LOCALES, current_locale=select_locale)


def num(value: Any) -> str:
    """1234567 → "1.234.567" in Vietnamese."""
    if value is None or value == "":
        return "—"
    return str(format_decimal(value))


def phone(value: str | None) -> str:
    """+84912345678 → "0912 345 678": a stored number as people write it (E.164 stays stored)."""
    return display(value) or "—"


def money(value: Any) -> str:
    return "—" if value is None else f"{num(value)} ₫"


def pct(value: Any) -> str:
    return "—" if value is None else f"{format_decimal(value, format='#,##0.#')} %"


def dt(value: datetime | str | None, fmt: str = "dd/MM/yyyy HH:mm") -> str:
    """A UTC time (or its ISO text, as snapshots keep it) in Loa's zone, Asia/Ho_Chi_Minh."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    if value is None:
        return "—"
    try:
        return str(format_datetime(value, fmt))
    except (OverflowError, ValueError):
        # A time at the edge of the calendar (9999-12-31, stored before dates were bounded)
        # has no local time: shown as stored rather than breaking the page.
        return f"{value.isoformat(sep=' ', timespec='minutes')}"


def day(value: datetime | None) -> str:
    return dt(value, "dd/MM/yyyy")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return gettext("%(h)d h %(m)d min", h=hours, m=minutes)
    if minutes:
        return gettext("%(m)d min %(s)d s", m=minutes, s=secs)
    return gettext("%(s)d s", s=secs)


# Words for stored codes (statuses, operators, roles...): shown through the `label` filter.
LABELS: dict[str, Any] = {
    # campaign statuses
    "draft": _l("Draft"), "submitting": _l("Freezing the recipients"),
    "pending_approval": _l("Awaiting approval"), "rejected": _l("Rejected"),
    "approved": _l("Approved"), "scheduled": _l("Scheduled"), "sending": _l("Sending"),
    "paused": _l("Paused"), "completed": _l("Completed"), "cancelled": _l("Cancelled"),
    # message statuses
    "pending": _l("Pending"), "queued": _l("Queued"), "submitted": _l("Sent"),
    "delivered": _l("Delivered"), "partial": _l("Partly delivered"), "failed": _l("Failed"),
    "expired": _l("Expired"), "unknown": _l("Unknown"), "suppressed": _l("Not sent"),
    # channels
    "sms": _l("SMS"), "push": _l("App notification"), "both": _l("SMS and app notification"),
    # channel strategies ("both" is the channels' word)
    "app_first": _l("App first"), "app_then_sms": _l("App first, then SMS"),
    # priorities
    "normal": _l("Normal"), "urgent": _l("Urgent"),
    # roles
    "editor": _l("Editor"), "approver": _l("Approver"), "admin": _l("Administrator"),
    # operators
    "viettel": "Viettel", "vinaphone": "VinaPhone", "mobifone": "MobiFone",
    "vietnamobile": "Vietnamobile", "gmobile": "Gmobile", "itelecom": "Itelecom",
    "other": _l("Other"), "-": "—",
    # opt-out sources
    "keyword": _l("SMS keyword"), "staff": _l("Staff"), "api": _l("API"),
    # import statuses
    "running": _l("Running"),
    # SMS encodings
    "gsm7": "GSM-7", "ucs2": "UCS-2",
    # platforms
    "android": "Android", "ios": "iOS", "web": "Web",
    # campaign actions (buttons, timeline)
    "edit": _l("Edit"), "delete": _l("Delete"), "submit": _l("Submit for approval"),
    "reopen": _l("Back to draft"), "approve": _l("Approve"), "reject": _l("Reject"),
    "launch": _l("Launch"), "pause": _l("Pause"), "resume": _l("Resume"),
    "cancel": _l("Cancel campaign"), "retry": _l("Retry failed"),
    "start": _l("Started"), "complete": _l("Completed"), "create": _l("Created"),
    "update": _l("Edited"), "void": _l("Approval voided"), "cancel_unsent": _l("Unsent cancelled"),
    # replies: their kinds and states, the app channel
    "answer": _l("Survey answer"), "free": _l("Free text"), "opt_out": _l("Opt-out"),
    "unattributed": _l("Not attributed to a campaign"), "stranger": _l("From a non-recipient"),
    "new": _l("New"), "handled": _l("Handled"), "app": _l("App"),
}


EVENTS: dict[str, Any] = {
    "campaign.create": _l("Campaign created"), "campaign.update": _l("Edited"),
    "campaign.submit": _l("Submitted for approval"),
    "campaign.frozen": _l("Recipients frozen; awaiting approval"),
    "campaign.freeze_failed": _l("Recipients could not be frozen; back to draft"),
    "campaign.freeze_retry": _l("Recipients not frozen yet: the database failed; trying again"),
    "campaign.approve": _l("Approved"),
    "campaign.reject": _l("Rejected"), "campaign.reopen": _l("Returned to draft"),
    "campaign.launch": _l("Launched"), "campaign.pause": _l("Paused"),
    "campaign.resume": _l("Resumed"), "campaign.cancel": _l("Cancelled"),
    "campaign.retry": _l("Failed messages queued again"), "campaign.start": _l("Started"),
    "campaign.complete": _l("Completed"), "campaign.void": _l("Approval voided by an edit"),
    "campaign.cancel_unsent": _l("Unsent messages cancelled"), "campaign.delete": _l("Deleted"),
    "campaign.test_send": _l("Sent as a test"),
    "test_member.create": _l("Added to the test list"),
    "test_member.update": _l("Test list member changed"),
    "test_member.delete": _l("Removed from the test list"),
    "user.create": _l("Account created"), "user.update": _l("Account changed"),
    "user.reset_password": _l("Password reset"), "user.change_password": _l("Password changed"),
    "user.two_factor_on": _l("Two-factor sign-in turned on"),
    "user.two_factor_off": _l("Two-factor sign-in turned off"),
    "session.end": _l("Session ended"), "session.end_all": _l("Signed out everywhere"),
    "token.revoke_all": _l("All API tokens revoked"),
    "token.create": _l("API token created"), "token.revoke": _l("API token revoked"),
    "setting.update": _l("Setting changed"), "optout.add": _l("Opt-out added"),
    "optout.remove": _l("Opt-out lifted"), "contacts.import": _l("Contacts imported"),
    "contacts.import_failed": _l("Import failed"), "list.create": _l("List created"),
    "list.update": _l("List changed"), "list.delete": _l("List deleted"),
    "smpp_account.create": _l("SMPP account added"),
    "smpp_account.update": _l("SMPP account changed"),
    "smpp_account.remove": _l("SMPP account removed"),
    "webhook.create": _l("Webhook added"), "webhook.update": _l("Webhook changed"),
    "webhook.rotate": _l("Webhook secret replaced"), "webhook.disable": _l("Webhook disabled"),
    "webhook.enable": _l("Webhook enabled again"),
    "plan.create": _l("Plan created"), "plan.update": _l("Plan changed"),
    "phase.create": _l("Phase added"), "phase.update": _l("Phase changed"),
    "phase.delete": _l("Phase deleted"),
    "campaign.push_blocked": _l("App notifications stopped"),
    "campaign.push_unblocked": _l("App notifications resumed"),
    "contact.create": _l("Contact added"), "contact.update": _l("Contact changed"),
    "contact.delete": _l("Contact deleted"), "contacts.import_cancel": _l("Import cancelled"),
    "list.add_members": _l("Contacts added to a list"),
    "list.remove_member": _l("Contact removed from a list"),
    "locality.create": _l("Locality added"), "locality.update": _l("Locality changed"),
    "locality.import": _l("Localities imported"), "optout.create": _l("Opt-out added"),
    "optout.delete": _l("Opt-out lifted"), "appkey.create": _l("App key created"),
    "appkey.update": _l("App key changed"), "appkey.revoke": _l("App key revoked"),
    "personal_data.export": _l("Personal data exported"),
    "personal_data.erase": _l("Personal data erased"),
    "report.export": _l("Report exported"),
    "reply.unmask": _l("Phone number shown"), "reply.bulk": _l("Replies changed in bulk"),
    "reply_label.create": _l("Reply label added"), "reply_label.update": _l("Reply label changed"),
    "report.inquiry": _l("Looked up what a number received"),
}


def event(action: str) -> str:
    """An audit action in words, or the code itself when there are none for it."""
    found = EVENTS.get(action)
    return str(found) if found is not None else action


def label(code: Any) -> str:
    """The reader's word for a stored code (`campaign.submit` → its last part's label)."""
    if code is None:
        return "—"
    text = str(getattr(code, "value", code))
    found = LABELS.get(text) or LABELS.get(text.rsplit(".", 1)[-1])
    return str(found) if found is not None else text

