"""The proxy settings a gateway reads from the environment once, when it is built, still apply.

A real forwarding HTTP proxy on loopback stands between the gateway and the FCM stand-in, so
the test sees which sends went through it.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from firebase_admin import messaging

from gateways.fcm import PushContent, PushGateway, PushMessage, PushStatus
from scripts.fcm import FcmStandIn

CONTENT = PushContent(title="Thông báo", body="Cắt điện khu vực 3 từ 8 giờ")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class _Forward(BaseHTTPRequestHandler):
    """Forward each absolute-URI request to its origin and relay the answer (keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: _Proxy

    def do_POST(self) -> None:
        target = urlsplit(self.path)  # a proxy is sent the absolute URL
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "proxy-connection", "connection")}
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        try:
            upstream.request("POST", target.path + (f"?{target.query}" if target.query else ""),
                             body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        with self.server.lock:
            self.server.paths.append(target.path)
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.lock = threading.Lock()
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def sends(self) -> int:
        with self.lock:
            return sum(path.endswith("/messages:send") for path in self.paths)


@pytest.fixture()
def proxy() -> Iterator[_Proxy]:
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _send(gateway: PushGateway, *tokens: str) -> list[PushStatus]:
    return [o.status for o in gateway.send_batch(
        [PushMessage(str(i), token, CONTENT) for i, token in enumerate(tokens)])]


def test_proxy_read_at_build_applies_to_every_send(
        fcm: FcmStandIn, service_account: Path, proxy: _Proxy,
        clean_env: pytest.MonkeyPatch, sender: str) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender=sender) as gateway:
        # Gone from the environment after the build: the gateway keeps what it read.
        clean_env.delenv("HTTP_PROXY")
        assert _send(gateway, "a", "b", "unregistered-c") == [
            PushStatus.SENT, PushStatus.SENT, PushStatus.DEAD_TOKEN]
    assert proxy.sends() == 3
    assert fcm.counters()["by_token"] == {"a": 1, "b": 1, "unregistered-c": 1}


def test_no_proxy_for_the_endpoint_is_honoured(
        fcm: FcmStandIn, service_account: Path, proxy: _Proxy,
        clean_env: pytest.MonkeyPatch, sender: str) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", "127.0.0.1")
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender=sender) as gateway:
        assert _send(gateway, "a") == [PushStatus.SENT]
    assert proxy.sends() == 0
    assert fcm.counters()["sent"] == 1


def test_proxy_set_after_build_is_not_read(
        fcm: FcmStandIn, service_account: Path, proxy: _Proxy,
        clean_env: pytest.MonkeyPatch, sender: str) -> None:
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender=sender) as gateway:
        clean_env.setenv("HTTP_PROXY", proxy.url)
        assert _send(gateway, "a", "b") == [PushStatus.SENT, PushStatus.SENT]
    assert proxy.sends() == 0  # not looked up per request any more


def test_pool_key_is_worked_out_once_per_origin(
        fcm: FcmStandIn, service_account: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """requests parsed the URL and stat()ed the CA bundle for every send; now once per origin,
    with the CA bundle still the one given."""
    import requests.adapters

    real = requests.adapters._urllib3_request_context
    calls: list[object] = []

    def counted(request: Any, verify: Any, cert: Any, poolmanager: Any) -> Any:
        calls.append(verify)
        return real(request, verify, cert, poolmanager)

    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setattr(requests.adapters, "_urllib3_request_context", counted)
    with PushGateway(service_account, endpoint=fcm.url, timeout=5, sender="threads") as gateway:
        assert _send(gateway, "tok-x") == [PushStatus.SENT]
        # Worked out for the token request (its own session) and the first send...
        assert calls == [str(bundle)] * 2
        assert _send(gateway, *(f"tok-{i}" for i in range(30))) == [PushStatus.SENT] * 30
        assert len(calls) == 2  # ...and remembered for the next 30
        adapter = messaging._get_messaging_service(gateway._app)._client.session.get_adapter(
            gateway.url)
        host, pool = adapter.build_connection_pool_key_attributes(
            requests.Request("POST", gateway.url).prepare(), str(bundle))
    assert pool["ca_certs"] == str(bundle) and host["port"] == fcm.port
