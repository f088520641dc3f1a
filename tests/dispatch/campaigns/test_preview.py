"""The SMS preview: figures for GSM-7, UCS-2 and mixed texts, costs, sender check, access."""

from __future__ import annotations

import pytest

from dispatch.campaigns.preview import MAX_TEXT_CHARS, sms_preview, validate_sender
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.models import Setting

URL = "/api/preview/sms"

NOTICE = (
    "Kính gửi quý vị: Đại hội đại biểu Đảng bộ tỉnh Hậu Giang lần thứ XIV, nhiệm kỳ 2025–2030 "
    "khai mạc lúc 8 giờ sáng thứ Hai tại Hội trường tỉnh, số 1 đường Trần Hưng Đạo, phường 5, "
    "thành phố Vị Thanh. Đề nghị người dân theo dõi tin tức trên ứng dụng của tỉnh và hạn chế "
    "lưu thông qua khu vực trung tâm từ 6 giờ đến 12 giờ. Trân trọng cảm ơn!"
)


def figures(variant):
    keys = ("encoding", "units", "parts", "per_part", "remaining", "forcing_char",
            "forcing_index")
    return tuple(variant[k] for k in keys)


def test_gsm7_text_with_extension_characters(api, people, backend):
    text = "Hop {Dai hoi} 7h-11h [P.2] phi 0€ ~ 0293|3870 ^ \\ " + "a" * 101
    r = api.as_(people["editor"]).post(URL, json={"text": text})
    assert r.status_code == 200, r.json
    # 50 characters, 9 of them in the extension table (2 septets each), then 101 plain.
    assert figures(r.json["original"]) == ("gsm7", 160, 1, 160, 0, None, None)
    assert r.json["original"]["data_coding"] == 0
    assert r.json["differs"] is False and r.json["parts_saved"] == 0
    assert r.json["plain"]["text"] == text
    assert r.json["operators"] == [] and r.json["totals"] is None

    longer = api.as_(people["editor"]).post(URL, json={"text": text + "€"}).json
    assert figures(longer["original"]) == ("gsm7", 162, 2, 153, 144, None, None)
    # `remaining` is the room the greedy count leaves; the cut itself moved to the word boundary.
    assert longer["original"]["segments"] == [text[:50], text[50:] + "€"]


def test_ucs2_text_and_its_plain_variant(api, people, backend):
    r = api.as_(people["approver"]).post(URL, json={"text": NOTICE})
    assert r.status_code == 200, r.json
    assert figures(r.json["original"]) == ("ucs2", 338, 6, 67, 64, "í", 1)
    assert r.json["original"]["data_coding"] == 8
    assert figures(r.json["plain"]) == ("gsm7", 338, 3, 153, 121, None, None)
    assert r.json["plain"]["text"].startswith("Kinh gui quy vi: Dai hoi dai bieu Dang bo tinh ")
    assert r.json["differs"] is True and r.json["parts_saved"] == 3
    assert "".join(r.json["original"]["segments"]) == NOTICE
    assert len(r.json["plain"]["segments"]) == 3


def test_mixed_vietnamese_and_extension_characters(api, people, backend):
    text = "Giá vé: 50.000₫ {trẻ em miễn phí} – xem haugiang.gov.vn/~dh [mục 2]. Hỏi: 0293|3870 €"
    r = api.as_(people["admin"]).post(URL, json={"text": text})
    assert r.status_code == 200, r.json
    # 85 characters; UCS-2 counts each as one unit, extension characters included.
    assert figures(r.json["original"]) == ("ucs2", 85, 2, 67, 49, "á", 2)
    assert r.json["original"]["segments"] == [
        "Giá vé: 50.000₫ {trẻ em miễn phí} – xem haugiang.gov.vn/~dh [mục ", "2]. Hỏi: 0293|3870 €"]
    plain = r.json["plain"]
    assert plain["text"] == ("Gia ve: 50.000d {tre em mien phi} - xem haugiang.gov.vn/~dh [muc 2]. "
                             "Hoi: 0293|3870 €")
    # GSM-7: the 7 characters { } ~ [ ] | € cost two septets each: 85 + 7.
    assert figures(plain) == ("gsm7", 92, 1, 160, 68, None, None)
    assert r.json["parts_saved"] == 1


def test_costs_per_operator_with_the_seeded_prices(api, people, backend):
    body = {"text": NOTICE, "recipients": {"viettel": 1000, "mobifone": 250, "gmobile": 0}}
    r = api.as_(people["editor"]).post(URL, json=body)
    assert r.status_code == 200, r.json
    rows = {row["operator"]: row for row in r.json["operators"]}
    assert [row["operator"] for row in r.json["operators"]] == ["viettel", "mobifone", "gmobile"]
    assert rows["viettel"] == {
        "operator": "viettel", "recipients": 1000, "price_per_part": 800,
        "original": {"parts": 6000, "cost": 4_800_000},
        "plain": {"parts": 3000, "cost": 2_400_000},
    }
    assert rows["gmobile"]["original"] == {"parts": 0, "cost": 0}
    assert r.json["totals"] == {
        "recipients": 1250,
        "original": {"parts": 7500, "cost": 6_000_000},
        "plain": {"parts": 3750, "cost": 3_000_000},
        "cost_saving": 3_000_000,
    }
    assert r.json["currency"] == "VND"


