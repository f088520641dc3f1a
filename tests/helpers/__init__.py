"""What the tests share, imported by name (never from a conftest or a test module):

    factories.py     users, tokens, the one SMPP-account builder, uploads, the JSON API caller
    campaigns.py     lists and contacts through the models, the lifecycle through the API (Flow)
    engine.py        campaigns launched through the services, a burst worker
    sms.py, push.py  the stand-ins as fixtures (a plugin of tests/conftest.py), campaigns in
                     `sending` with queued rows, the app-facing API's caller (push)
    reports.py       a finished ledger built row by row
    ops.py           bind status as the smpp process publishes it
    smpp.py          the transport tests' session settings, texts and receipt store
    hostile_smsc.py  an SMSC that misbehaves on purpose
    web.py, screen.py, browser.py   pages through the test client, Chromium, a browser session
    seed.py, access_matrix.py, security.py   the security tests' data, route table and log check
    files.py         Windows-1258 text; drills.py: what the drill tests check and print

Waiting for another thread or process is `scripts.harness.wait_for`, the one polling loop of the
tests and the scripts; a PostgreSQL schema of a run's own is `scripts.harness.PgSchema`.
"""
