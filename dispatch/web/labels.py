"""Words for the codes Loa stores: why a message failed, why a campaign paused, bind states...

The domain stores codes (the API returns them as they are, machines read them); a person reads
the words below, through the `reason` filter and `words_for_exports`. A code with no words is
shown in a sentence that names it, never bare. One place for every such word, so that a new
code is translated once for the pages and the exports alike.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import force_locale, format_decimal, gettext

from dispatch.audiences import refusals
from dispatch.campaigns import notes
from dispatch.models import OPERATORS, MessageStatus
from dispatch.reports import reasons
from dispatch.reports.export import Words
from dispatch.schemas.translate import tr
from dispatch.web.i18n import _l, label

# The reason codes' words live with the reports (one table for pages, reports and exports).
MESSAGE_REASONS = reasons.WORDS


# States of an SMPP bind (dispatch.sms.status, in Redis), as the admin pages show them.
BIND_STATES: dict[str, Any] = {
    "bound": _l("Connected"), "binding": _l("Signing in"), "unbound": _l("Not connected"),
    "connecting": _l("Connecting"), "disconnected": _l("Disconnected"), "idle": _l("Idle"),
    "auth_failed": _l("Sign-in refused"), "closed": _l("Closed"), "closing": _l("Closing"),
    "config_error": _l("Configuration error"),
}

# RQ queues (dispatch.jobs), as the dashboard lists them.
QUEUES: dict[str, Any] = {
    "urgent": _l("Urgent jobs"), "default": _l("Ordinary jobs"), "low": _l("Background jobs"),
}


# What an audit entry is about (AuditEvent.entity).
ENTITIES: dict[str, Any] = {
    "campaign": _l("Campaign"), "user": _l("User"), "api_token": _l("API token"),
    "setting": _l("Setting"), "contact_list": _l("Contact list"), "contact": _l("Contact"),
    "opt_out": _l("Opt-out"), "locality": _l("Locality"), "smpp_account": _l("SMPP account"),
    "report": _l("Report"), "app_key": _l("App key"), "person": _l("Personal data"),
    "webhook": _l("Webhook"),
}


def entity(code: str | None) -> str:
    if not code:
        return "—"
    found = ENTITIES.get(code)
    return str(found) if found is not None else code


def reason(code: str | None) -> str:
    """A message's reason code in words; an unknown code inside a sentence naming it."""
    return reasons.words(code) if code else "—"


def bind_state(code: str | None) -> str:
    if not code:
        return gettext("No connection reported")
    found = BIND_STATES.get(code)
    return str(found) if found is not None else gettext("State %(code)s", code=code)


def queue_name(code: str) -> str:
    found = QUEUES.get(code)
    return str(found) if found is not None else gettext("Queue %(code)s", code=code)


def words_for_exports() -> Words:
    """The readable export's words, in Vietnamese (the department's files) whatever the page."""
    with force_locale("vi"):
        codes = [*(s.value for s in MessageStatus), *OPERATORS, "sms", "push", "-"]
        return Words(labels={code: label(code) for code in codes},
                     reasons={code: str(text) for code, text in MESSAGE_REASONS.items()},
                     other_reasons={prefix: str(words) % {"code": "{code}"}
                                    for prefix, words in reasons.OTHER_REASONS},
                     other_reason=gettext("Other reason (%(code)s)", code="{code}"),
                     topic=gettext("All app users (topic)"))


