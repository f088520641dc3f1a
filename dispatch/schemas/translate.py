"""A service's or a schema's message in the reader's language (the pages' `tr` filter, and the
API where it writes text for people: the refused-rows CSV of an import).

Here, not in dispatch.web, because both interfaces use it and the API does not import the web
side; beside the schemas because most of what it translates are their messages. The catalog is
dispatch/translations; the messages are listed for extraction in dispatch/web/messages.py.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext

# Schema messages that carry a value (marshmallow's length and range rules, the field types of
# dispatch.schemas.fields), matched to the catalog's message with a placeholder for it.
PATTERNS = [(re.compile(pattern), msgid) for pattern, msgid in (
    (r"Longer than maximum length (?P<max>\d+)\.", "Longer than maximum length %(max)s."),
    (r"Shorter than minimum length (?P<min>\d+)\.", "Shorter than minimum length %(min)s."),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
     "Length must be between %(min)s and %(max)s."),
    (r"Must be greater than or equal to (?P<min>-?\d+) and less than or equal to "
     r"(?P<max>-?\d+)\.", "Must be greater than or equal to %(min)s and less than or equal "
                          "to %(max)s."),
    (r"Must be one of: (?P<choices>.+)\.", "Must be one of: %(choices)s."),
    (r"Contains a control character \((?P<code>U\+[0-9A-F]{4})\)\.",
     "Contains a control character (%(code)s)."),
    (r"Contains a line break \((?P<code>U\+[0-9A-F]{4})\)\.",
     "Contains a line break (%(code)s)."),
    (r"Give a link starting with one of (?P<schemes>.+)", "Give a link starting with one of "
                                                          "%(schemes)s"),
    # a campaign's reply settings (dispatch.replies.ask), which quote a choice or a word
    (r"Give between 1 and (?P<max>\d+) days\.", "Give between 1 and %(max)s days."),
    (r"At most (?P<max>\d+) choices: an SMS has little room\.",
     "At most %(max)s choices: an SMS has little room."),
    (r"Two choices have the key “(?P<key>.*)”\.", "Two choices have the key “%(key)s”."),
    (r"“(?P<word>.*)” is an opt-out keyword: whoever answers it would be opted out\.",
     "“%(word)s” is an opt-out keyword: whoever answers it would be opted out."),
    (r"“(?P<word>.*)” already answers choice (?P<key>.*)\.",
     "“%(word)s” already answers choice %(key)s."),
)]


def tr(message: Any) -> str:
    """A service's message in the reader's language when the catalog knows it.

    Plain text, never Markup: messages may quote what someone typed, and autoescape must apply.
    Jinja's own `_()` marks its result safe, so templates use it for literals only.
    """
    text = str(message)
    if "%" in text:
        return text
    translated = str(gettext(text))
    if translated != text:
        return translated
    for pattern, msgid in PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return str(gettext(msgid, **found.groupdict()))
    if ": " in text:  # "reason: what was found", e.g. the character
        reason, detail = text.split(": ", 1)
        return f"{gettext(reason)}: {detail}"
    return text
