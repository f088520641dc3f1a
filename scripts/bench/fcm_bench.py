"""Baseline: one process calling send_each in a plain loop against the local FCM stand-in.

    .venv/bin/python -m scripts.bench.fcm_bench [--messages 20000] [--batch 500]
                                                [--latency-ms 0] [--pool-size 500]
                                                [--sender send_each|threads|http2|direct]
                                                [--compare-env --rounds 4]

The stand-in runs as its own process (so it does not share this process's GIL). Prints one
JSON line: messages, seconds, messages per second, peak RSS of this process. The worker
benchmark (scripts/bench/push_campaign.py) runs the same loop as its baseline.

--compare-env alternates, in one process and against one stand-in, rounds of --messages with
the gateway as built (proxy settings read once) and rounds with requests' default of reading
them from the environment on every request (`trust_env`), the cost removed in
gateways/fcm/gateway.py; on a shared machine only such an alternation compares fairly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from firebase_admin import messaging

from gateways.fcm import SENDERS, PushContent, PushGateway, PushMessage, PushStatus
from scripts.harness import Proc, proc_cpu_seconds
from scripts.harness.standins import start_fcm


def start_standin(workdir: Path, latency_ms: float) -> tuple[Proc, dict[str, str]]:
    """`python -m scripts.fcm serve` on a free port; it and where to reach it."""
    service_account = workdir / "service-account.json"
    proc, port = start_fcm(service_account, "--latency-ms", str(latency_ms))
    return proc, {"endpoint": f"http://127.0.0.1:{port}", "service_account": str(service_account),
                  "pid": str(proc.pid)}


CONTENT = PushContent(title="Thông báo khẩn",
                      body="Triều cường lúc 17 giờ, đề nghị người dân chú ý.",
                      link="haugiang://tin/1", priority="high")


def _loop(gateway: PushGateway, messages: int, batch: int) -> dict[str, float]:
    """Send `messages` in batches; return the rate and this process's CPU per message."""
    sent = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for start in range(0, messages, batch):
        chunk = [PushMessage(str(i), f"bench-{i}", CONTENT)
                 for i in range(start, min(start + batch, messages))]
        sent += sum(o.status is PushStatus.SENT for o in gateway.send_batch(chunk))
    elapsed = time.perf_counter() - started
    assert sent == messages, f"only {sent} of {messages} sent"
    return {"msg_per_s": round(messages / elapsed),
            "cpu_ms_per_msg": round((time.process_time() - cpu) / messages * 1000, 3)}


def compare_env(messages: int, batch: int, pool_size: int, rounds: int) -> dict[str, Any]:
    """Alternate rounds with the environment read once (as built) and on every request."""
    with tempfile.TemporaryDirectory(prefix="loa-fcm-bench-") as tmp:
        process, ready = start_standin(Path(tmp), 0)
        try:
            with PushGateway(ready["service_account"], endpoint=ready["endpoint"],
                             pool_size=pool_size, sender="send_each") as gateway:
                gateway.send_one("warm-up", CONTENT)
                # The sending session, whose trust_env the gateway turned off.
                session = messaging._get_messaging_service(gateway._app)._client.session
                result: dict[str, Any] = {"read_once": [], "every_request": [],
                                          "loadavg_1min_before": os.getloadavg()[0]}
                for _ in range(rounds):
                    for key, per_request in (("read_once", False), ("every_request", True)):
                        session.trust_env = per_request
                        result[key].append(_loop(gateway, messages, batch))
                result["loadavg_1min_after"] = os.getloadavg()[0]
        finally:
            process.stop(10)
    return result


def run(messages: int, batch: int, latency_ms: float, pool_size: int,
        sender: str = "send_each") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="loa-fcm-bench-") as tmp:
        process, ready = start_standin(Path(tmp), latency_ms)
        try:
            content = CONTENT
            with PushGateway(ready["service_account"], endpoint=ready["endpoint"],
                             pool_size=pool_size, sender=sender) as gateway:
                gateway.send_one("warm-up", content)  # token fetch, first connections
                sent = 0
                cpu = time.process_time()
                started = time.perf_counter()
                for start in range(0, messages, batch):
                    chunk = [PushMessage(str(i), f"bench-{i}", content)
                             for i in range(start, min(start + batch, messages))]
                    sent += sum(o.status is PushStatus.SENT for o in gateway.send_batch(chunk))
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu
            with urllib.request.urlopen(ready["endpoint"] + "/_standin/counters") as response:
                counters = json.loads(response.read())
                received = counters["sent"] - 1
            standin_cpu = proc_cpu_seconds(process.pid)
        finally:
            process.stop(10)
    return {
        "messages": messages, "sent": sent, "received_by_standin": received,
        "seconds": round(elapsed, 2), "msg_per_s": round(messages / elapsed),
        "client_cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "cpu_ms_per_msg": round(cpu / messages * 1000, 3),
        "standin_cpu_s": round(standin_cpu, 1),
        "connections": counters["connections"],
        "batch": batch, "pool_size": pool_size, "latency_ms": latency_ms,
        "sender": sender,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--pool-size", type=int, default=500)  # as dispatch.push.config
    parser.add_argument("--sender", default="send_each", choices=SENDERS,
                        help="how the gateway sends (gateways.fcm.SENDERS)")
    parser.add_argument("--compare-env", action="store_true")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if args.compare_env:
        print(json.dumps(compare_env(args.messages, args.batch, args.pool_size, args.rounds)))
        return 0
    print(json.dumps(run(args.messages, args.batch, args.latency_ms, args.pool_size,
                         args.sender)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
