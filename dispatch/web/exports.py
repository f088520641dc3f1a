"""Exports for people: a campaign's ledger as a clerk reads it in Excel (CSV or XLSX).

The readable form (`dispatch.reports.export.readable_ledger_table`): Vietnamese headers and
values, numbers as `0912 345 678` beside their E.164 form, local times `dd/mm/yyyy HH:MM`; the
XLSX opens on a summary sheet (Tổng hợp). The API's exports keep the code form for machines.
Audited as `report.export`, like the API's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from flask import Response
from flask_babel import force_locale, gettext

from dispatch.access.auth import require
from dispatch.campaigns import audit, service
from dispatch.extensions import db
from dispatch.models import Campaign
from dispatch.reports import export, survey
from dispatch.reports.campaign import campaign_report
from dispatch.web import pages
from dispatch.web.i18n import label
from dispatch.web.labels import reason, words_for_exports
from dispatch.web.pages import me

bp = pages.blueprint("web_exports", __name__, url_prefix="/campaigns")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: Iterator[bytes], content_type: str, filename: str,
              handle: IO[bytes] | None = None) -> Response:
    response = Response(body, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Accel-Buffering": "no", "Cache-Control": "no-store"})
    if handle is not None:
        response.call_on_close(handle.close)
    return response


def _start(campaign_id: int, fmt: str) -> tuple[Campaign, str]:
    c = service.get_campaign(campaign_id)
    audit.record("report.export", "campaign", c.id, actor=me(),
                 details={"export": "ledger", "format": fmt, "form": "readable"})
    db.session.commit()
    stamp = export.local_now().strftime("%Y%m%d-%H%M")
    return c, f"loa-chien-dich-{c.id}-{stamp}.{fmt}"


@bp.get("/<int:campaign_id>/export.csv")
@require("report.export")
def ledger_csv(campaign_id: int) -> Response:
    c, name = _start(campaign_id, "csv")
    table = export.readable_ledger_table(db.engine, c.id, words_for_exports())
    return _download(export.csv_chunks(table), CSV_TYPE, name)


@bp.get("/<int:campaign_id>/export.xlsx")
@require("report.export")
def ledger_xlsx(campaign_id: int) -> Response:
    c, name = _start(campaign_id, "xlsx")
    with force_locale("vi"):
        sheet = summary_sheet(c)
    table = export.readable_ledger_table(db.engine, c.id, words_for_exports())
    handle = export.xlsx_file(table, "Người nhận", before=[sheet])
    return _download(export.file_chunks(handle), XLSX_TYPE, name, handle)


def summary_sheet(c: Campaign) -> export.Sheet:
    """The campaign at a glance: what it is, its funnel, by operator, failures by reason."""
    report = campaign_report(c)
    total = report["total"]
    head = report["campaign"]

    def when(value: datetime | None) -> Any:
        return value if value is not None else "—"

    lines: list[list[Any]] = [
        [gettext("Campaign report")],
        [gettext("Campaign"), c.title],
        [gettext("Campaign number"), c.id],
        [gettext("Status"), label(c.status)],
        [gettext("Channels"), label(c.channels)],
        [gettext("Launched at"), when(head["launched_at"])],
        [gettext("Finished at"), when(head["finished_at"])],
        [gettext("Exported at"), when(report["as_of"])],
        [],
        [gettext("Figures")],
    ]
    figures = (
        ("targeted", gettext("Recipients")),
        ("submitted", gettext("Sent to the gateway")),
        ("delivered", gettext("Delivered (SMS)")),
        ("partial", gettext("Partly delivered (SMS)")),
        ("failed", gettext("Failed")),
        ("expired", gettext("Expired after sending")),
        ("unknown", gettext("Outcome unknown")),
        ("awaiting_receipt", gettext("Awaiting a delivery receipt (SMS)")),
        ("accepted_by_fcm", gettext("Accepted by FCM, not proof of arrival (app notification)")),
        ("suppressed", gettext("Not sent (excluded)")),
        ("waiting", gettext("Waiting to be sent")),
        ("cancelled", gettext("Cancelled")),
        ("expired_unsent", gettext("Expired before sending")),
        ("sms_delivered_percent", gettext("SMS delivered (%)")),
        ("parts_billed", gettext("SMS parts billed")),
        ("cost_vnd", gettext("Estimated cost (VND)")),
    )
    lines += [[text, total[key]] for key, text in figures]
    if report["by_operator"]:
        lines += [[], [gettext("By operator")],
                  [gettext("Operator"), gettext("Recipients"), gettext("Delivered (SMS)"),
                   gettext("Failed"), gettext("SMS delivered (%)"),
                   gettext("Estimated cost (VND)")]]
        lines += [[label(op), t["targeted"], t["delivered"], t["failed"],
                   t["sms_delivered_percent"], t["cost_vnd"]]
                  for op, t in report["by_operator"].items()]
    for key, title in (("failed_by_reason", gettext("Failures by reason")),
                       ("unknown_by_reason", gettext("Unknown outcomes by reason")),
                       ("suppressed_by_reason", gettext("Not sent, by reason"))):
        if total[key]:
            lines += [[], [title]]
            lines += [[reason(code), n] for code, n in total[key].items()]
    lines += survey_lines(survey.results(c, ledger=report))
    return export.Sheet(gettext("Summary"), lines)


def survey_lines(r: dict[str, Any] | None) -> list[list[Any]]:
    """What people answered, as the summary sheet shows it (nothing when nobody was asked)."""
    if r is None:
        return []
    lines: list[list[Any]] = [[], [gettext("Survey results")]]
    if r["question"]:
        lines.append([gettext("Question"), r["question"]])
    lines += [
        [gettext("Answers counted") if r["mode"] == "survey" else gettext("People who replied"),
         r["answers"]],
        [gettext("Recipients reached"), r["reached"]["total"]],
        [gettext("Response rate (%)"), r["response_rate_percent"]],
        [gettext("Free-text replies"), r["free_replies"]],
        [gettext("Earlier answers replaced by a later one"), r["not_counted"]["replaced"]],
        [gettext("Beyond the daily limit per number"), r["not_counted"]["over_limit"]],
        [gettext("Opted out by their reply"), r["not_counted"]["opted_out"]],
    ]
    if r["choices"]:
        lines += [[], [gettext("Choice"), gettext("Answers"), gettext("Share of answers")]]
        lines += [[f"{ch['key']}. {ch['label']}", ch["answers"], ch["percent"]]
                  for ch in r["choices"]]
    keys = [ch["key"] for ch in r["choices"]]
    heads = [ch["label"] for ch in r["choices"]]
    lines += [[], [gettext("Locality"), gettext("Answers counted"), *heads,
                   gettext("Recipients reached"), gettext("Response rate (%)")]]
    lines += [[row["name"], row["answers"], *(row["by_choice"][k] for k in keys),
               row["reached"], row["rate_percent"]] for row in r["by_locality"]]
    if r["by_operator"]:
        lines += [[], [gettext("Operator"), gettext("Answers counted"), *heads,
                       gettext("SMS delivered"), gettext("Response rate (%)")]]
        lines += [[label(op), row["answers"], *(row["by_choice"][k] for k in keys),
                   row["reached"], row["rate_percent"]] for op, row in r["by_operator"].items()]
    return lines