def test_costs_follow_the_configured_price(api, people, backend):
    row = db.session.get(Setting, "sms_price_per_part")
    row.value = {**row.value, "viettel": 650}
    db.session.commit()
    r = api.as_(people["editor"]).post(URL, json={"text": "a" * 161,
                                                  "recipients": {"viettel": 10, "other": 1}})
    rows = {row["operator"]: row for row in r.json["operators"]}
    assert rows["viettel"]["original"] == {"parts": 20, "cost": 13_000}
    assert rows["other"]["original"] == {"parts": 2, "cost": 1_600}


def test_sender_is_checked_and_trimmed(api, people, backend):
    caller = api.as_(people["editor"])
    ok = caller.post(URL, json={"text": "x", "sender": "  UBND-HG "})
    assert ok.status_code == 200 and ok.json["sender"] == "UBND-HG"
    assert caller.post(URL, json={"text": "x"}).json["sender"] is None

    accented = caller.post(URL, json={"text": "x", "sender": "Hậu Giang"})
    assert accented.status_code == 422
    assert list(accented.json["errors"]) == ["sender"]
    assert "'ậ'" in accented.json["errors"]["sender"][0]
    assert "'Hau Giang'" in accented.json["errors"]["sender"][0]

    long = caller.post(URL, json={"text": "x", "sender": "UBND HauGiang"})
    assert long.status_code == 422
    assert long.json["errors"]["sender"] == ["13 characters; a brandname has at most 11."]
    empty = caller.post(URL, json={"text": "x", "sender": "   "})
    assert empty.status_code == 422 and "sender" in empty.json["errors"]


def test_bad_requests_name_the_field(api, people, backend):
    caller = api.as_(people["editor"])
    unknown = caller.post(URL, json={"text": "x", "recipients": {"viettel": 1, "sfone": 5}})
    assert unknown.status_code == 422
    assert list(unknown.json["errors"]) == ["recipients.sfone"]
    negative = caller.post(URL, json={"text": "x", "recipients": {"viettel": -1}})
    assert negative.status_code == 422
    assert any(k.startswith("recipients") for k in negative.json["errors"])
    too_long = caller.post(URL, json={"text": "a" * (MAX_TEXT_CHARS + 1)})
    assert too_long.status_code == 422 and list(too_long.json["errors"]) == ["text"]
    assert caller.post(URL, json={"text": "a" * MAX_TEXT_CHARS}).json["original"]["parts"] == 10
    missing = caller.post(URL, json={"sender": "HG"})
    assert missing.status_code == 422 and "text" in missing.json["errors"]
    extra = caller.post(URL, json={"text": "x", "colour": "red"})
    assert extra.status_code == 422 and "colour" in extra.json["errors"]


def test_every_staff_role_may_preview_and_anonymous_may_not(api, people, backend):
    for who in ("editor", "approver", "admin"):
        assert api.as_(people[who]).post(URL, json={"text": "Xin chào"}).status_code == 200
    anonymous = api.post(URL, json={"text": "Xin chào"})
    assert anonymous.status_code == 401 and anonymous.json["code"] == "not_authenticated"


def test_empty_text_is_one_part_of_nothing():
    preview = sms_preview("")
    assert figures(preview["original"]) == ("gsm7", 0, 1, 160, 160, None, None)
    assert preview["original"]["segments"] == [""]


def test_prices_can_be_given_without_a_database():
    preview = sms_preview("Kính gửi", recipients={"vinaphone": 3}, prices={"vinaphone": 500})
    assert preview["totals"]["original"] == {"parts": 3, "cost": 1500}
    assert preview["totals"]["cost_saving"] == 0


@pytest.mark.parametrize(("sender", "reason"), [
    ("Đảng bộ", "no diacritics"),
    ("HG@2025", "Not allowed: '@'"),
    ("", "Give a brandname"),
    ("ABCDEFGHIJKL", "12 characters"),
])
def test_validate_sender_reasons(sender, reason):
    with pytest.raises(ValidationFailed) as err:
        validate_sender(sender)
    assert list(err.value.errors) == ["sms_sender"]
    assert reason in " ".join(err.value.errors["sms_sender"])


def test_validate_sender_accepts_the_allowed_symbols():
    assert validate_sender(" So TT&TT+HG ") == "So TT&TT+HG"
    assert validate_sender("a.b-c_d") == "a.b-c_d"
