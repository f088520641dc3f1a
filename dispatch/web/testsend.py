"""Test sends on the pages: the test list admins keep, the "send test" button of the composer
and the campaign page, and the approval page's line saying whether this version was tested."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dispatch.access.auth import require
from dispatch.access.permissions import allowed
from dispatch.campaigns import service, testlist, testsend
from dispatch.errors import LoaError, RateLimited
from dispatch.extensions import db
from dispatch.models import Campaign, User
from dispatch.schemas.testlist import TestMemberCreateSchema
from dispatch.schemas.translate import tr
from dispatch.web import forms, pages, queries
from dispatch.web.pages import Errors, errors_of, me

bp = pages.blueprint("web_tests", __name__)


def context(c: Campaign | None, user: User | None) -> dict[str, Any] | None:
    """What the partials show: the members to choose from, whether `user` may send a test of
    `c` now, and whether its current version was tested (when, by whom)."""
    if c is None or c.id is None or user is None or c.kind not in testsend.TESTABLE_KINDS:
        return None
    status = testsend.status(c)
    return {
        "members": testlist.members() if allowed(user.roles, "testlist.view") else [],
        "may_send": (allowed(user.roles, "campaign.test") and testsend.refusal(c) is None),
        "status": status,
        "by": queries.names({status["by_id"]}).get(status["by_id"] or 0),
    }


@bp.app_context_processor
def _partials() -> dict[str, Any]:
    return {"test_send_context": context}


@bp.post("/campaigns/<int:campaign_id>/test-send")
@require("campaign.test")
def send(campaign_id: int) -> Response:
    """Send the current draft to the test list, or to the member chosen."""
    c = service.get_campaign(campaign_id)
    back = pages.safe_next(request.form.get("next"),
                           url_for("web_campaigns.show", campaign_id=c.id))
    chosen = request.form.get("member_id", "").strip()
    member_id = pages.whole(chosen)
    if chosen and member_id is None:
        flash(_("Choose a member of the test list."), "error")
        return redirect(back)
    try:
        sent = testsend.send(c, actor=me(), member_id=member_id)
        db.session.commit()
    except RateLimited as err:
        db.session.rollback()
        flash(_("A test of this campaign was sent moments ago: wait %(n)s s before sending "
                "another.", n=err.retry_after), "warn")
        return redirect(back)
    except LoaError as err:
        db.session.rollback()
        messages = [tr(m) for ms in err.errors.values() for m in ms] or [tr(err.message)]
        flash(" ".join(messages), "error")
        return redirect(back)
    names = ", ".join(str((t.snapshot or {}).get("member")) for t in sent.children)
    flash(_("Test sent to %(names)s. It goes out through the real routes and is not counted "
            "in any report.", names=names), "success")
    if sent.skipped:
        flash(_("Not sent to %(names)s: no number or device for this campaign's channels.",
                names=", ".join(s["name"] for s in sent.skipped)), "warn")
    return redirect(back)


@bp.route("/admin/test-list", methods=["GET", "POST"])
@require("testlist.manage")
def test_list() -> Any:
    errors: Errors = {}
    if request.method == "POST":
        form = request.form
        data, errors = forms.load(TestMemberCreateSchema(), {
            "name": forms.text(form, "name"), "msisdn": forms.text(form, "msisdn") or None,
            "installation_id": forms.text(form, "installation_id") or None},
            blank={"name": "Give a name."})
        if not errors:
            try:
                testlist.add(actor=me(), **data)
                db.session.commit()
            except LoaError as err:
                db.session.rollback()
                errors = errors_of(err)
            else:
                flash(_("Added to the test list."), "success")
                return redirect(url_for(".test_list"))
    members = testlist.members()
    return render_template("admin/test_list.html", members=members, errors=errors,
                           form=request.form, full=len(members) >= testlist.MAX_MEMBERS,
                           limit=testlist.MAX_MEMBERS,
                           names=queries.names({m.created_by_id for m in members})), \
        422 if errors else 200


@bp.post("/admin/test-list/<int:member_id>/delete")
@require("testlist.manage")
def test_member_delete(member_id: int) -> Response:
    testlist.remove(testlist.get_member(member_id), actor=me())
    db.session.commit()
    flash(_("Removed from the test list."), "success")
    return redirect(url_for(".test_list"))
