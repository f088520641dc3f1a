"""A campaign driven only through the API, delivered over a real SMPP socket, receipts in the
ledger, completed by the clock and reported — the path a department's campaign takes."""

from __future__ import annotations

import time
from typing import Any

from dispatch.engine import clock
from scripts.harness import wait_for
from tests.helpers.campaigns import api_draft, api_launch
from tests.helpers.engine import work
from tests.helpers.factories import upload_import
from tests.helpers.sms import counts, per_destination


def _csv(n: int) -> bytes:
    rows = ["so_dien_thoai;ho_ten"] + [f"096{i:07d};Người {i}" for i in range(n)]
    rows += ["0292 3870 123;Cơ quan", "12345;Sai"]  # a landline and a short number
    return ("\ufeff" + "\n".join(rows)).encode()


def _launch(api: Any, people: dict[str, Any], smsc: Any, n: int, **fields: Any) -> int:
    admin, editor, approver = (api.as_(people[r]) for r in ("admin", "editor", "approver"))
    if not admin.get("/api/smpp-accounts").json:
        r = admin.post("/api/smpp-accounts", json={
            "name": "viettel", "host": "127.0.0.1", "port": smsc.port, "system_id": "loa",
            "password": "secret", "tps": fields.pop("tps", 5000), "window": 20,
            "operators": ["viettel"], "is_default": True, "brandnames": ["HAUGIANG"]})
        assert r.status_code == 201, r.json
    lst = editor.post("/api/lists", json={"name": f"Danh sách {time.time()}"}).json
    report = upload_import(editor, lst["id"], _csv(n), "danh-ba.csv")
    assert report.json["status"] == "completed", report.json
    assert report.json["imported_rows"] == n and report.json["error_rows"] == 2
    cid = api_draft(
        editor, title="Chào mừng Đại hội", channels="sms", sms_sender="HAUGIANG",
        sms_text="Chào mừng Đại hội đại biểu Đảng bộ tỉnh lần thứ XV", sms_plain=True,
        audience={"lists": [lst["id"]]}, **fields)
    preview = editor.get(f"/api/campaigns/{cid}/preview")
    assert preview.status_code == 200, preview.json
    api_launch(editor, approver, cid)
    return cid


def test_api_launch_to_receipts_to_completed_report(app, api, people, smsc, smpp, backend):
    cid = _launch(api, people, smsc, 40)
    work()  # the expand job, on an ordinary worker
    smpp()
    assert wait_for(lambda: counts(cid).get("delivered") == 40, timeout=30), counts(cid)
    assert clock.tick(app.config).get("completed") == 1
    sent = per_destination(smsc)
    assert len(sent) == 40 and set(sent.values()) == {1}
    # The không dấu variant went out, in GSM-7.
    assert all(r.data_coding == 0 for r in smsc.received())
    editor = api.as_(people["editor"])
    campaign = editor.get(f"/api/campaigns/{cid}").json
    assert campaign["status"] == "completed"
    progress = editor.get(f"/api/campaigns/{cid}/progress").json
    assert progress["percent_done"] == 100.0 and progress["by_status"] == {"delivered": 40}
    report = editor.get(f"/api/campaigns/{cid}/report")
    assert report.status_code == 200, report.json
    assert "40" in report.get_data(as_text=True)
    export = api.as_(people["approver"]).get(f"/api/campaigns/{cid}/export.csv")
    assert export.status_code == 200
    assert export.get_data(as_text=True).count("\n") == 41  # header + one line per recipient


def test_pause_through_the_api_stops_after_what_was_claimed_and_resume_sends_each_rest_once(
        app, api, people, smsc, smpp, backend):
    cid = _launch(api, people, smsc, 120, tps=40)
    work()
    smpp()
    assert wait_for(lambda: len(smsc.received()) >= 10, timeout=20)
    r = api.as_(people["editor"]).post(f"/api/campaigns/{cid}/pause", json={"reason": "kiểm tra"})
    assert r.status_code == 200 and r.json["status"] == "paused"
    paused_at = time.time()
    # Counted at the stand-in rather than timed (at 40/s it takes a second, unless the machine
    # is loaded): once no row is `sending`, at most the two chunks the runner held at the pause
    # went out after it (a chunk: half a second of the TPS, at most two windows).
    assert wait_for(lambda: not counts(cid).get("sending"), timeout=20), counts(cid)
    late = [m for m in smsc.received() if m.at > paused_at]
    assert len(late) <= 2 * min(2 * 20, 40 // 2), late
    assert counts(cid).get("queued", 0) == 120 - len(smsc.received()), counts(cid)
    before = len(smsc.received())
    time.sleep(1)
    assert len(smsc.received()) == before
    r = api.as_(people["editor"]).post(f"/api/campaigns/{cid}/resume")
    assert r.status_code == 200 and r.json["status"] == "sending"
    work()  # the requeue job the resume enqueued
    assert wait_for(lambda: counts(cid).get("delivered") == 120, timeout=40), counts(cid)
    sent = per_destination(smsc)
    assert len(sent) == 120 and set(sent.values()) == {1}
