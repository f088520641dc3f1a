"""Benchmarks: each one command, run from the repository's root as a module, e.g.

    .venv/bin/python -m scripts.bench.sms_campaign --recipients 2000

    sms_campaign.py    the end-to-end SMS campaign (upload, launch, every receipt stored) next to
                       the bare smpplib loop in the same run
    sms_pipeline.py    queued rows → the smpp process → every receipt in the ledger
    smpp_throughput.py one bind's submit rate (gateways.smpp Session) against a bare smpplib loop
    smpp_throttle.py   one account's TPS shared by several processes, measured at the stand-in
    push_campaign.py   a per-device push campaign through RQ workers; fcm_bench.py: the gateway
    import_bench.py    a 1,000,000-row import as the background job, and the workbook bombs
    expand_bench.py    expanding a 1,000,000-recipient audience into the ledger
    progress_bench.py  the progress endpoint under load while a campaign sends
    report_export.py   the campaign report and the ledger exports (CSV, XLSX)
    gen_contacts.py    the synthetic contacts CSV the import benchmarks read

What they share (child processes, databases, Redis, stand-ins) is scripts/harness. Figures and
the commands that produced them: docs/BENCHMARKS.md.
"""
