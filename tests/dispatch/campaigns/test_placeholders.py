"""Personalised text: the placeholder grammar, hostile values, and refusals at composition."""

from __future__ import annotations

import pytest

from dispatch.campaigns.placeholders import (
    PlaceholderError,
    clean_value,
    contact_values,
    locality_values,
    parse,
)

PLACES = {1: ("Tỉnh Hậu Giang", "province", None), 2: ("Huyện Vị Thủy", "district", 1),
          3: ("Xã Vị Thắng", "commune", 2)}


def test_slots_defaults_and_literal_braces():
    t = parse("Kính gửi {ho_ten|ông/bà} ở {xa}, {{không}} {nghe}}}")
    assert t.names == ("ho_ten", "xa", "nghe")
    assert [s.default for s in t.slots] == ["ông/bà", None, None]
    assert t.render({"xa": "Vị Thắng", "nghe": "nông dân"}) == \
        "Kính gửi ông/bà ở Vị Thắng, {không} nông dân}"
    assert t.render({"ho_ten": "Lan"}) is None  # xa has no default
    assert t.missing({"ho_ten": "Lan"}) == ["xa", "nghe"]
    assert not parse("Không có {{ chỗ }} nào").personal
    assert parse("Không có {{ chỗ }} nào").render({}) == "Không có { chỗ } nào"


@pytest.mark.parametrize(("text", "position"), [
    ("Chào {", 6), ("Chào {ho ten}", 6), ("Chào {}", 6), ("{ho_ten.__class__}", 1),
    ("x {0}", 3), ("x {ho_ten[0]}", 3), ("x {ho_ten!r}", 3), ("x {ho_ten:>10}", 3),
    ("x {ho_ten", 3), ("x {a{b}", 3), ("a } b", 3), ("{HO_TEN}", 1), ("{ho_ten|a{b}", 1),
])
def test_malformed_placeholders_are_refused_with_their_position(text, position):
    with pytest.raises(PlaceholderError) as err:
        parse(text)
    assert err.value.position == position
    assert f"at character: {position}" in str(err.value)


@pytest.mark.parametrize("value", ["%s", "{0}", "{ho_ten}", "{{", "}", "${x}",
                                   "{ho_ten.__class__}"])
def test_a_value_is_text_never_template(value):
    assert parse("A {ho_ten} B").render({"ho_ten": value}) == f"A {value} B"


def test_values_are_nfc_without_control_characters():
    decomposed = "Nguye\u0302\u0303n"  # "Nguyễn" decomposed
    assert clean_value(decomposed) == "Nguyễn"
    assert clean_value("Lan\x00\x07 Anh\n\tB\x1b") == "Lan Anh B"
    long_name = "Trần " * 400
    rendered = parse("{ho_ten}").render({"ho_ten": clean_value(long_name)})
    assert rendered == long_name.strip() and len(rendered) == 1999


def test_contact_values_from_fields_attributes_and_localities():
    assert locality_values(PLACES, 3) == {"xa": "Xã Vị Thắng", "huyen": "Huyện Vị Thủy"}
    assert locality_values(PLACES, 2) == {"huyen": "Huyện Vị Thủy"}
    assert locality_values(PLACES, 1) == {} and locality_values(PLACES, None) == {}
    values = contact_values("Lan\x00", {"nghe": " ngư dân ", "trong": "", "ho_ten": "khác"},
                            PLACES, 3)
    assert values == {"ho_ten": "Lan", "nghe": "ngư dân", "xa": "Xã Vị Thắng",
                      "huyen": "Huyện Vị Thủy"}


@pytest.mark.parametrize("field", ["sms_text", "push_title", "push_body"])
def test_composition_refuses_a_bad_placeholder_naming_field_and_position(flow, field):
    resp = flow.as_("editor").post("/api/campaigns",
                                   json=flow.body(**{field: "Chào {ho ten}"}))
    assert resp.status_code == 422, resp.json
    assert "at character: 6, {ho ten}" in resp.json["errors"][field][0]
    good = flow.as_("editor").post("/api/campaigns",
                                   json=flow.body(**{field: "Chào {ho_ten|bạn} {{"}))
    assert good.status_code == 201, good.json


def test_the_refusal_reads_in_vietnamese_on_the_pages(app):
    from dispatch.schemas.translate import tr

    with pytest.raises(PlaceholderError) as err:
        parse("Chào {ho ten}")
    with app.test_request_context("/"):
        assert tr(str(err.value)).startswith("Không phải trường cá nhân hoá")
        assert tr(str(err.value)).endswith("tại ký tự: 6, {ho ten}")