# Words for the codes of dispatch.campaigns.notes (why a campaign paused, how its pushes went),
# with the code's values as placeholders.
NOTE_CODES: dict[str, Any] = {
    notes.PAUSED_BY_STAFF: _l("Paused by staff"),
    notes.PAUSED_BY_SYSTEM: _l("Paused by the system"),
    notes.GATEWAY_FAILURES: _l("Paused automatically: %(count)s gateway failures in a row on "
                               "SMPP account %(account)s (last: %(last)s)."),
    notes.TOPICS_OFF: _l("Sent device by device: sending to topics is turned off "
                         "(LOA_PUSH_TOPICS), so each device has its own row and result."),
    notes.MANY_LOCALITIES: _l("Sent device by device: the audience covers %(localities)s "
                              "localities, and a topic send covers all app users or a single "
                              "locality."),
    notes.PAYLOAD_TOO_LARGE: _l("Sent device by device: the notification does not fit a topic "
                                "send (%(why)s)."),
    notes.NO_DEVICE: _l("Sent device by device: the audience has no active device."),
    notes.STRATEGY: _l("Sent device by device: the channel strategy decides for each device."),
    notes.PERSONAL_PUSH: _l("Sent device by device: the notification is personalised."),
    notes.NOT_SUBSCRIBED: _l("Sent device by device: %(missing)s of %(targeted)s devices have "
                             "not reported subscribing to the topic %(topic)s."),
    notes.OUTSIDE_SUBSCRIBED: _l("Sent device by device: %(outside)s devices subscribed to the "
                                 "topic %(topic)s are outside the audience (opted out, or "
                                 "registered elsewhere)."),
    notes.JOINED_SINCE_APPROVAL: _l("Sent device by device: %(devices)s devices joined the "
                                    "audience after its approval, and a topic send would reach "
                                    "them too."),
    notes.VOIDED: _l("Edited while %(status)s: the %(what)s is void."),
    notes.CORRECTED: _l("Cancelled to send its correction instead."),
    notes.FREEZE_FAILED: _l("Loa could not freeze the list of recipients (%(error)s); nothing "
                            "was sent. Submit it again; if this happens again, tell the "
                            "operations team."),
    notes.FREEZE_RETRY: _l("Run %(attempt)s of %(attempts)s freezing the list of recipients "
                           "failed on the database (%(error)s); Loa tries again."),
    notes.FREEZE_GAVE_UP: _l("Loa could not freeze the list of recipients: the database failed "
                             "%(attempts)s times (%(error)s); nothing was sent. Tell the "
                             "operations team before submitting it again."),
    notes.TOPIC_SEND: _l("Sent to the topic %(topic)s: one request for the %(devices)s active "
                         "devices of the audience, all subscribed; there is no result per "
                         "device."),
}

# Words for the codes of dispatch.audiences.refusals (why an import refused its file).
IMPORT_REFUSALS: dict[str, Any] = {
    "file_empty": _l("The file is empty."),
    "not_csv_or_xlsx": _l("%(name)s is not a CSV or XLSX file."),
    "xls_file": _l("This is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV."),
    "not_text": _l("The file is not text in UTF-8, UTF-16 or Windows-1258: byte %(byte)s on "
                   "line %(line)s is none of them. Save it as 'CSV UTF-8' or XLSX."),
    "bom_not_utf8": _l("Line %(line)s is not valid UTF-8 (byte %(byte)s), though the file says "
                       "it is: correct it or save the file again."),
    "line_not_utf8": _l("Line %(line)s is not valid UTF-8 (byte %(byte)s) while the rest of "
                        "the file is: correct that line or save the file again as 'CSV UTF-8'."),
    "line_not_text": _l("Line %(line)s cannot be read as %(encoding)s text (%(why)s)."),
    "line_nul": _l("Line %(line)s contains a NUL character (byte 0): the file is damaged or "
                   "not a CSV."),
    "no_header": _l("The first line must be a header naming the columns (phone, ...)."),
    "column_twice": _l("Columns %(first)s and %(second)s both give %(field)s: keep one."),
    "no_phone_column": _l("No phone column: the header (line %(line)s) has %(found)s; name the "
                          "column of numbers one of %(names)s, 'số điện thoại' or 'SĐT'."),
    "no_phone": _l("No phone column."),
    "header_broken": _l("Line %(line)s, the header, cannot be read (%(why)s): %(text)s."),
    "not_xlsx": _l("The file is not a readable XLSX workbook (%(why)s)."),
    "sheet_unreadable": _l("The first worksheet cannot be read (%(why)s)."),
    "workbook_damaged": _l("The workbook is damaged after line %(line)s (%(why)s)."),
    "cell_too_long": _l("The workbook has a cell longer than %(limit)s characters (the limit "
                        "LOA_IMPORT_MAX_CELL_CHARS)."),
    "part_too_large": _l("The workbook's part %(part)s decompresses to more than %(limit_mb)s "
                         "MB (the limit %(setting)s)."),
    "part_declared_too_large": _l("The workbook's part %(part)s declares %(size_mb)s MB "
                                  "uncompressed, more than the limit of %(limit_mb)s MB "
                                  "(%(setting)s)."),
    "rows_declared": _l("The worksheet declares %(rows)s rows, more than the limit of "
                        "%(limit)s (LOA_IMPORT_MAX_ROWS)."),
    "cells_declared": _l("The worksheet declares %(rows)s rows × %(columns)s columns = "
                         "%(cells)s cells, more than the limit of %(limit)s "
                         "(LOA_IMPORT_MAX_CELLS)."),
    "too_many_rows": _l("The worksheet holds more than %(limit)s rows (the limit "
                        "LOA_IMPORT_MAX_ROWS)."),
    "too_many_cells": _l("The worksheet holds more than %(limit)s cells (the limit "
                         "LOA_IMPORT_MAX_CELLS)."),
}

