"""Reports: a campaign's funnel, cost and timeline; ledger exports; the summary for leadership."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from flask import Response
from flask.views import MethodView

from dispatch.access.auth import require
from dispatch.api.common import Blueprint, actor
from dispatch.campaigns import audit, service
from dispatch.extensions import db
from dispatch.push import numbers
from dispatch.reports import export, inquiry, survey
from dispatch.reports import strategy as strategy_report
from dispatch.reports.campaign import campaign_report
from dispatch.reports.summary import summary
from dispatch.schemas.reports import (
    DELIMITERS,
    CampaignReportSchema,
    ExportQuery,
    InquiryQuery,
    InquirySchema,
    PeopleQuery,
    PersonSchema,
    ReportQuery,
    SummaryExportQuery,
    SummaryQuery,
    SummarySchema,
)

blp = Blueprint("reports", __name__, url_prefix="/api",
                description="Campaign reports, ledger exports and the summary across campaigns")

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _columns(columns: tuple[tuple[str, str], ...]) -> str:
    listed = "; ".join(f"`{key}`: {vi}" for key, vi in columns)
    return (f"Header of each column: Vietnamese name (field). Columns: {listed}. Times are "
            "Asia/Ho_Chi_Minh: `YYYY-MM-DD HH:MM:SS+07:00` in CSV, local Excel dates in XLSX.")


LEDGER_DOC = ("One row per ledger row (recipient x channel), in message id order; "
              "`recipient` is the phone number (SMS) or the app installation id (push), "
              "`gateway_ids` the SMSC message ids of the parts (FCM message id for push), "
              "space-separated. Audited as `report.export`. The code form, for machines: the "
              "campaign page offers the same rows for people (Vietnamese words, 0912 345 678, "
              "dd/mm/yyyy HH:MM, a summary sheet) at /campaigns/<id>/export.csv|xlsx. "
              + _columns(export.LEDGER_COLUMNS))
SUMMARY_DOC = ("One row per campaign, then a total row. Audited as `report.export`. "
               + _columns(export.SUMMARY_COLUMNS))


def download(body: Iterator[bytes], content_type: str, filename: str,
             handle: IO[bytes] | None = None) -> Response:
    # content_type, not mimetype: werkzeug appends "; charset=utf-8" to a text/* mimetype even
    # when it already names one, and CSV_TYPE does.
    response = Response(body, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        # Let a reverse proxy pass the stream on as it comes instead of buffering it whole.
        "X-Accel-Buffering": "no",
        "Cache-Control": "no-store",
    })
    if handle is not None:
        response.call_on_close(handle.close)
    return response


def stamp() -> str:
    return export.local_now().strftime("%Y%m%d-%H%M")


@blp.route("/campaigns/<int:campaign_id>/report")
class CampaignReport(MethodView):
    @require("report.view")
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, CampaignReportSchema)
    def get(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """The funnel per channel and operator, parts and estimated cost, timeline, first and
        last send; and, when the campaign asked for an answer, its survey results. Times are
        local (+07:00)."""
        c = service.get_campaign(campaign_id)
        report = campaign_report(c, bucket=args.get("bucket"))
        return {**report, "survey": survey.results(c, ledger=report)}


@blp.route("/campaigns/<int:campaign_id>/report/people")
class CampaignPeople(MethodView):
    @require("report.export")
    @blp.arguments(PeopleQuery, location="query")
    @blp.response(200, PersonSchema(many=True))
    def get(self, args: dict[str, Any], campaign_id: int) -> list[dict[str, Any]]:
        """Per person of the SMS audience: the channel that reached them under the campaign's
        strategy, their SMS and their verified devices' pushes (paged by `after`; audited)."""
        c = service.get_campaign(campaign_id)
        number = None
        if args.get("msisdn"):
            number = numbers.read_number(args["msisdn"])
        audit.record("report.export", "campaign", campaign_id, actor=actor(),
                     details={"export": "people", "msisdn": number})
        db.session.commit()
        return strategy_report.people(c, msisdn=number, after=args["after"],
                                      limit=args["limit"])


@blp.route("/campaigns/<int:campaign_id>/received")
class Received(MethodView):
    @require("report.view")
    @blp.arguments(InquiryQuery, location="query")
    @blp.response(200, InquirySchema)
    def get(self, args: dict[str, Any], campaign_id: int) -> dict[str, Any]:
        """What one number received from the campaign: the exact text, its parts and fate
        (audited: it reads one person's ledger row)."""
        c = service.get_campaign(campaign_id)
        answer = inquiry.received(c, args["msisdn"])
        audit.record("report.inquiry", "campaign", c.id, actor=actor(),
                     details={"msisdn": answer["msisdn"]})
        db.session.commit()
        return answer


