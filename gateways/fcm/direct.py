"""The "direct" sender: FCM's HTTP v1 requests written by hand on long-lived HTTP/1.1 connections.

The SDK's own paths spend most of a send's CPU in requests/urllib3 (or httpx/h2) and in
encoding each message: for a batch of 500 copies of one notification that differ only by the
token, that is 500 encodings of the same JSON and 500 trips through a general-purpose HTTP
client. Here the SDK still does what it is good at — the service-account credential (the
gateway's), the JSON of a message (`_MessagingService.encode_message`, once per content per
batch), the meaning of FCM's error bodies (the gateway's `_outcome`, through the SDK's
parser) — and this module does the wire:

- `body_tail` encodes a message once; each token is spliced in as its own JSON string
  (`json.dumps`, so a quote or a backslash in a token is escaped as the SDK would);
- a fixed pool of sender threads, each with one connection kept for the life of the gateway
  (TLS to Google, plain HTTP to a stand-in or relay), the request head built once per set of
  auth headers, the answer read with its length, chunked or to the close, gzip decoded;
- never twice: a connection that closed while idle is replaced before anything is written; a
  request whose connect or write failed (nothing complete reached the server) is tried once
  more on a fresh connection, then given up as `NotSent` (RETRY); once it is written, a cut or
  a timeout comes back as it is (UNKNOWN), never resent.

Proxy and CA settings are read from the environment once, as the other senders do
(`environ_proxy`, `environ_ca`): an http:// proxy (with user:password, sent as Basic
Proxy-Authorization) is used as a forward proxy to an http:// endpoint and through CONNECT to
an https:// one. Not supported, and refused at start: https:// or socks proxies. No HTTP/2, no
redirects (a 3xx is an FCM error like any other), no client certificates.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import select
import socket
import ssl
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import firebase_admin
from firebase_admin import messaging

from gateways.fcm.http2 import environ_ca, environ_proxy

HEAD = b'{"message":{"token":'  # every body starts so; the token's JSON string follows
MAX_HEAD = 64 * 1024  # bytes of status line and headers an answer may have
# Bytes of body an answer may have, as sent and once decoded: FCM's are a few hundred. A relay
# or an endpoint gone wrong that sends more (a length of gigabytes, a gzip bomb, an endless
# stream) gets the answer called unreadable (UNKNOWN) instead of the worker's memory.
MAX_BODY = 1024 * 1024
READ_SIZE = 64 * 1024
PLACEHOLDER = "loa-token"


class NotSent(ConnectionError):
    """The request could not be written, on two connections: FCM cannot have taken it."""


class Cut(ConnectionError):
    """The request was written, then the answer did not come whole: FCM may have taken it."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer: its status, its headers (names lower-cased) and its decoded body."""

    status: int
    headers: dict[str, str]
    body: bytes


Result = Answer | NotSent | Cut | TimeoutError


def check_sdk(service: Any) -> None:
    """Fail at start if the SDK internals this sender relies on have moved."""
    if (not callable(getattr(messaging._MessagingService, "encode_message", None))
            or not isinstance(getattr(service, "_fcm_headers", None), dict)
            or not callable(getattr(service, "_handle_fcm_error", None))):
        raise RuntimeError(
            f"firebase-admin {firebase_admin.__version__}: messaging._MessagingService no longer "
            "has encode_message / _fcm_headers / _handle_fcm_error; update gateways/fcm/direct.py "
            "for this version"
        )


def body_tail(message: messaging.Message, dry_run: bool) -> bytes:
    """Encode `message` (built for any token) once: what follows the token in every body.

    A body is HEAD + json.dumps(token) + tail, the JSON requests would post for the SDK
    (`{"message": {…, "token": …}, "validate_only": true}`), keys in another order.
    """
    encoded = dict(messaging._MessagingService.encode_message(message))
    encoded.pop("token", None)
    rest = json.dumps(encoded, separators=(",", ":"), allow_nan=False)
    tail = ("," + rest[1:]) if encoded else "}"
    return (tail + (',"validate_only":true}' if dry_run else "}")).encode()


def body(token: str, tail: bytes) -> bytes:
    return HEAD + json.dumps(token).encode() + tail


