"""Reports on what campaigns did: the funnel, cost, timeline, ledger exports and summaries.

Every figure is an aggregate computed in SQL over the ledger (`messages`, `message_parts`); no
report loads ledger rows into Python, and the exports stream them in batches.

- `dispatch.reports.tally`: the funnel arithmetic shared by every report (what counts as
  submitted, billed, delivered), fed by GROUP BY rows;
- `dispatch.reports.campaign`: one campaign's report (funnel per channel and operator, cost,
  timeline, first and last send);
- `dispatch.reports.summary`: campaigns in a date range and/or of a phase tag, with totals;
- `dispatch.reports.export`: the per-recipient ledger and the summary as CSV and XLSX;
- `dispatch.reports.survey`: what people answered to a campaign that asked (GROUP BYs over
  `replies`), rated against the ledger's recipients reached.
"""
