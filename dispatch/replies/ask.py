"""What a campaign asks back: its reply settings checked, and the question as the SMS carries it.

The question is appended to the SMS text on a line of its own, followed by how to answer
("Trả lời 1, 2 hoặc 3"), so the preview, the parts, the cost and what is sent are one text
(`sent_text`). A free-text campaign appends nothing: its text already says what to write.
"""

from __future__ import annotations

from typing import Any

from dispatch.replies.parse import fold

REPLY_MODES = ("none", "free", "survey")
MAX_CHOICES = 9
MAX_DAYS = 30


def instruction(survey: dict[str, Any]) -> str:
    """'Trả lời 1, 2 hoặc 3' from the choices' keys."""
    keys = [str(c.get("key", "")) for c in survey.get("choices") or []]
    if not keys:
        return ""
    listed = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " hoặc " + keys[-1]
    return f"Trả lời {listed}"


def question_text(mode: str, survey: dict[str, Any]) -> str:
    if mode != "survey":
        return ""
    question = str(survey.get("question") or "").strip()
    return " ".join(p for p in (question, instruction(survey)) if p)


def sent_text(text: str, mode: str, survey: dict[str, Any] | None) -> str:
    """The SMS text as sent: the campaign's text, then the survey's question on its own line."""
    asked = question_text(mode, survey or {})
    if not asked:
        return text
    return f"{text.rstrip()}\n{asked}" if text.strip() else asked


def errors(mode: str, survey: dict[str, Any] | None, days: int | None,
           opt_out_keywords: set[str]) -> dict[str, list[str]]:
    """What is wrong with reply settings, by field (`survey.choices.2.key` …)."""
    found: dict[str, list[str]] = {}
    if mode not in REPLY_MODES:
        return {"reply_mode": ["Choose none, free or survey."]}
    if days is not None and not 1 <= days <= MAX_DAYS:
        found["reply_days"] = [f"Give between 1 and {MAX_DAYS} days."]
    if mode != "survey":
        return found
    survey = survey or {}
    if not str(survey.get("question") or "").strip():
        found["survey.question"] = ["A survey needs its question."]
    choices = survey.get("choices") or []
    if not isinstance(choices, list) or len(choices) < 2:
        found["survey.choices"] = ["A survey needs at least two choices."]
        return found
    if len(choices) > MAX_CHOICES:
        found["survey.choices"] = [f"At most {MAX_CHOICES} choices: an SMS has little room."]
        return found
    seen: dict[str, str] = {}
    keys: set[str] = set()
    blocked = {k.replace(" ", "") for k in opt_out_keywords}
    for n, choice in enumerate(choices):
        where = f"survey.choices.{n}"
        key = str(choice.get("key") or "").strip()
        if not key:
            found[f"{where}.key"] = ["Give the choice a key (1, 2, … or a word)."]
        elif fold(key) in keys:
            found[f"{where}.key"] = [f"Two choices have the key “{key}”."]
            continue
        keys.add(fold(key))
        if not str(choice.get("label") or "").strip():
            found[f"{where}.label"] = ["Give the choice a label."]
        forms = [("key", key), ("label", str(choice.get("label") or ""))]
        forms += [(f"keywords.{i}", str(k)) for i, k in enumerate(choice.get("keywords") or [])]
        for field, form in forms:
            folded = fold(form)
            if not folded:
                continue
            # Spaces apart too: "TU CHOI" is read by a person as the keyword TUCHOI.
            if folded.replace(" ", "") in blocked:
                found.setdefault(f"{where}.{field}", []).append(
                    f"“{form}” is an opt-out keyword: whoever answers it would be opted out.")
            elif seen.get(folded, key) != key:
                found.setdefault(f"{where}.{field}", []).append(
                    f"“{form}” already answers choice {seen[folded]}.")
            seen.setdefault(folded, key)
    return found


def clean_survey(survey: dict[str, Any] | None) -> dict[str, Any]:
    """The survey as stored: trimmed texts, keys as given."""
    survey = survey or {}
    return {"question": str(survey.get("question") or "").strip(),
            "choices": [{"key": str(c.get("key") or "").strip(),
                         "label": str(c.get("label") or "").strip(),
                         "keywords": [str(k).strip() for k in c.get("keywords") or []
                                      if str(k).strip()]}
                        for c in survey.get("choices") or []]}
