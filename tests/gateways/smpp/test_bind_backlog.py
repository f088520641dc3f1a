"""What an SMSC sends right behind the bind_resp belongs to the session, not to the bind.

An SMSC holding receipts or MO for an account delivers them as soon as a receiver binds, often
in the same TCP segment as the bind_resp: the restart of the smpp process after a crash is
exactly that moment. Found by the kill -9 drill (scripts/drills/kill_smpp.py): the PDUs read
together with the bind_resp were dropped and the read loop started mid-PDU, so the link failed
with a protocol error, rebound into the same backlog, and never came up again.
"""

from __future__ import annotations

from collections.abc import Callable

from gateways.smpp import Session
from scripts.harness import wait_for
from scripts.smsc import Smsc
from tests.helpers.smpp import Store

BACKLOG = 200  # deliver_sm PDUs: well over one 4 KB read


def test_deliveries_waiting_at_bind_all_arrive_and_the_link_stays_up(
        smsc: Smsc, make_session: Callable[..., Session]) -> None:
    for i in range(BACKLOG):  # nobody bound: the stand-in keeps them for the next receiver
        smsc.send_mo("loa", f"849{i:08d}", "8088", "HUY")
    assert smsc.stats()["backlog"] == BACKLOG
    store = Store()
    session = make_session(on_deliver=store)
    assert wait_for(lambda: len(store.inbound) == BACKLOG, 10), (
        len(store.inbound), session.status())
    assert smsc.wait_for(lambda s: s.get("mos_acked") == BACKLOG, 5), smsc.stats()
    assert sorted(m.source for m in store.inbound) == [f"849{i:08d}" for i in range(BACKLOG)]
    # One bind, never dropped for a protocol error.
    assert session.state == "bound" and smsc.stats()["binds"] == 1, session.status()