class DirectSender:
    """A pool of `threads` sender threads, each keeping one connection to the endpoint."""

    def __init__(self, url: str, *, timeout: float, threads: int,
                 headers: Mapping[str, str]) -> None:
        self._origin = _Origin(url, timeout)
        self._headers = dict(headers)
        self._heads: dict[tuple[tuple[str, str], ...], bytes] = {}
        self._jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name=f"loa-fcm-direct-{n}",
                                          daemon=True) for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def send(self, auth: Mapping[str, str], bodies: Sequence[bytes]) -> list[Result]:
        """POST every body with the `auth` headers; one result per body, in order."""
        key = tuple(auth.items())
        head = self._heads.get(key)
        if head is None:
            self._heads.clear()  # an old token's head is never needed again
            head = self._heads[key] = self._origin.request_head({**self._headers, **auth})
        results: list[Result | None] = [None] * len(bodies)
        done: queue.SimpleQueue[None] = queue.SimpleQueue()
        for i, data in enumerate(bodies):
            self._jobs.put((results, i, head, data, done))
        for _ in bodies:
            done.get()
        return results  # type: ignore[return-value]  # every slot filled

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(10)

    def _serve(self) -> None:
        link = _Link(self._origin)
        try:
            while (job := self._jobs.get()) is not None:
                results, i, head, data, done = job
                try:
                    results[i] = link.exchange(head, data)
                except BaseException as exc:  # a bug here must not hang the batch
                    link.close()
                    results[i] = Cut(f"sender failed: {exc!r}")
                done.put(None)
        finally:
            link.close()


