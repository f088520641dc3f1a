"""A driver of the campaign lifecycle through the API (Flow), and builders of a campaign launched
through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.campaigns import service
from dispatch.extensions import db
from dispatch.models import Campaign
from tests.helpers.engine import freeze_now, window_around_now
from tests.helpers.factories import SMS_TEXT, ApiClient, make_contact, make_list


def future(hours: float = 48) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


class Flow:
    """Drives campaigns through the API as the right people."""

    def __init__(self, api: ApiClient, people: dict[str, Any]) -> None:
        self.api, self.people = api, people
        self._clients: dict[str, ApiClient] = {}
        self.list = make_list("Cử tri Vị Thanh", [make_contact("+84912345678")])

    def as_(self, who: str) -> ApiClient:
        if who not in self._clients:
            self._clients[who] = self.api.as_(self.people[who])
        return self._clients[who]

    def body(self, **over: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": "Thông báo Đại hội", "channels": "sms",
            "sms_text": SMS_TEXT, "sms_sender": "HAUGIANG",
            "audience": {"lists": [self.list.id]},
        }
        return body | over

    def create(self, who: str = "editor", **over: Any) -> dict[str, Any]:
        resp = self.as_(who).post("/api/campaigns", json=self.body(**over))
        assert resp.status_code == 201, resp.json
        return resp.json

    def act(self, who: str, cid: int, action: str, **json: Any) -> Any:
        return self.as_(who).post(f"/api/campaigns/{cid}/{action}", json=json)

    def ok(self, who: str, cid: int, action: str, **json: Any) -> dict[str, Any]:
        resp = self.act(who, cid, action, **json)
        assert resp.status_code == 200, resp.json
        return resp.json

    def to(self, status: str, *, author: str = "editor", **over: Any) -> dict[str, Any]:
        """A campaign by `author`, brought to `status` the way people would."""
        if status == "scheduled":
            over.setdefault("send_at", future())
        c = self.create(author, **over)
        if status == "draft":
            return c
        c = self.submit(c["id"], author, freeze=status != "submitting")
        if status in ("submitting", "pending_approval"):
            return c
        if status == "rejected":
            return self.ok("approver2", c["id"], "reject", reason="Sai chính tả.")
        c = self.ok("approver2", c["id"], "approve", snapshot_hash=c["snapshot_hash"])
        if status == "approved":
            return c
        if status == "cancelled":
            return self.ok("approver2", c["id"], "cancel", reason="Hoãn.")
        c = self.ok(author, c["id"], "launch")
        if status in ("scheduled", "sending"):
            assert c["status"] == status
            return c
        if status == "completed":
            service.complete(db.session.get(Campaign, c["id"]))
            db.session.commit()
            return self.get(c["id"])
        c = self.ok(author, c["id"], "pause")
        assert status == "paused", status
        return c

    def submit(self, cid: int, who: str = "editor", *, freeze: bool = True) -> dict[str, Any]:
        """Submit through the API and, unless told not to, run the freeze job it enqueued."""
        c = self.ok(who, cid, "submit")
        assert c["status"] == "submitting", c
        if not freeze:
            return c
        assert freeze_now(cid) == "frozen"
        return self.get(cid, who)

    def get(self, cid: int, who: str = "editor") -> dict[str, Any]:
        resp = self.as_(who).get(f"/api/campaigns/{cid}")
        assert resp.status_code == 200, resp.json
        return resp.json


def window_now() -> dict[str, str]:
    """A same-day send window around the present moment, as the API takes it."""
    start, end = window_around_now()
    return {"window_start": start.strftime("%H:%M"), "window_end": end.strftime("%H:%M")}


def api_draft(editor: ApiClient, **body: Any) -> int:
    """A draft created through the API by `editor`, sendable now: its id."""
    draft = editor.post("/api/campaigns", json=window_now() | body)
    assert draft.status_code == 201, draft.json
    return int(draft.json["id"])


def api_launch(editor: ApiClient, approver: ApiClient, cid: int) -> None:
    """Submit the draft, approve the snapshot it froze and launch it, through the API."""
    assert editor.post(f"/api/campaigns/{cid}/submit").status_code == 200
    freeze_now(cid)
    frozen = approver.get(f"/api/campaigns/{cid}").json
    r = approver.post(f"/api/campaigns/{cid}/approve",
                      json={"snapshot_hash": frozen["snapshot_hash"]})
    assert r.status_code == 200, r.json
    r = approver.post(f"/api/campaigns/{cid}/launch")
    assert r.status_code == 200 and r.json["status"] == "sending", r.json
