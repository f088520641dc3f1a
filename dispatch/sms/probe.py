"""`flask smpp test ACCOUNT MSISDN TEXT`: check a link before a launch with one real message.

Binds a session of its own (a transmitter + receiver pair for tx_rx accounts), sends one
message, prints its parts and SMSC ids, then waits for the receipts. Receipts are stored like
any other (store first, then acknowledge), and looked up in `raw_receipts`: the SMSC may hand the
receipt to a running smpp process's bind instead of ours, which stores it just the same.
Returns the exit code: 0 only when every part was delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import select

from dispatch.audiences.msisdn import normalise
from dispatch.extensions import db
from dispatch.models import RawReceipt, SmppAccount
from dispatch.sms import accounts as smpp_accounts
from dispatch.sms.links import session_config
from dispatch.sms.receipts import PART_STATUS
from dispatch.sms.writer import ReceiptWriter
from gateways.smpp import BindMode, OutboundSms, Session


def wait_for_receipts(account_id: int, smsc_ids: list[str],
                      wait: float) -> dict[str, tuple[str | None, str | None]]:
    """smsc_id → (state, err) of its latest receipt, waiting up to `wait` s for final ones."""
    deadline = time.monotonic() + wait
    seen: dict[str, tuple[str | None, str | None]] = {}
    while True:
        db.session.rollback()  # a fresh snapshot: the receipts are written by another thread
        stmt = (select(RawReceipt.smsc_id, RawReceipt.stat, RawReceipt.err)
                .where(RawReceipt.account_id == account_id, RawReceipt.smsc_id.in_(smsc_ids))
                .order_by(RawReceipt.id))
        for smsc_id, stat, err in db.session.execute(stmt):
            if smsc_id not in seen or seen[smsc_id][0] not in PART_STATUS:
                seen[smsc_id] = (stat, err)
        final = all(seen.get(i, (None, None))[0] in PART_STATUS for i in smsc_ids)
        if final or time.monotonic() >= deadline:
            return seen
        time.sleep(0.2)


def probe(account: SmppAccount, msisdn: str, text: str, *, wait: float = 60.0,
          sender: str | None = None, echo: Callable[[str], Any] = print,
          timers: dict[str, Any] | None = None) -> int:
    """Send one message on a bind of its own and report; returns 0 when it was delivered."""
    number = normalise(msisdn)
    if not number.ok or number.msisdn is None:
        echo(f"{msisdn}: {number.error}")
        return 2
    source = sender or (account.brandnames[0] if account.brandnames else "")
    if not source:
        echo("No sender: give --sender, or a brandname to the account.")
        return 2
    password = smpp_accounts.password_of(account)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    writer = ReceiptWriter(app, account.id).start()
    modes: list[BindMode] = (["transceiver"] if account.bind_mode == "trx"
                             else ["transmitter", "receiver"])
    sessions = [Session(session_config(account, password, mode, **(timers or {})),
                        name=f"{account.name}-test-{mode[:2]}",
                        on_deliver_later=writer.on_deliver_later).start() for mode in modes]
    try:
        session = sessions[0]
        if not session.wait_bound(15):
            bind = session.status()
            echo(f"No bind to {account.host}:{account.port} as {account.system_id}: "
                 f"{bind.state} ({bind.detail})")
            return 2
        echo(f"Bound to {account.host}:{account.port} as {account.system_id} "
             f"({', '.join(modes)}).")
        handle = session.submit(OutboundSms(
            ref="probe", destination=number.msisdn.lstrip("+"), text=text, source=source,
            source_ton=account.source_ton, source_npi=account.source_npi))
        outcome = handle.wait(session.config.response_timeout + 30)
        if outcome is None:
            echo("No answer to submit_sm.")
            return 1
        echo(f"{number.msisdn}: {outcome.encoding}, {len(outcome.parts)} part(s), "
             f"sender {source}")
        for part in outcome.parts:
            error = f"  {part.error.reason}" if part.error else ""
            echo(f"  part {part.number}: {part.state}  smsc id {part.remote_id or '-'}{error}")
        if not outcome.ok:
            return 1
        ids = [part.remote_id for part in outcome.parts if part.remote_id]
        echo(f"Waiting up to {wait:.0f} s for {len(ids)} receipt(s)…")
        receipts = wait_for_receipts(account.id, ids, wait)
        for smsc_id in ids:
            state, err = receipts.get(smsc_id, (None, None))
            echo(f"  receipt {smsc_id}: {state or 'none'}" + (f"  err {err}" if err else ""))
        delivered = all(receipts.get(i, (None, None))[0] == "DELIVRD" for i in ids)
        echo("DELIVERED" if delivered else "NOT DELIVERED")
        return 0 if delivered else 1
    finally:
        for session in sessions:
            session.close(timeout=2.0)
        writer.stop()
