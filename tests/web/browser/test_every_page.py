"""Every staff page, on a laptop (1366x768) and on a phone (390x844), with realistic data.

The pages are every GET route of the web blueprints (dispatch/web), read from the app's URL
map: a page added later is visited without touching this file, unless its address takes an
argument no page had before (then `_values` says which). Each page, at both sizes, as a person
holding every role (so that every form and button shows):
- the document is no wider than the window (nothing makes the page scroll sideways);
- every table fits, or scrolls inside its own box, or is stacked into cards;
- in a stacked table each value is labelled by its column's heading;
- every link and button in a table's last (action) column can be scrolled to and clicked: its
  box is inside the window and nothing covers it;
- the links of the header (the navigation) are inside the window;
- the funnel's labels are readable (not shrunk below 11 px, not under the bars);
and a screenshot is saved: build/screenshots/<page>-desktop.png and <page>-phone.png.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import AnyConverter, Rule

from dispatch.access import users as accounts
from dispatch.audiences.optouts import add_opt_out
from dispatch.campaigns import service
from dispatch.extensions import db
from dispatch.models import Campaign, CampaignStatus, ContactList, User
from tests.helpers import reports, showcase, surveys, web
from tests.helpers.factories import PASSWORD, ApiClient, add_account, make_user, upload_import
from tests.helpers.plans import congress
from tests.helpers.push import make_device
from tests.helpers.screen import Screen

pytestmark = pytest.mark.browser
DATA = Path(__file__).resolve().parents[2] / "data"
S = CampaignStatus

# Web routes that are not pages a person reads, or not while signed in.
NOT_PAGES = {
    "web_auth.language": "switches the language, then goes back where it came from",
    "web_auth.login": "the sign-in page: checked before signing in",
    "web_auth.code": "the second sign-in step: only while a code is awaited",
    "web_audiences.import_refused": "a CSV download",
    "web_campaigns.estimate_audience": "JSON for the composer's live preview",
    "web_campaigns.estimate_strategy": "JSON for the composer's strategy saving",
    "web_campaigns.estimate_text": "JSON for the composer's SMS as sent (question, placeholders)",
    "web_reports.download": "a report document (DOCX) download",
    "web_exports.ledger_csv": "a CSV download",
    "web_exports.ledger_xlsx": "an XLSX download",
    "web_inbox.download": "an export of the inbox (CSV or XLSX) download",
}

LONG_TITLE = ("Thông báo về việc tổ chức lấy ý kiến cử tri đối với dự thảo Nghị quyết "
              "Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XV nhiệm kỳ 2025–2030")
LONG_LINK = ("https://haugiang.gov.vn/tin-tuc/thong-bao-lich-to-chuc-dai-hoi-dai-bieu-dang-bo-"
             "tinh-lan-thu-XV-nhiem-ky-2025-2030?utm_source=loa&utm_medium=push&utm_campaign=dh15")


def _long_list() -> ContactList:
    lst = web.contact_list(name="Cán bộ, công chức phường Vị Tân, thành phố Vị Thanh "
                                "(cập nhật theo danh sách Ủy ban nhân dân tháng 11)", numbers=14)
    lst.description = "Danh sách do Văn phòng Ủy ban cung cấp, " + LONG_LINK
    db.session.commit()
    return lst


def _campaigns(people: dict[str, User], lst: ContactList) -> dict[str, Campaign]:
    """One campaign in each state a page shows differently."""
    editor, editor2, approver = people["editor"], people["editor2"], people["approver"]
    push = {"channels": "both", "push_title": "Lịch tiếp công dân tháng 12",
            "push_body": "Ủy ban nhân dân tỉnh tiếp công dân định kỳ vào thứ Năm hằng tuần.",
            "push_link": LONG_LINK, "audience": {"lists": [lst.id], "all_app_users": True}}
    out = {
        "draft": web.campaign(editor, lst, title=LONG_TITLE, **push),
        "pending": web.submitted(editor2, lst, title="Thông báo lịch tiếp công dân tháng 12"),
        "approved": web.approved(editor, approver, lst, title="Phòng chống bão số 3"),
        "rejected": web.submitted(editor, lst, title="Bản nháp bị trả lại"),
        # Submitted, its recipients still being frozen (no worker runs the job here).
        "submitting": web.campaign(editor2, lst, title="Thông báo mở đợt lấy ý kiến dự thảo"),
    }
    service.submit(out["submitting"], actor=editor2)
    service.reject(out["rejected"], actor=approver,
                   reason="Nội dung chưa ghi rõ thời gian và địa điểm tổ chức.")
    later = web.approved(editor, approver, lst, title="Nhắc lịch bầu cử",
                         send_at=datetime.now(UTC) + timedelta(days=3))
    service.launch(later, actor=approver)
    out["scheduled"] = later
    db.session.commit()

    account = add_account(name="viettel", operators=["viettel"]).id
    started = datetime.now(UTC) - timedelta(minutes=20)
    for name, status in (("sending", S.SENDING), ("completed", S.COMPLETED),
                         ("paused", S.PAUSED), ("cancelled", S.CANCELLED)):
        c = reports.campaign(people, f"Đại hội Đảng bộ tỉnh: {name}", status=status,
                             launched=started, tag="trong-dai-hoi", approved_by_id=approver.id,
                             expanded_at=started, push_title="Đại hội", push_body="Kính mời",
                             pause_reason="paused by staff" if status is S.PAUSED else None)
        reports.fill_main(reports.Ledger(c, account=account))
        out[name] = c
    # A survey with its answers: the report page's survey results (tests/helpers/surveys.py).
    out["survey"] = surveys.survey_campaign(people, tag="trong-dai-hoi")
    db.session.commit()
    return out


def _values(people: dict[str, User], cs: dict[str, Campaign], list_id: int,
            import_id: int, opt_out_id: int, account_id: int) -> dict[str, dict[str, Any]]:
    """For each argument of an address: the values to visit it with (a name each)."""
    plan = congress()
    replies = showcase.inbox(people, cs["completed"].id)
    return {
        "reply_id": {"reply": replies[1].id, "app-reply": replies[-1].id},
        "plan_id": {"plan": plan.id},
        "phase_id": {"phase": plan.phases[0].id},
        "campaign_id": {name: c.id for name, c in cs.items()},
        "list_id": {"list": list_id},
        "import_id": {"import": import_id},
        "opt_out_id": {"opt-out": opt_out_id},
        "account_id": {"account": account_id},
        "user_id": {"user": people["editor"].id},
        # the one disabled after a day of failures: its notice and a full attempts log
        "hook_id": {"hook": showcase.hooks()[2]},
    }


# The campaign a page needs to be itself (the others refuse, which is a page too, but not
# the one to look at).
CAMPAIGN_FOR = {
    "web_campaigns.show": ["draft", "submitting", "pending", "sending", "completed", "paused"],
    "web_approvals.review": ["pending", "submitting"],
    "web_campaigns.edit": ["draft"],
    "web_campaigns.confirm": {"launch": ["approved"], "pause": ["sending"],
                              "cancel": ["sending"], "retry": ["completed"],
                              "delete": ["draft"]},
}


def _pages(app: Flask, values: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(name, address) of every page of the web blueprints."""
    web_blueprints = {name for name, bp in app.blueprints.items()
                      if bp.import_name.startswith("dispatch.web")}
    rules: list[Rule] = sorted((r for r in app.url_map.iter_rules()
                                if r.endpoint.split(".")[0] in web_blueprints
                                and "GET" in (r.methods or ())
                                and r.endpoint not in NOT_PAGES), key=lambda r: r.rule)
    adapter = app.url_map.bind("localhost")
    for rule in rules:
        choices: list[list[tuple[str, Any]]] = []
        for arg in sorted(rule.arguments):
            converter = rule._converters[arg]
            if isinstance(converter, AnyConverter):
                choices.append([(item, item) for item in sorted(converter.items)])
            elif arg in values:
                choices.append(list(values[arg].items()))
            else:
                pytest.fail(f"{rule.rule}: no test data for <{arg}>; add it to _values")
        for combo in itertools.product(*choices):
            args = {arg: value for arg, (_, value) in zip(sorted(rule.arguments), combo,
                                                          strict=True)}
            wanted = CAMPAIGN_FOR.get(rule.endpoint)
            if isinstance(wanted, dict):
                if args["action"] not in wanted:
                    pytest.fail(f"{rule.rule}: which campaign suits <{args['action']}>? "
                                "add it to CAMPAIGN_FOR")
                wanted = wanted[args["action"]]
            if wanted is not None and "campaign_id" in args and not any(
                    values["campaign_id"][w] == args["campaign_id"] for w in wanted):
                continue
            name = rule.endpoint.removeprefix("web_").replace(".", "-")
            if rule.arguments:
                name += "-" + "-".join(label for label, _ in combo)
            elif len(list(app.url_map.iter_rules(rule.endpoint))) > 1:
                name += "-" + rule.rule.rsplit("/", 1)[-1]  # /admin/smpp/new beside /<id>
            yield name, adapter.build(rule.endpoint, args)


