"""The test list (admins keep it) and test sends of a campaign before approval (editors)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.campaigns import service, testlist, testsend
from dispatch.extensions import db
from dispatch.models import TestMember
from dispatch.schemas.testlist import (
    TestMemberCreateSchema,
    TestMemberSchema,
    TestMemberUpdateSchema,
    TestSendBodySchema,
    TestSendResultSchema,
    TestStatusSchema,
)

blp = Blueprint("test_list", __name__, url_prefix="/api",
                description="The test list, and test sends before approval")


@blp.route("/test-list")
class TestList(MethodView):
    @require("testlist.view")
    @blp.response(200, TestMemberSchema(many=True))
    def get(self) -> list[TestMember]:
        """List the test list's members (at most 20)."""
        return testlist.members()

    @require("testlist.manage")
    @blp.arguments(TestMemberCreateSchema)
    @blp.response(201, TestMemberSchema)
    def post(self, data: dict[str, Any]) -> TestMember:
        """Add a member: a name and a number, an installation, or both."""
        member = testlist.add(actor=actor(), **data)
        db.session.commit()
        return member


@blp.route("/test-list/<int:member_id>")
class TestMemberById(MethodView):
    @require("testlist.manage")
    @blp.arguments(TestMemberUpdateSchema)
    @blp.response(200, TestMemberSchema)
    def patch(self, data: dict[str, Any], member_id: int) -> TestMember:
        """Change a member's name, number or installation."""
        member = testlist.update(testlist.get_member(member_id, field="member_id"), data,
                                 actor=actor())
        db.session.commit()
        return member

    @require("testlist.manage")
    @blp.response(204)
    def delete(self, member_id: int) -> None:
        """Remove a member from the test list."""
        testlist.remove(testlist.get_member(member_id), actor=actor())
        db.session.commit()


@blp.route("/campaigns/<int:campaign_id>/test-send")
class TestSend(MethodView):
    @require("campaign.test")
    @blp.arguments(TestSendBodySchema)
    @blp.response(201, TestSendResultSchema)
    def post(self, data: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """Send the campaign's current content as a test to the test list, or one member.

        Before approval only; through the real routes; marked as tests (never in reports or
        caps); one per campaign every 10 s (429 `rate_limited` otherwise).
        """
        sent = testsend.send(service.get_campaign(campaign_id), actor=actor(), **data)
        db.session.commit()
        return {"send_id": sent.send_id, "skipped": sent.skipped, "tests": [
            {"id": ch.id, "member_id": (ch.snapshot or {}).get("member_id"),
             "member": (ch.snapshot or {}).get("member"), "channels": ch.channels}
            for ch in sent.children]}


@blp.route("/campaigns/<int:campaign_id>/tests")
class Tests(MethodView):
    @require("campaign.view")
    @blp.response(200, TestStatusSchema)
    def get(self, campaign_id: int) -> dict[str, Any]:
        """Whether the campaign's current version was tested, when, by whom and to whom."""
        return testsend.status(service.get_campaign(campaign_id))
