"""A campaign that asks back: its settings through the API, refusals naming the field, the
question in the preview as sent, and the snapshot unchanged for campaigns that ask nothing."""

from __future__ import annotations

import pytest

from dispatch.campaigns import content
from dispatch.extensions import db
from dispatch.models import Campaign


def _survey(*choices: dict, question: str = "Ban co dong y?") -> dict:
    return {"question": question, "choices": list(choices)}


ONE = {"key": "1", "label": "Đồng ý"}
TWO = {"key": "2", "label": "Không"}


@pytest.mark.parametrize(("change", "field"), [
    ({"reply_mode": "poll"}, "reply_mode"),
    ({"reply_mode": "free", "reply_days": 0}, "reply_days"),
    ({"reply_mode": "survey", "survey": _survey(ONE)}, "survey.choices"),
    ({"reply_mode": "survey", "survey": _survey(ONE, TWO, question="  ")}, "survey.question"),
    ({"reply_mode": "survey", "survey": _survey(ONE, {"key": "huy", "label": "Huỷ"})},
     "survey.choices.1.key"),
    ({"reply_mode": "survey", "survey": _survey(ONE, {"key": "2", "label": "x",
                                                      "keywords": ["TU CHOI"]})},
     "survey.choices.1.keywords.0"),
    ({"reply_mode": "survey", "survey": _survey(ONE, {"key": "1", "label": "Lại"})},
     "survey.choices.1.key"),  # duplicate key
    ({"reply_mode": "survey", "survey": _survey(ONE, {"key": "2", "label": "dong y"})},
     "survey.choices.1.label"),  # the same words as choice 1, folded
    ({"reply_mode": "survey", "survey": _survey(ONE, {"key": "2", "label": ""})},
     "survey.choices.1.label"),  # empty label
    ({"reply_mode": "survey", "survey": _survey(*[{"key": str(i), "label": f"c{i}"}
                                                   for i in range(50)])}, "survey.choices"),
    ({"reply_mode": "survey", "survey": _survey(ONE, TWO, question="x" * 2000)},
     "survey.question"),
    ({"reply_mode": "survey", "survey": _survey(ONE, TWO, question="a\x00b")},
     "survey.question"),
])
def test_bad_reply_settings_are_named(flow, backend, change, field):
    resp = flow.as_("editor").post("/api/campaigns", json=flow.body(**change))
    assert resp.status_code == 422, resp.json
    errors = resp.json["errors"]
    assert any(k == field or k.startswith(field) for k in errors), errors


def test_a_survey_is_stored_previewed_as_sent_and_frozen(flow, backend):
    body = flow.body(reply_mode="survey", survey=_survey(ONE, TWO), reply_days=5,
                     reply_ack="Cam on ban da tra loi")
    created = flow.as_("editor").post("/api/campaigns", json=body)
    assert created.status_code == 201, created.json
    c = db.session.get(Campaign, created.json["id"])
    assert c.survey["choices"][1] == {"key": "2", "label": "Không", "keywords": []}
    snap = content.snapshot(c)
    assert snap["reply_mode"] == "survey" and snap["reply_days"] == 5
    from dispatch.replies.ask import sent_text
    assert sent_text(c.sms_text or "", c.reply_mode, c.survey).endswith(
        "\nBan co dong y? Trả lời 1 hoặc 2")


def test_a_campaign_that_asks_nothing_keeps_its_snapshot(flow, backend):
    created = flow.as_("editor").post("/api/campaigns", json=flow.body())
    c = db.session.get(Campaign, created.json["id"])
    assert not {"reply_mode", "survey", "reply_days", "reply_ack"} & set(content.snapshot(c))