CHECK = (Path(__file__).parent / "layout_check.js").read_text(encoding="utf-8")



def _look(window: Screen, name: str, path: str, size: str) -> list[str]:
    page = window.page
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    assert "text/html" in response.headers.get("content-type", ""), path
    problems = [f"{name} ({size}, {path}): {p}" for p in page.evaluate(CHECK)]
    window.shot(f"{name}-{size}")
    return problems


def test_every_page_fits_a_laptop_and_a_phone(backend: str, app: Flask, screen: Screen,
                                              phone: Screen, people: dict[str, User],
                                              redis: Any, client: Any) -> None:
    # Someone holding every role, so each page shows all it can (forms, buttons, queues).
    chief = make_user("chanh-van-phong", ["editor", "approver", "admin"])
    chief.full_name = "Nguyễn Thị Ánh Hồng (Chánh Văn phòng Sở)"
    lst = _long_list()
    cs = _campaigns(people, lst)
    account = add_account(name="vinaphone", operators=["vinaphone", "mobifone"], is_default=True,
                brandnames=["HAUGIANG", "UBND.HG", "SO.TTTT.HG", "CONGAN.HG"],
                host="smsc-vinaphone.haugiang.example.vn")
    opt_out = add_opt_out("sms", "0912345678", source="staff", actor=chief,
                          reason="Người dân gọi điện đề nghị ngừng nhận tin ngày 12/11")
    for n in range(3):
        make_device(f"token-{n}", locality="vi-thanh" if n else None)
    accounts.create_token(chief, "Báo cáo hằng tuần của Văn phòng",
                          expires_at=datetime.now(UTC) + timedelta(days=90))
    db.session.commit()
    uploaded = upload_import(ApiClient(client).as_(people["editor"]), lst.id,
                             (DATA / "contacts_bad_rows.csv").read_bytes())
    assert uploaded.status_code == 200, uploaded.json
    values = _values(people, cs, lst.id, uploaded.json["id"], opt_out.id, account.id)
    pages = list(_pages(app, values))
    assert len(pages) >= 25, pages

    problems: list[str] = []
    for window, size in ((screen, "desktop"), (phone, "phone")):
        window.page.goto("/login")
        problems += [f"sign-in ({size}): {p}" for p in window.page.evaluate(CHECK)]
        window.shot(f"sign-in-{size}")
        window.sign_in(chief.username, PASSWORD)
        for name, path in pages:
            problems += _look(window, name, path, size)
    assert problems == [], "\n".join(problems)
