"""A campaign by SMS and push, sent through both stand-ins, then billed: only SMS parts cost.

Everything a department's campaign goes through: the SMPP account, the list import and the
campaign through the API, devices registered through the app API, two-part SMS over a real SMPP
socket with receipts, pushes at the FCM stand-in, the clock completing it. Then the report, the
summary and their CSV/XLSX exports must bill the SMS parts and nothing for the pushes, while the
pushes still show in the funnel of their channel.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl

from dispatch.engine import clock
from gateways.sms.encoding import analyse
from scripts.harness import wait_for
from tests.helpers.campaigns import api_draft, api_launch
from tests.helpers.engine import work
from tests.helpers.factories import upload_import
from tests.helpers.plans import phase_id
from tests.helpers.push import AppClient, fcm_token, make_key
from tests.helpers.sms import counts as sms_counts

SMS_TEXT = ("Kinh moi cu tri theo doi Dai hoi dai bieu Dang bo tinh lan thu XV tren song "
            "truyen hinh tinh luc 8 gio sang thu Hai. Moi thong tin chi tiet xin lien he "
            "Ban Tuyen giao Tinh uy qua tong dai 1022.")
PHONES, DEVICES, PRICE = 6, 4, 800


def _launch(api: Any, people: dict[str, Any], client: Any, port: int) -> int:
    admin, editor, approver = (api.as_(people[r]) for r in ("admin", "editor", "approver"))
    r = admin.post("/api/smpp-accounts", json={
        "name": "viettel", "host": "127.0.0.1", "port": port, "system_id": "loa",
        "password": "secret", "tps": 5000, "window": 20, "operators": ["viettel"],
        "is_default": True, "brandnames": ["HAUGIANG"]})
    assert r.status_code == 201, r.json
    lst = editor.post("/api/lists", json={"name": "Cử tri"}).json
    rows = ["so_dien_thoai"] + [f"096{i:07d}" for i in range(PHONES)]
    r = upload_import(editor, lst["id"], "\n".join(rows).encode(), "danh-ba.csv")
    assert r.json["status"] == "completed" and r.json["imported_rows"] == PHONES, r.json
    app_api = AppClient(client, make_key())
    for i in range(DEVICES):
        r = app_api.put(f"/api/app/devices/fid-{i:05d}", json={
            "fcm_token": fcm_token(f"good-{i}-"), "platform": "android",
            "locality": "vi-thanh"})
        assert r.status_code == 201, r.json
    cid = api_draft(
        editor, title="Đại hội", phase_id=phase_id("trong-dai-hoi"), channels="both",
        sms_sender="HAUGIANG", sms_text=SMS_TEXT, push_title="Đại hội",
        push_body="Xem trực tiếp lúc 8 giờ.",
        audience={"lists": [lst["id"]], "all_app_users": True})
    api_launch(editor, approver, cid)
    return cid


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
    keys = [h.rsplit("(", 1)[1][:-1] for h in rows[0]]
    return [dict(zip(keys, row, strict=True)) for row in rows[1:]]


def _xlsx(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    keys = [str(h).rsplit("(", 1)[1][:-1] for h in rows[0]]
    # A read-only sheet may end a row at its last filled cell.
    return [dict(zip(keys, row + (None,) * (len(keys) - len(row)), strict=True))
            for row in rows[1:]]


def test_only_sms_parts_are_billed(app, api, people, client, smsc, smpp, fcm, backend):
    parts = analyse(SMS_TEXT).parts
    assert parts == 2  # two parts per SMS, one "part" per push row would be easy to mistake
    cid = _launch(api, people, client, smsc.port)
    work()  # the expand job and the push batch it enqueued, on an ordinary worker
    smpp()
    assert wait_for(
        lambda: sms_counts(cid).get("delivered") == PHONES, timeout=30)
    assert clock.tick(app.config).get("completed") == 1
    assert len(smsc.received()) == PHONES * parts
    assert fcm.counters()["sent"] == DEVICES

    sms_parts, sms_cost = PHONES * parts, PHONES * parts * PRICE
    who = api.as_(people["approver"])
    report = who.get(f"/api/campaigns/{cid}/report").json
    sms, push = report["by_channel"]["sms"], report["by_channel"]["push"]
    assert (sms["targeted"], sms["delivered"], sms["parts_billed"], sms["cost_vnd"]) == (
        PHONES, PHONES, sms_parts, sms_cost)
    # Pushes are in the funnel of their channel, and cost nothing.
    assert (push["targeted"], push["submitted"], push["accepted_by_fcm"], push["parts_billed"],
            push["cost_vnd"]) == (DEVICES, DEVICES, DEVICES, 0, 0)
    total = report["total"]
    assert (total["targeted"], total["submitted"], total["parts_billed"], total["cost_vnd"]) == (
        PHONES + DEVICES, PHONES + DEVICES, sms_parts, sms_cost)
    assert report["by_operator"]["viettel"]["parts_billed"] == sms_parts
    assert set(report["by_operator"]) == {"viettel"}

    summary = who.get(f"/api/reports/summary?phase_id={phase_id('trong-dai-hoi')}").json
    [row] = summary["campaigns"]
    for figures in (row, summary["total"]):
        assert (figures["parts_billed"], figures["cost_vnd"], figures["accepted_by_fcm"],
                figures["delivered"], figures["targeted"]) == (
            sms_parts, sms_cost, DEVICES, PHONES, PHONES + DEVICES)

    # The summary exports: the campaign's row and the total row carry the same figures.
    during = phase_id("trong-dai-hoi")
    for rows in (_csv(who.get(f"/api/reports/summary.csv?phase_id={during}")),
                 _xlsx(who.get(f"/api/reports/summary.xlsx?phase_id={during}"))):
        assert len(rows) == 2
        for line in rows:
            assert (int(line["parts_billed"]), int(line["cost_vnd"]),
                    int(line["accepted_by_fcm"])) == (sms_parts, sms_cost, DEVICES)

    # The ledger exports: a push row has no parts, so the column adds up to the billed parts.
    for rows in (_csv(who.get(f"/api/campaigns/{cid}/export.csv")),
                 _xlsx(who.get(f"/api/campaigns/{cid}/export.xlsx"))):
        by_channel = {c: [r for r in rows if r["channel"] == c] for c in ("sms", "push")}
        assert len(by_channel["sms"]) == PHONES and len(by_channel["push"]) == DEVICES
        assert {str(r["parts"]) for r in by_channel["sms"]} == {str(parts)}
        assert {r["parts"] for r in by_channel["push"]} <= {"", None}
        assert sum(int(r["parts"] or 0) for r in rows) == sms_parts
