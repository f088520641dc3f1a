"""The RQ dashboard at /admin/rq: admins only, read-only, working against RQ 3."""

from __future__ import annotations

from typing import Any

from rq import Queue, SimpleWorker


def test_admin_reads_queues_jobs_and_workers(backend: str, api: Any, people: Any,
                                             redis: Any) -> None:
    queue = Queue("default", connection=redis)
    queue.enqueue("dispatch.jobs.ping", "x")
    SimpleWorker(["default"], connection=redis).work(burst=True)
    waiting = queue.enqueue("dispatch.jobs.ping", "y")
    admin = api.as_(people["admin"])
    page = admin.get("/admin/rq/")
    assert page.status_code == 200
    assert "'unsafe-inline'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    queues = admin.get("/admin/rq/0/data/queues.json").json["queues"]
    default = next(q for q in queues if q["name"] == "default")
    assert default["count"] == 1
    jobs = admin.get("/admin/rq/0/data/jobs/default/finished/8/asc/1.json").json["jobs"]
    assert len(jobs) == 1
    job = admin.get(f"/admin/rq/0/data/job/{waiting.id}.json").json
    assert job["status"] == "queued"
    assert admin.get("/admin/rq/0/data/workers.json").status_code == 200
    assert admin.get("/admin/rq/0/view/workers").status_code == 200


def test_read_only(backend: str, api: Any, people: Any, redis: Any) -> None:
    queue = Queue("default", connection=redis)
    job = queue.enqueue("dispatch.jobs.ping", "x")
    admin = api.as_(people["admin"])
    for method, path in (("POST", f"/admin/rq/job/{job.id}/delete"),
                         ("POST", f"/admin/rq/job/{job.id}/requeue"),
                         ("POST", "/admin/rq/queue/default/queued/empty"),
                         ("POST", "/admin/rq/queue/default/compact"),
                         ("GET", "/admin/rq/requeue/default"),
                         ("POST", "/admin/rq/requeue/default")):
        # POSTs meet the CSRF check first (400); whatever gets past it meets the guard (405).
        assert admin.request(method, path).status_code in (400, 405), path
    assert admin.get("/admin/rq/requeue/default").status_code == 405
    assert queue.count == 1
    assert admin.get("/admin/rq/1/data/queues.json").status_code == 404


def test_only_admins(backend: str, api: Any, client: Any, people: Any, redis: Any) -> None:
    for role in ("editor", "approver"):
        assert api.as_(people[role]).get("/admin/rq/").status_code == 403
    anonymous = client.get("/admin/rq/0/data/queues.json")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