VOIDED_WORDS: dict[str, Any] = {"approval": _l("approval"), "submission": _l("submission")}

# Notes stored as English sentences with values in them (a push block): matched here and shown
# in the reader's language.
NOTES: list[tuple[re.Pattern[str], Any]] = [(re.compile(pattern), msgid) for pattern, msgid in (
    (r"FCM refused the service account \((?P<code>[^)]*)\): (?P<why>.*)",
     _l("FCM refused the service account (%(code)s): %(why)s")),
)]


def note(text: str | None) -> str:
    """A stored note in the reader's language: a code with its values, a message word for word
    or by its pattern; a person's own words as written."""
    if not text:
        return ""
    coded = notes.read(text)
    if coded is not None:
        code, values = coded
        return _note_words(code, values)
    refused = refusals.read(text)
    if refused is not None:
        return _refusal_words(*refused)
    translated = tr(text)
    if translated != text:
        return translated
    for pattern, msgid in NOTES:
        found = pattern.fullmatch(text)
        if found:
            values = found.groupdict()
            if values.get("topic") == "all":  # the topic of every app user
                values["topic"] = gettext("All app users (topic)")
            return str(msgid) % values
    return text


def _note_words(code: str, values: dict[str, str]) -> str:
    words = NOTE_CODES[code]
    if values.get("topic") == "all":  # the topic of every app user
        values["topic"] = gettext("All app users (topic)")
    if "last" in values:
        values["last"] = reason(values["last"])
    if "why" in values:
        values["why"] = tr(values["why"])
    if "status" in values:
        values["status"] = label(values["status"]).lower()
    if values.get("what") in ("approval", "submission"):
        values["what"] = str(VOIDED_WORDS[values["what"]])
    for key in re.findall(r"%\((\w+)\)s", str(words)):
        values.setdefault(key, "—")
    return str(words) % values


def _refusal_words(code: str, values: dict[str, str]) -> str:
    words = IMPORT_REFUSALS[code]
    for key, value in values.items():
        if key in refusals.NUMBERS and value.isdigit():
            values[key] = format_decimal(int(value))
    if "why" in values:
        values["why"] = tr(values["why"])
    for key in re.findall(r"%\((\w+)\)s", str(words)):
        values.setdefault(key, "—")
    return str(words) % values


def script_words() -> dict[str, Any]:
    """The note codes' words for the pages' script, `{name}` where a value goes, and the words
    of the reason codes a note may carry (`last`)."""
    return {"notes": {code: re.sub(r"%\((\w+)\)s", r"{\1}", str(words))
                      for code, words in NOTE_CODES.items()},
            "reasons": {code: str(words) for code, words in MESSAGE_REASONS.items()}}
