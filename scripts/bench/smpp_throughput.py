"""Submit throughput on one bind against the stand-in, next to a bare smpplib loop.

    .venv/bin/python -m scripts.bench.smpp_throughput [--messages 20000] [--windows 1,10,50]

The stand-in runs as a process of its own (loopback), receipts on (sent right after each
submit_sm_resp), throttle off. For each run: submit_sm/s from the first submit to the last
submit_sm_resp, and the rate until every receipt was answered. The transport alone: the
receipt callback only counts; storing in the ledger is the dispatch side's part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import threading
import time
import urllib.request

from gateways.results import Receipt
from gateways.smpp import DeliverEvent, OutboundSms, Session, SessionConfig
from scripts.harness import Proc
from scripts.harness.standins import start_smsc

TEXT = "Thong bao: lich tiem chung tai tram y te xa vao sang thu Bay"  # one GSM-7 part


def start_standin(receipt_delay: float = 0.0) -> tuple[Proc, int, int]:
    """The stand-in as a process of its own, receipts after `receipt_delay` s, nothing kept."""
    return start_smsc("--receipt-delay", str(receipt_delay), "--no-record",
                      account=("bench", "bench"), name="stand-in")


def standin_stats(control: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{control}/stats") as response:
        return dict(json.load(response))


def destinations(n: int) -> list[str]:
    return [f"8491{i % 10_000_000:07d}" for i in range(n)]


def bare_smpplib(port: int, n: int, window: int) -> tuple[float, float]:
    """smpplib as its README shows it, plus TCP_NODELAY and a window: one thread, no storage."""
    import smpplib.client
    import smpplib.consts

    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    client.connect()
    client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.bind_transceiver(system_id="bench", password="bench")
    state = {"outstanding": 0, "answered": 0, "receipts": 0}

    def sent(pdu: object, **kwargs: object) -> None:
        state["outstanding"] -= 1
        state["answered"] += 1

    def received(pdu: object, **kwargs: object) -> int:
        state["receipts"] += 1
        return int(smpplib.consts.SMPP_ESME_ROK)

    client.set_message_sent_handler(sent)
    client.set_message_received_handler(received)
    numbers = destinations(n)
    written = 0
    start = time.perf_counter()
    answered_at = 0.0
    while state["answered"] < n or state["receipts"] < n:
        while state["outstanding"] < window and written < n:
            client.send_message(
                source_addr_ton=5, source_addr_npi=0, source_addr="LOA", dest_addr_ton=1,
                dest_addr_npi=1, destination_addr=numbers[written],
                short_message=TEXT.encode("ascii"), data_coding=0, registered_delivery=1)
            state["outstanding"] += 1
            written += 1
        client.read_once()
        if not answered_at and state["answered"] >= n:
            answered_at = time.perf_counter()
    done = time.perf_counter()
    client.unbind()
    client.disconnect()
    return n / (answered_at - start), n / (done - start)


def session_run(port: int, n: int, window: int) -> tuple[float, float]:
    receipts = 0
    all_in = threading.Event()
    lock = threading.Lock()

    def store(event: DeliverEvent) -> bool:
        nonlocal receipts
        if isinstance(event, Receipt):
            with lock:
                receipts += 1
                if receipts >= n:
                    all_in.set()
        return True

    config = SessionConfig("127.0.0.1", port, "bench", "bench", source="LOA", window=window,
                           id_format="hex", queue_limit=max(200, 4 * window))
    session = Session(config, name=f"bench-w{window}", on_deliver=store).start()
    if not session.wait_bound(10):
        raise SystemExit(f"no bind: {session.status()}")
    messages = [OutboundSms(str(i), number, TEXT) for i, number in enumerate(destinations(n))]
    start = time.perf_counter()
    outcomes = session.submit_many(messages, timeout=600)
    answered = time.perf_counter()
    all_in.wait(60)
    done = time.perf_counter()
    session.close()
    failed = sum(not outcome.ok for outcome in outcomes)
    if failed or receipts < n:
        raise SystemExit(f"window {window}: {failed} failed, {receipts}/{n} receipts")
    return n / (answered - start), n / (done - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--windows", default="1,10,50")
    args = parser.parse_args()
    windows = [int(w) for w in args.windows.split(",")]
    proc, port, control = start_standin()
    try:
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}; {args.messages} single-part messages per run")
        print(f"{'client':<22}{'window':>7}{'submit/s':>11}{'with receipts/s':>17}")
        results = {}
        for window in windows:
            n = args.messages if window > 1 else min(args.messages, 5000)
            bare = bare_smpplib(port, n, window)
            ours = session_run(port, n, window)
            results[window] = (bare, ours)
            print(f"{'bare smpplib loop':<22}{window:>7}{bare[0]:>11.0f}{bare[1]:>17.0f}")
            print(f"{'gateways.smpp Session':<22}{window:>7}{ours[0]:>11.0f}{ours[1]:>17.0f}"
                  f"   ratio {ours[0] / bare[0]:.2f}")
        stats = standin_stats(control)
        print(f"stand-in: {stats.get('submits')} submit_sm, {stats.get('receipts_acked')} "
              f"receipts acknowledged, binds {stats.get('binds')}")
    finally:
        proc.stop(10)


if __name__ == "__main__":
    main()
