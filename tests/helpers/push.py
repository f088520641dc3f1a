"""For the push tests: the FCM stand-in (fixtures), campaigns, devices, queued rows, running the
queued jobs, and the caller of the app-facing API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from werkzeug.test import TestResponse

from dispatch import jobs
from dispatch.extensions import db
from dispatch.jobs.redis_conn import get_redis
from dispatch.models import Campaign, CampaignStatus, Device, Locality, Message, MessageStatus
from dispatch.push import devices as app_devices
from scripts.fcm import FcmStandIn
from tests.helpers.factories import make_user
from tests.helpers.push_gateway import forget_push_gateway

ALL_DAY = (time(0, 0), time(23, 59, 59, 999999))


def make_campaign(*, status: CampaignStatus = CampaignStatus.SENDING, **over: Any) -> Campaign:
    author = make_user(f"author{db.session.query(Campaign).count()}", ["editor"])
    fields: dict[str, Any] = {
        "title": "Thông báo", "channels": "push", "push_title": "Thông báo khẩn",
        "push_body": "Triều cường lúc 17 giờ, đề nghị người dân chú ý.",
        "push_link": "haugiang://tin/1", "audience": {"all_app_users": True},
        "window_start": ALL_DAY[0], "window_end": ALL_DAY[1], "validity_hours": 24,
        "launched_at": datetime.now(UTC) - timedelta(minutes=1), "push_mode": "devices",
    }
    c = Campaign(**(fields | over), status=status, created_by_id=author.id)
    db.session.add(c)
    db.session.commit()
    return c


def make_device(token: str | None, *, disabled: str | None = None, locality: str | None = None,
                topics: list[str] | None = None) -> Device:
    n = db.session.query(Device).count()
    place = None
    if locality:
        place = db.session.scalar(db.select(Locality.id).where(Locality.code == locality))
    device = Device(installation_id=f"install-{n:06d}", fcm_token=token, platform="android",
                    disabled_reason=disabled, locality_id=place, topics=topics or [],
                    disabled_at=datetime.now(UTC) if disabled else None)
    db.session.add(device)
    db.session.commit()
    return device


def queue_rows(c: Campaign, devices: list[Device]) -> list[int]:
    """Queued push rows for the devices, as expansion writes them."""
    now = datetime.now(UTC)
    rows = [Message(campaign_id=c.id, channel="push", recipient_id=d.id,
                    status=MessageStatus.QUEUED, queued_at=now) for d in devices]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def work() -> None:
    """Run every queued job in this process, then stop (scheduled jobs stay scheduled)."""
    SimpleWorker([jobs.queue(q) for q in jobs.QUEUES], connection=get_redis()).work(burst=True)
    db.session.expire_all()


def statuses(ids: list[int]) -> dict[int, tuple[str, str | None]]:
    db.session.expire_all()
    rows = db.session.execute(db.select(Message.id, Message.status, Message.reason)
                              .where(Message.id.in_(ids)))
    return {i: (s.value, r) for i, s, r in rows}


def fcm_token(seed: str = "") -> str:
    """A token shaped like a real one: '<instance id>:APA91b<more>', about 160 characters."""
    head = (seed + secrets.token_urlsafe(16))[:22].ljust(22, "x")
    return f"{head}:APA91b{secrets.token_urlsafe(100)}"[:163]


def make_key(name: str = "hau-giang", **kw: Any) -> str:
    _, secret = app_devices.create_key(name, **kw)
    db.session.commit()
    return secret


def _installation_of(path: str) -> str | None:
    parts = path.split("?")[0].split("/")
    return parts[4] if len(parts) > 4 and parts[:4] == ["", "api", "app", "devices"] else None


class AppClient:
    """Calls the app API with an app key (or none), as one copy of the app: it keeps the
    secret each registration returned and sends it on that installation's later calls."""

    def __init__(self, client: FlaskClient, key: str | None,
                 secrets_by_id: dict[str, str] | None = None) -> None:
        self.client = client
        self.key = key
        self.secrets = {} if secrets_by_id is None else secrets_by_id

    def with_key(self, key: str | None) -> AppClient:
        return AppClient(self.client, key, self.secrets)

    def another_copy(self) -> AppClient:
        """Another copy of the app (an attacker holding the app key): none of these secrets."""
        return AppClient(self.client, self.key, {})

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:
        headers = dict(headers or {})
        if self.key:
            headers.setdefault("X-App-Key", self.key)
        installation = _installation_of(path)
        if installation in self.secrets:
            headers.setdefault("X-Installation-Secret", self.secrets[installation])
        r = self.client.open(path, method=method, headers=headers, **kwargs)
        answer = r.get_json(silent=True)
        if installation and isinstance(answer, dict) and answer.get("installation_secret"):
            self.secrets[installation] = answer["installation_secret"]
        return r

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)


PROJECT = "loa-test"  # the stand-in's project, in the messages' names


@pytest.fixture(scope="module")
def standin() -> Iterator[FcmStandIn]:
    with FcmStandIn(project_id=PROJECT) as server:
        yield server


@pytest.fixture(scope="module")
def service_account(standin: FcmStandIn, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standin.write_service_account(tmp_path_factory.mktemp("fcm") / "sa.json")


@pytest.fixture()
def fcm(app: Flask, redis: Any, standin: FcmStandIn, service_account: Path
        ) -> Iterator[FcmStandIn]:
    """The stand-in, zeroed, with the app configured to send to it."""
    standin.reset()
    saved = {k: app.config.get(k) for k in ("FCM_CREDENTIALS", "FCM_ENDPOINT",
                                             "FCM_PROJECT_ID", "PUSH_TOPIC_SENDS")}
    app.config.update(FCM_CREDENTIALS=str(service_account), FCM_ENDPOINT=standin.url,
                      FCM_PROJECT_ID=None, PUSH_TOPIC_SENDS=False)
    forget_push_gateway()
    yield standin
    forget_push_gateway()
    app.config.update(saved)
    standin.refuse_auth = standin.deny_send = False
    standin.latency = 0.0
