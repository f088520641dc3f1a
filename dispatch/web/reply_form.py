"""The composer's reply settings (templates/campaigns/_reply.html): what a campaign asks back.

Choices are written one a line, `key = label | keyword, keyword` ("1 = Đồng ý | dong y, ok"),
so that a clerk edits a survey in one box; they reach the API's schema as its list.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from dispatch.models import Campaign


def parse_choices(textarea: str) -> list[dict[str, Any]]:
    choices = []
    for line in textarea.splitlines():
        if not line.strip():
            continue
        key, _, rest = line.partition("=")
        label, _, keywords = rest.partition("|")
        choices.append({"key": key.strip(), "label": label.strip(),
                        "keywords": [k.strip() for k in keywords.split(",") if k.strip()]})
    return choices


def write_choices(survey: dict[str, Any]) -> str:
    lines = []
    for c in survey.get("choices") or []:
        keywords = ", ".join(c.get("keywords") or [])
        lines.append(f"{c.get('key', '')} = {c.get('label', '')}"
                     + (f" | {keywords}" if keywords else ""))
    return "\n".join(lines)


def reply_input(form: MultiDict[str, str], raw: dict[str, Any]) -> None:
    """Add the reply fields of the form to `raw` (the API's shape)."""
    mode = form.get("reply_mode", "none")
    raw["reply_mode"] = mode
    if form.get("reply_days", "").strip():
        days = form.get("reply_days", "").strip()
        raw["reply_days"] = int(days) if days.isdigit() else days
    raw["reply_ack"] = form.get("reply_ack", "").strip() or None
    if mode == "survey":
        raw["survey"] = {"question": form.get("survey_question", "").strip(),
                         "choices": parse_choices(form.get("survey_choices", ""))}


def reply_values(c: Campaign, values: MultiDict[str, str]) -> None:
    values["reply_mode"] = c.reply_mode or "none"
    values["reply_days"] = str(c.reply_days)
    values["reply_ack"] = c.reply_ack or ""
    values["survey_question"] = (c.survey or {}).get("question", "")
    values["survey_choices"] = write_choices(c.survey or {})
