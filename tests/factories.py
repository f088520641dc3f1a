"""Test data builders and the JSON API caller."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dispatch.access import users
from dispatch.extensions import db
from dispatch.models import User

PASSWORD = "correct horse battery"


def make_user(username: str, roles: list[str], *, password: str = PASSWORD) -> User:
    user, _ = users.create_user(username, roles, actor=None, password=password)
    db.session.commit()
    return user


def token_for(user: User) -> str:
    _, secret = users.create_token(user, "test")
    db.session.commit()
    return secret


class ApiClient:
    """Calls the API as one user (or anonymously) and returns the response."""

    def __init__(self, client: FlaskClient, user: User | None = None) -> None:
        self.client = client
        self.user = user
        self._token = token_for(user) if user is not None else None

    def as_(self, user: User) -> ApiClient:
        return ApiClient(self.client, user)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token:
            headers.setdefault("Authorization", f"Bearer {self._token}")
        return headers

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)


def upload_import(caller: Any, list_id: int, content: bytes, name: str = "contacts.csv",
                  *, expect: int = 202) -> TestResponse:
    """Upload a file for import through the API, run the job on a real RQ worker (burst), and
    answer GET /api/imports/<id> (or the refusal of the upload itself)."""
    import io

    from rq import SimpleWorker

    from dispatch import jobs
    from dispatch.jobs.redis_conn import get_redis

    sent = caller.post(f"/api/lists/{list_id}/imports",
                       data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")
    assert sent.status_code == expect, sent.json
    if expect != 202:
        return sent
    assert sent.json["status"] == "queued", sent.json
    SimpleWorker([jobs.queue(q) for q in jobs.QUEUES], connection=get_redis()).work(burst=True)
    return caller.get(f"/api/imports/{sent.json['id']}")
