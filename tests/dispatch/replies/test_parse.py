"""Reading answers forgivingly."""

from __future__ import annotations

import pytest

from dispatch.replies.parse import choice_index, fold, match

SURVEY = {"choices": [{"key": "1", "label": "Đồng ý", "keywords": ["ok"]},
                      {"key": "2", "label": "Không đồng ý"}, {"key": "3", "label": "Ý kiến khác"}]}


@pytest.mark.parametrize(("text", "key"), [
    ("1", "1"), (" 1.", "1"), ("một", "1"), ("Đồng ý", "1"), ("dong y", "1"), ("ĐỒNG  Ý!", "1"),
    ("OK", "1"), ("2", "2"), ("khong dong y", "2"), ("ba", "3"), ("y kien khac", "3"),
    ("Tôi đồng ý với dự thảo", None), ("", None), ("...", None), ("4", None),
    ("x" * 2000, None), ("1 2", None),
])
def test_choices_match_with_case_diacritics_spaces_and_punctuation_folded(text, key):
    assert match(text, choice_index(SURVEY)) == key


def test_fold():
    assert fold("  Đồng ý!! ") == "dong y"
