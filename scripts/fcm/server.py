"""A local FCM stand-in speaking the HTTP v1 wire format, with an OAuth2 token endpoint.

Routes:
  POST /token                                  OAuth2 JWT-bearer grant -> {"access_token", …}
  POST /v1/projects/{project}/messages:send    {"message": {…}} -> {"name": "projects/…/messages/…"}
  GET  /_standin/counters                      the counters as JSON
  GET  /_standin/messages?limit=N              the last messages received (at most 1,000 kept)
  POST /_standin/reset                         zero the counters, forget the messages
  POST /_standin/config                        {"refuse_auth", "deny_send", "latency_ms",
                                                "revoke_tokens": true} (any subset)
  GET  /healthz

Errors use FCM's body, `{"error": {"code", "message", "status", "details": [{"@type":
"type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": …}]}}`, chosen by the
token's (or topic's) prefix: see INJECTED. `quota-30-…` answers 429 with `Retry-After: 30`
(60 when no number), `unavailable-5-…` a 503 with `Retry-After: 5`, `slow-1500-…` succeeds
after 1.5 s. `refuse_auth` makes the token endpoint answer 400 invalid_grant (a deleted key);
`revoke_tokens` forgets the access tokens already issued (sends then get 401); `deny_send`
answers 403 PERMISSION_DENIED to every send (the account lacks the FCM role).

Over HTTP/1.1, a successful send's token may also start with any of WIRE's prefixes, to try a
client's reading of the wire: `cut-` takes the message (it counts as sent) and resets the
connection without answering; `close-` answers with `Connection: close` and closes; `drop-`
answers keep-alive, then closes the connection as a server does with an idle one; `chunked-`
answers in chunked transfer encoding; `gzip-` gzips the answer when the request accepts it.
They combine in any order (`chunked-gzip-close-1`); HTTP/2 ignores them.

One asyncio event loop serves every connection, HTTP/1.1 keep-alive and HTTP/2 with prior
knowledge (h2c, what the gateway's async path speaks to an http:// endpoint) on the same port,
told apart by the first line: send_each's 500 concurrent threads are 500 connections, none of
which costs a thread here; send_each_async's 500 streams share one HTTP/2 connection (httpx
keeps 100 in flight, the MAX_CONCURRENT_STREAMS announced here as Google does). It runs in its
own thread (`FcmStandIn.start()`, for tests) or as the main loop of `python -m scripts.fcm serve`.
The in-process API (`counters()`, `refuse_auth = True`, …) is safe from any thread.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from scripts.fcm.keys import (
    JWT_BEARER,
    InvalidGrant,
    TrustedKey,
    generate_service_account,
    trusted_key,
    verify_assertion,
)

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
SEND_ROUTE = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
MAX_PAYLOAD, MAX_TOPIC_PAYLOAD = 4096, 2048
KEEP_MESSAGES = 1000
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_CONFIG = h2.config.H2Configuration(client_side=False, header_encoding=None)
H2_MAX_STREAMS = 100  # what Google's front ends announce; the client opens more connections

# prefix -> (HTTP status, canonical status, FCM errorCode, message)
INJECTED: dict[str, tuple[int, str, str, str]] = {
    "unregistered-": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "mismatch-": (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
    "quota-": (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED",
               "Quota exceeded for quota metric 'Send requests' of service fcm.googleapis.com"),
    "unavailable-": (503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    "internal-": (500, "INTERNAL", "INTERNAL", "Internal error encountered."),
    "invalid-": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                 "The registration token is not a valid FCM registration token"),
    "thirdparty-": (401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR",
                    "Auth error from APNS or Web Push Service"),
}
DEFAULT_RETRY_AFTER = {"quota-": 60}
WIRE = ("cut-", "close-", "drop-", "chunked-", "gzip-")  # see the module docstring
CHUNK = 16  # bytes per chunk of a `chunked-` answer, so that even a short one has several
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}

Reply = tuple[int, dict[str, str], Any]


def _error(status: int, canonical: str, message: str, fcm_code: str | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": canonical}
    if fcm_code:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}]
    return status, {}, {"error": error}


def _payload_size(message: dict[str, Any]) -> int:
    body = {k: message[k] for k in ("notification", "data") if message.get(k)}
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


class FcmStandIn:
    """The stand-in server and its in-process control and counters API."""

    def __init__(self, project_id: str = "loa-demo", host: str = "127.0.0.1", port: int = 0,
                 *, latency: float = 0.0) -> None:
        self.project_id = project_id
        self.host = host
        self.port = port
        self.latency = latency  # seconds added to every send, to play a far-away FCM
        self.refuse_auth = False
        self.deny_send = False
        self._keys: dict[str, TrustedKey] = {}
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._names = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.reset()

    # ---- control -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def write_service_account(self, path: str | Path) -> Path:
        """Generate a key, trust it, and write its service-account JSON to `path`."""
        info = generate_service_account(path, token_uri=self.token_uri, project_id=self.project_id)
        self.trust(info)
        return Path(path)

    def trust(self, info: dict[str, Any] | str | Path) -> None:
        """Accept JWTs signed with this service account's key (a dict or a JSON path)."""
        data = info if isinstance(info, dict) else json.loads(Path(info).read_text("utf-8"))
        key = trusted_key(data)
        with self._lock:
            self._keys[key.key_id] = key

    def revoke_tokens(self) -> None:
        """Forget every access token issued so far (sends with them get 401)."""
        with self._lock:
            self._tokens.clear()

    def reset(self) -> None:
        """Zero the counters and forget the messages kept."""
        with self._lock:
            self._counts: Counter[str] = Counter()
            self._by_token: Counter[str] = Counter()
            self._by_topic: Counter[str] = Counter()
            self._by_condition: Counter[str] = Counter()
            self._errors: Counter[str] = Counter()
            self._messages: collections.deque[dict[str, Any]] = collections.deque(
                maxlen=KEEP_MESSAGES)

    def counters(self) -> dict[str, Any]:
        """Return a snapshot: totals, errors by code, sends per token/topic/condition."""
        with self._lock:
            return {
                **{k: self._counts[k] for k in ("requests", "sent", "failed", "token_requests",
                                                 "tokens_issued", "tokens_refused",
                                                 "unauthenticated", "connections",
                                                 "h2_connections")},
                "errors": dict(self._errors),
                "by_token": dict(self._by_token),
                "by_topic": dict(self._by_topic),
                "by_condition": dict(self._by_condition),
            }

    def messages(self, limit: int = KEEP_MESSAGES) -> list[dict[str, Any]]:
        """Return the last messages received (the request bodies' `message`), oldest first."""
        with self._lock:
            return list(self._messages)[-limit:] if limit > 0 else []

    # ---- running -------------------------------------------------------------------------
    def start(self) -> FcmStandIn:
        """Serve from a background thread; return once the port is listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self.serve(ready))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="fcm-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> FcmStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def serve(self, ready: threading.Event | None = None) -> None:
        """Serve until stop(); usable as the main coroutine of a process."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, self.host, self.port,
                                            backlog=2048, limit=1 << 20)
        self.port = server.sockets[0].getsockname()[1]
        if ready is not None:
            ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for writer in list(self._writers):
                writer.close()

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with self._lock:
            self._counts["connections"] += 1
        try:
            first = await reader.readuntil(b"\r\n")
            if first == H2_PREFACE[:len(first)]:
                await reader.readexactly(len(H2_PREFACE) - len(first))
                with self._lock:
                    self._counts["h2_connections"] += 1
                await self._h2_connection(reader, writer)
            else:
                await self._http1_connection(first, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError, asyncio.CancelledError, h2.exceptions.ProtocolError):
            pass  # the client went away, sent garbage, or the server is stopping
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _http1_connection(self, first: bytes, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        head = first  # the request line, read to tell HTTP/1.1 from HTTP/2
        while not head.endswith(b"\r\n\r\n"):
            head += await reader.readuntil(b"\r\n")
        while True:
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            reply: Reply = (501, {}, {"error": "chunked bodies are not supported"})
            if "chunked" not in headers.get("transfer-encoding", "").lower():
                reply = await self._route(method, target, headers, body)
            status, extra, payload = reply
            extra = dict(extra)
            wire = set(extra.pop(":wire", "").split(","))
            if "cut" in wire:
                writer.transport.abort()  # taken, never answered
                return
            keep = (version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                    and "close" not in wire)
            data = json.dumps(payload, ensure_ascii=False).encode()
            if "gzip" in wire and "gzip" in headers.get("accept-encoding", "").lower():
                data = gzip.compress(data)
                extra["Content-Encoding"] = "gzip"
            if "chunked" in wire:
                extra["Transfer-Encoding"] = "chunked"
                data = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + CHUNK]), data[i:i + CHUNK])
                                for i in range(0, len(data), CHUNK)) + b"0\r\n\r\n"
            else:
                extra["Content-Length"] = str(len(data))
            head_out = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                        "Content-Type: application/json; charset=UTF-8",
                        "Connection: keep-alive" if keep else "Connection: close",
                        *(f"{k}: {v}" for k, v in extra.items())]
            writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode("latin-1") + data)
            await writer.drain()
            if not keep or "drop" in wire:
                break
            head = await reader.readuntil(b"\r\n\r\n")

    async def _h2_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        """HTTP/2 with prior knowledge (h2c), as the SDK's async client speaks it here.

        Each stream is answered by its own task, so a slow or latency-delayed send does not
        hold the others (FCM answers streams out of order too). Responses wait for flow-control
        window when the client has not opened enough of it.
        """
        conn = h2.connection.H2Connection(H2_CONFIG)
        conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: H2_MAX_STREAMS})
        conn.initiate_connection()
        conn.receive_data(H2_PREFACE)
        writer.write(conn.data_to_send())
        requests: dict[int, tuple[list[tuple[bytes, bytes]], bytearray]] = {}
        unsent: dict[int, bytes] = {}  # stream -> body waiting for window
        tasks: set[asyncio.Task[None]] = set()

        def flush(stream_id: int) -> None:
            data = unsent.pop(stream_id, b"")
            if not data:
                return
            room = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            if room < len(data):
                if room > 0:
                    conn.send_data(stream_id, data[:room])
                unsent[stream_id] = data[room:]
            else:
                conn.send_data(stream_id, data, end_stream=True)

        async def answer(stream_id: int, headers: list[tuple[bytes, bytes]],
                         body: bytes) -> None:
            fields = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}
            request_headers = {k: v for k, v in fields.items() if not k.startswith(":")}
            status, extra, payload = await self._route(
                fields.get(":method", ""), fields.get(":path", ""), request_headers, body)
            data = json.dumps(payload, ensure_ascii=False).encode()
            try:
                conn.send_headers(stream_id, [
                    (":status", str(status)),
                    ("content-type", "application/json; charset=UTF-8"),
                    ("content-length", str(len(data))),
                    *((k.lower(), v) for k, v in extra.items() if not k.startswith(":"))])
                unsent[stream_id] = data
                flush(stream_id)
                writer.write(conn.data_to_send())
            except h2.exceptions.StreamClosedError:
                unsent.pop(stream_id, None)  # the client reset it meanwhile

        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        requests[event.stream_id] = (list(event.headers), bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        if event.stream_id in requests:
                            requests[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        got = requests.pop(event.stream_id, None)
                        if got is not None:
                            task = asyncio.create_task(
                                answer(event.stream_id, got[0], bytes(got[1])))
                            tasks.add(task)
                            task.add_done_callback(tasks.discard)
                    elif isinstance(event, h2.events.StreamReset):
                        requests.pop(event.stream_id, None)
                        unsent.pop(event.stream_id, None)
                    elif isinstance(event, h2.events.WindowUpdated):
                        for stream_id in [event.stream_id] if event.stream_id else list(unsent):
                            flush(stream_id)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                writer.write(conn.data_to_send())
                await writer.drain()
        finally:
            for task in tasks:
                task.cancel()

    async def _route(self, method: str, target: str, headers: dict[str, str],
                     body: bytes) -> Reply:
        split = urlsplit(target)
        path = split.path
        match = SEND_ROUTE.match(path)
        if match and method == "POST":
            return await self._send(match.group(1), headers, body)
        if path == "/token" and method == "POST":
            return self._token(body)
        if path == "/_standin/counters" and method == "GET":
            return 200, {}, self.counters()
        if path == "/_standin/messages" and method == "GET":
            limit = int(parse_qs(split.query).get("limit", [str(KEEP_MESSAGES)])[0])
            return 200, {}, self.messages(limit)
        if path == "/_standin/reset" and method == "POST":
            self.reset()
            return 200, {}, {"ok": True}
        if path == "/_standin/config" and method == "POST":
            return self._configure(body)
        if path == "/healthz":
            return 200, {}, {"ok": True, "project": self.project_id}
        return _error(404, "NOT_FOUND", f"no route for {method} {path}")

    def _configure(self, body: bytes) -> Reply:
        try:
            config = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "config must be JSON")
        if "refuse_auth" in config:
            self.refuse_auth = bool(config["refuse_auth"])
        if "deny_send" in config:
            self.deny_send = bool(config["deny_send"])
        if "latency_ms" in config:
            self.latency = float(config["latency_ms"]) / 1000
        if config.get("revoke_tokens"):
            self.revoke_tokens()
        return 200, {}, {"refuse_auth": self.refuse_auth, "deny_send": self.deny_send,
                         "latency_ms": self.latency * 1000}

    def _token(self, body: bytes) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self._lock:
            self._counts["token_requests"] += 1
        if form.get("grant_type") != JWT_BEARER:
            return 400, {}, {"error": "unsupported_grant_type",
                             "error_description": "Invalid grant_type"}
        try:
            if self.refuse_auth:
                raise InvalidGrant("Invalid JWT Signature.")
            with self._lock:
                keys = dict(self._keys)
            verify_assertion(form.get("assertion", ""), keys)
        except InvalidGrant as exc:
            with self._lock:
                self._counts["tokens_refused"] += 1
            return 400, {}, {"error": "invalid_grant", "error_description": str(exc)}
        token = "ya29.loa-standin-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
            self._counts["tokens_issued"] += 1
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    async def _send(self, project: str, headers: dict[str, str], body: bytes) -> Reply:
        auth = headers.get("authorization", "")
        bearer = auth[7:] if auth.lower().startswith("bearer ") else ""
        with self._lock:
            self._counts["requests"] += 1
            known = bearer in self._tokens
            if not known:
                self._counts["unauthenticated"] += 1
        if not known:
            return _error(401, "UNAUTHENTICATED",
                          "Request had invalid authentication credentials. Expected OAuth 2 "
                          "access token, login cookie or other valid authentication credential.")
        if self.deny_send or project != self.project_id:
            return self._fail(_error(
                403, "PERMISSION_DENIED",
                f"Permission 'cloudmessaging.messages.create' denied on resource "
                f"'//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist)."
            ))
        try:
            request = json.loads(body)
            message = request["message"]
            if not isinstance(message, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self._fail(_error(400, "INVALID_ARGUMENT",
                                     "Invalid JSON payload received.", "INVALID_ARGUMENT"))
        targets = [k for k in ("token", "fid", "topic", "condition") if message.get(k)]
        if len(targets) != 1:
            return self._fail(_error(400, "INVALID_ARGUMENT",
                                     "Exactly one of token, topic or condition must be set.",
                                     "INVALID_ARGUMENT"))
        kind, target = targets[0], str(message[targets[0]])
        with self._lock:
            {"topic": self._by_topic, "condition": self._by_condition}.get(
                kind, self._by_token)[target] += 1
            self._messages.append(message)
        data = message.get("data") or {}
        if not all(isinstance(v, str) for v in data.values()):
            return self._fail(_error(400, "INVALID_ARGUMENT",
                                     "Invalid value at 'message.data': values must be strings",
                                     "INVALID_ARGUMENT"))
        limit = MAX_TOPIC_PAYLOAD if kind in ("topic", "condition") else MAX_PAYLOAD
        if _payload_size(message) > limit:
            return self._fail(_error(400, "INVALID_ARGUMENT", "Message is too big",
                                     "INVALID_ARGUMENT"))
        delay = self.latency
        extra: dict[str, str] = {}
        for prefix, (status, canonical, code, text) in INJECTED.items():
            if target.startswith(prefix):
                extra = {}
                number = re.match(r"(\d+)-", target[len(prefix):])
                seconds = int(number.group(1)) if number else DEFAULT_RETRY_AFTER.get(prefix)
                if seconds is not None and status in (429, 503):
                    extra["Retry-After"] = str(seconds)
                if delay:
                    await asyncio.sleep(delay)
                reply = _error(status, canonical, text, code)
                return self._fail((reply[0], extra, reply[2]))
        slow = re.match(r"slow-(\d+)-", target)
        if slow:
            delay += int(slow.group(1)) / 1000
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            self._counts["sent"] += 1
        wire = []
        rest = target
        while prefix := next((p for p in WIRE if rest.startswith(p)), None):
            wire.append(prefix[:-1])
            rest = rest[len(prefix):]
        extra = {":wire": ",".join(wire)} if wire else {}
        if request.get("validate_only"):
            return 200, extra, {"name": f"projects/{project}/messages/fake_message_id"}
        name = f"0:{int(time.time() * 1000)}%{next(self._names):x}{secrets.token_hex(4)}"
        return 200, extra, {"name": f"projects/{project}/messages/{name}"}

    def _fail(self, reply: Reply) -> Reply:
        code = reply[2]["error"].get("details", [{}])[0].get("errorCode") or reply[2]["error"][
            "status"]
        with self._lock:
            self._counts["failed"] += 1
            self._errors[code] += 1
        return reply
