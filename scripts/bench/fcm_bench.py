"""Baseline: one process calling send_each in a plain loop against the local FCM stand-in.

    .venv/bin/python -m scripts.bench.fcm_bench [--messages 20000] [--batch 500]
                                                [--latency-ms 0] [--pool-size 100]

The stand-in runs as its own process (so it does not share this process's GIL). Prints one
JSON line: messages, seconds, messages per second, peak RSS of this process. This is the
number the issue's worker benchmark compares its two-worker run with.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from gateways.fcm import PushContent, PushGateway, PushMessage, PushStatus

ROOT = Path(__file__).resolve().parents[2]


def start_standin(workdir: Path, latency_ms: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `python -m scripts.fcm serve` on a free port; return it and its ready line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.fcm", "serve", "--port", "0", "--project", "loa-bench",
         "--service-account", str(workdir / "service-account.json"),
         "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def _cpu_seconds(pid: int) -> float:
    """Return the user+system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(messages: int, batch: int, latency_ms: float, pool_size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="loa-fcm-bench-") as tmp:
        process, ready = start_standin(Path(tmp), latency_ms)
        try:
            content = PushContent(title="Thông báo khẩn",
                                  body="Triều cường lúc 17 giờ, đề nghị người dân chú ý.",
                                  link="haugiang://tin/1", priority="high")
            with PushGateway(ready["service_account"], endpoint=ready["endpoint"],
                             pool_size=pool_size) as gateway:
                gateway.send_one("warm-up", content)  # token fetch, first connections
                sent = 0
                started = time.perf_counter()
                for start in range(0, messages, batch):
                    chunk = [PushMessage(str(i), f"bench-{i}", content)
                             for i in range(start, min(start + batch, messages))]
                    sent += sum(o.status is PushStatus.SENT for o in gateway.send_batch(chunk))
                elapsed = time.perf_counter() - started
            with urllib.request.urlopen(ready["endpoint"] + "/_standin/counters") as response:
                counters = json.loads(response.read())
                received = counters["sent"] - 1
            standin_cpu = _cpu_seconds(process.pid)
        finally:
            process.terminate()
            process.wait(10)
    return {
        "messages": messages, "sent": sent, "received_by_standin": received,
        "seconds": round(elapsed, 2), "msg_per_s": round(messages / elapsed),
        "client_cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "standin_cpu_s": round(standin_cpu, 1),
        "connections": counters["connections"],
        "batch": batch, "pool_size": pool_size, "latency_ms": latency_ms,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--pool-size", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(run(args.messages, args.batch, args.latency_ms, args.pool_size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
