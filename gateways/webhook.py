"""One signed HTTP POST to a webhook receiver: transport only (no Flask, no database).

The caller gives the URL an admin configured, the exact body and the secret; this module signs,
sends and reports what happened. It never follows a redirect (a 3xx is an answer like any
other: not a success), it has a connect and a read timeout, and it reads at most `max_body`
bytes of the answer (a receiver, or whatever sits at that URL, cannot make Loa read a huge
body into memory).

Signature: `X-Loa-Signature: sha256=<hex>` where hex is HMAC-SHA256, keyed with the hook's
secret, of `<X-Loa-Timestamp>.<body>` (the timestamp's decimal digits, a dot, the exact body
bytes). Signing the timestamp with the body lets a receiver refuse old requests (a replay)
without trusting an unsigned header.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import time
import urllib.parse
from dataclasses import dataclass

USER_AGENT = "Loa-Webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Loa-Signature value of `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, given: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), given)


@dataclass(frozen=True, slots=True)
class PostResult:
    ok: bool  # a 2xx answer
    status: int | None  # the HTTP status, None when no answer came
    error: str | None  # why it is not ok: "http_500", "timeout", "connect: …", "redirect_302"
    duration_ms: int
    body: bytes  # the first bytes of the answer (at most max_body)


def post(url: str, body: bytes, headers: dict[str, str], *, connect_timeout: float = 5.0,
         read_timeout: float = 10.0, max_body: int = 4096) -> PostResult:
    """POST `body` to `url` once; never raises for what the network or the receiver does."""
    started = time.monotonic()

    def done(status: int | None, error: str | None, answer: bytes = b"") -> PostResult:
        ok = error is None and status is not None and 200 <= status < 300
        return PostResult(ok, status, error, int((time.monotonic() - started) * 1000), answer)

    parts = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=connect_timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            return done(None, _describe("connect", exc))
        if conn.sock is not None:
            conn.sock.settimeout(read_timeout)
        try:
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT,
                "Connection": "close", **headers})
            response = conn.getresponse()
            answer = response.read(max_body)  # bounded: the rest is never read
        except (OSError, http.client.HTTPException) as exc:
            return done(None, _describe("read", exc))
        status = response.status
        if 300 <= status < 400:
            return done(status, f"redirect_{status}", answer)  # never followed
        if not 200 <= status < 300:
            return done(status, f"http_{status}", answer)
        return done(status, None, answer)
    finally:
        conn.close()


def _describe(stage: str, exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timeout"
    return f"{stage}: {type(exc).__name__}: {exc}"[:200]