class _Origin:
    """Where the connections go, read once: endpoint, proxy, TLS context, request target."""

    def __init__(self, url: str, timeout: float) -> None:
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"direct sender: cannot post to {url!r}")
        self.timeout = timeout
        self.tls = split.scheme == "https"
        self.host = split.hostname
        self.port = split.port or (443 if self.tls else 80)
        default = 443 if self.tls else 80
        self.authority = self.host if self.port == default else f"{self.host}:{self.port}"
        self.path = split.path + (f"?{split.query}" if split.query else "")
        self.context: ssl.SSLContext | None = None
        if self.tls:
            ca = environ_ca()
            self.context = (ca if isinstance(ca, ssl.SSLContext)
                            else ssl.create_default_context(cafile=certifi.where()))
            self.context.set_alpn_protocols(["http/1.1"])
        self.proxy: tuple[str, int] | None = None
        self.proxy_auth: str | None = None
        proxy = environ_proxy(url)
        if proxy:
            p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if p.scheme != "http" or not p.hostname:
                raise ValueError(f"direct sender: only http:// proxies are supported, not {proxy}")
            self.proxy = (p.hostname, p.port or 80)
            if p.username is not None:
                login = f"{unquote(p.username)}:{unquote(p.password or '')}"
                self.proxy_auth = "Basic " + base64.b64encode(login.encode()).decode()

    def request_head(self, headers: Mapping[str, str]) -> bytes:
        """The request line and headers, up to the Content-Length."""
        forward = self.proxy is not None and not self.tls  # a forward proxy wants the full URL
        target = f"http://{self.authority}{self.path}" if forward else self.path
        lines = [f"POST {target} HTTP/1.1", f"Host: {self.authority}",
                 "Content-Type: application/json", "Accept-Encoding: gzip"]
        if forward and self.proxy_auth:
            lines.append(f"Proxy-Authorization: {self.proxy_auth}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        text = "\r\n".join(lines) + "\r\n"
        if any(c in value for value in headers.values() for c in "\r\n"):
            raise ValueError("a header value holds a line break")
        return text.encode("latin-1")

    def connect(self) -> socket.socket:
        """A new connection, through the proxy's tunnel and TLS when they apply."""
        where = self.proxy or (self.host, self.port)
        sock = socket.create_connection(where, timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.proxy is not None and self.tls:
                self._tunnel(sock)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return sock

    def _tunnel(self, sock: socket.socket) -> None:
        lines = [f"CONNECT {self.host}:{self.port} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.proxy_auth:
            lines.append(f"Proxy-Authorization: {self.proxy_auth}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        reader = _Reader(sock)
        status, _, _ = reader.head()
        if not 200 <= status < 300 or reader.buffer:
            raise OSError(f"proxy refused the tunnel to {self.host}:{self.port}: {status}")


class _Reader:
    """Answers read from one socket through one buffer (no email.parser, no file object)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        chunk = self.sock.recv(READ_SIZE)
        if not chunk:
            raise Cut("the connection closed before the answer ended")
        self.buffer += chunk

    def head(self) -> tuple[int, bytes, dict[str, str]]:
        """The status, HTTP version and headers of the next final answer (1xx skipped)."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            while end < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise Cut("the answer's headers never ended")
                self._fill()
                end = self.buffer.find(b"\r\n\r\n")
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            del self.buffer[:end + 4]
            version, _, rest = lines[0].partition(b" ")
            if not version.startswith(b"HTTP/1."):
                raise Cut(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
            status = int(rest[:3])
            if status >= 200 or status == 101:
                break
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return status, version, headers

    def exactly(self, n: int) -> bytes:
        if n < 0:
            raise ValueError(f"a negative length: {n}")
        if n > MAX_BODY:
            raise Cut(f"an answer of {n} bytes: more than {MAX_BODY}")
        while len(self.buffer) < n:
            self._fill()
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def line(self) -> bytes:
        end = self.buffer.find(b"\r\n")
        while end < 0:
            if len(self.buffer) > MAX_HEAD:
                raise Cut("a chunk line never ended")
            self._fill()
            end = self.buffer.find(b"\r\n")
        data = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return data

    def chunked(self) -> bytes:
        parts, total = [], 0
        while size := int(self.line().split(b";", 1)[0].strip(), 16):
            total += size
            if total > MAX_BODY:
                raise Cut(f"a chunked answer of more than {MAX_BODY} bytes")
            parts.append(self.exactly(size))
            if self.exactly(2) != b"\r\n":
                raise Cut("a chunk did not end with CRLF")
        while self.line():  # trailers, up to the empty line
            pass
        return b"".join(parts)

    def to_close(self) -> bytes:
        while len(self.buffer) <= MAX_BODY:
            try:
                self._fill()
            except Cut:
                break
        else:
            raise Cut(f"an answer of more than {MAX_BODY} bytes")
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _decoded(data: bytes, *, gzip_wrapped: bool) -> bytes:
    """A gzip or zlib body decoded, refused past MAX_BODY (a small body can inflate to
    gigabytes)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip_wrapped else zlib.MAX_WBITS)
    out = inflater.decompress(data, MAX_BODY + 1)
    if len(out) > MAX_BODY:
        raise Cut(f"an answer of more than {MAX_BODY} bytes once decoded")
    if not inflater.eof:
        raise zlib.error("the compressed answer ended early")
    return out


class _Link:
    """One sender thread's connection, opened when first needed and again after a close."""

    def __init__(self, origin: _Origin) -> None:
        self._origin = origin
        self._sock: socket.socket | None = None
        self._reader: _Reader | None = None
        self._poll = select.poll()

    def exchange(self, head: bytes, body: bytes) -> Result:
        data = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        failure: OSError | None = None
        for _ in range(2):
            try:
                if self._sock is not None and self._closed_while_idle():
                    self.close()
                if self._sock is None:
                    self._open()
                assert self._sock is not None
                self._sock.sendall(data)
                break
            except OSError as exc:
                # Not connected, or the request not wholly written: the server has no complete
                # request (its length says so), so it cannot have acted on it.
                self.close()
                failure = exc
        else:
            return NotSent(f"could not send to {self._origin.authority}: {failure}")
        try:
            return self._answer()
        except TimeoutError as exc:
            self.close()
            return exc
        except (OSError, ValueError, EOFError, zlib.error) as exc:  # Cut is an OSError
            self.close()
            return exc if isinstance(exc, Cut) else Cut(f"unreadable answer: {exc!r}")

    def _answer(self) -> Answer:
        reader = self._reader
        assert reader is not None
        status, version, headers = reader.head()
        keep = version == b"HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            data = reader.chunked()
        elif "content-length" in headers:
            data = reader.exactly(int(headers["content-length"]))
        elif status in (204, 304):
            data = b""
        else:
            data, keep = reader.to_close(), False
        encoding = headers.get("content-encoding", "").lower()
        if encoding in ("gzip", "deflate"):
            data = _decoded(data, gzip_wrapped=encoding == "gzip")
        elif encoding not in ("", "identity"):
            raise ValueError(f"answer in an encoding not asked for: {encoding}")
        if not keep or reader.buffer:  # told to close, or bytes no request asked for
            self.close()
        return Answer(status, headers, data)

    def _open(self) -> None:
        self._sock = self._origin.connect()
        self._reader = _Reader(self._sock)
        self._poll.register(self._sock, select.POLLIN)

    def _closed_while_idle(self) -> bool:
        """An idle connection with something to read has been closed (or spoke out of turn)."""
        assert self._sock is not None
        if not self._poll.poll(0):
            return False
        self._sock.setblocking(False)
        try:
            self._sock.recv(1)
        except (BlockingIOError, ssl.SSLWantReadError):
            return False  # TLS records of no interest (a session ticket): still open
        except OSError:
            return True
        finally:
            if self._sock.fileno() >= 0:
                self._sock.settimeout(self._origin.timeout)
        return True

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._poll.unregister(self._sock)
            self._sock.close()
        self._sock = self._reader = None