def _audit_ledger_export(campaign_id: int, fmt: str) -> None:
    audit.record("report.export", "campaign", campaign_id, actor=actor(),
                 details={"export": "ledger", "format": fmt})
    db.session.commit()


@blp.route("/campaigns/<int:campaign_id>/export.csv")
class LedgerCsv(MethodView):
    @require("report.export")
    @blp.doc(description="CSV: UTF-8 with BOM, streamed as it is read. " + LEDGER_DOC)
    @blp.arguments(ExportQuery, location="query")
    @blp.response(200, content_type=CSV_TYPE,
                  description="One row per ledger row, streamed; UTF-8 with BOM")
    def get(self, args: dict[str, Any], campaign_id: int) -> Response:
        """The campaign's per-recipient ledger as CSV (streamed; audited)."""
        c = service.get_campaign(campaign_id)
        _audit_ledger_export(c.id, "csv")
        table = export.ledger_table(db.engine, c.id)
        body = export.csv_chunks(table, delimiter=DELIMITERS[args["delimiter"]])
        return download(body, CSV_TYPE, f"loa-campaign-{c.id}-ledger-{stamp()}.csv")


@blp.route("/campaigns/<int:campaign_id>/export.xlsx")
class LedgerXlsx(MethodView):
    @require("report.export")
    @blp.doc(description="XLSX: built in a temporary file (openpyxl write-only), then sent; "
                         "a million rows take about two minutes. " + LEDGER_DOC)
    @blp.response(200, content_type=XLSX_TYPE,
                  description="One row per ledger row; built in a temporary file, then sent")
    def get(self, campaign_id: int) -> Response:
        """The campaign's per-recipient ledger as XLSX (audited)."""
        c = service.get_campaign(campaign_id)
        _audit_ledger_export(c.id, "xlsx")
        handle = export.xlsx_file(export.ledger_table(db.engine, c.id), f"Chiến dịch {c.id}")
        return download(export.file_chunks(handle), XLSX_TYPE,
                        f"loa-campaign-{c.id}-ledger-{stamp()}.xlsx", handle)


@blp.route("/reports/summary")
class Summary(MethodView):
    @require("report.view")
    @blp.arguments(SummaryQuery, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Campaigns that started on local days since..until (inclusive) and/or of a phase or plan,
        each with its figures, and the totals: the department's report to leadership."""
        return summary(**args)


def _summary_export(args: dict[str, Any], fmt: str) -> tuple[dict[str, Any], str]:
    filters = {k: args.get(k) for k in ("since", "until", "phase_id", "plan_id")}
    report = summary(**filters)
    audit.record("report.export", "report", "summary", actor=actor(),
                 details={"export": "summary", "format": fmt,
                          "campaigns": len(report["campaigns"]),
                          **{k: str(v) for k, v in filters.items() if v is not None}})
    db.session.commit()
    named = {"phase_id": "phase-", "plan_id": "plan-"}
    parts = ["loa-summary", *(named.get(k, "") + str(v) for k, v in filters.items() if v),
             stamp()]
    # Keep the file name plain ASCII for every browser and shell.
    return report, re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))


@blp.route("/reports/summary.csv")
class SummaryCsv(MethodView):
    @require("report.view")
    @blp.doc(description=SUMMARY_DOC)
    @blp.arguments(SummaryExportQuery, location="query")
    @blp.response(200, content_type=CSV_TYPE, description="The summary, UTF-8 with BOM")
    def get(self, args: dict[str, Any]) -> Response:
        """The summary as CSV, one row per campaign and a total row (audited)."""
        report, name = _summary_export(args, "csv")
        body = export.csv_chunks(export.summary_table(report),
                                 delimiter=DELIMITERS[args["delimiter"]])
        return download(body, CSV_TYPE, f"{name}.csv")


@blp.route("/reports/summary.xlsx")
class SummaryXlsx(MethodView):
    @require("report.view")
    @blp.doc(description=SUMMARY_DOC)
    @blp.arguments(SummaryQuery, location="query")
    @blp.response(200, content_type=XLSX_TYPE, description="The summary as a workbook")
    def get(self, args: dict[str, Any]) -> Response:
        """The summary as XLSX, one row per campaign and a total row (audited)."""
        report, name = _summary_export(args, "xlsx")
        handle = export.xlsx_file(export.summary_table(report), "Tổng hợp")
        return download(export.file_chunks(handle), XLSX_TYPE, f"{name}.xlsx", handle)
