"""The direct sender over TLS, as to Google: the CA bundle of the environment, SNI, kept
connections (TLS 1.3 session tickets arrive on them while idle), and through a proxy's CONNECT
tunnel. A small HTTPS endpoint on loopback with a self-signed certificate stands in for FCM's
send route; the OAuth token still comes from the module's stand-in."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateways.fcm import PushContent, PushGateway, PushMessage, PushStatus
from scripts.fcm import FcmStandIn

CONTENT = PushContent(title="Thông báo", body="Mất điện khu vực 2")


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Send(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TlsEndpoint

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.tokens.append(request["message"]["token"])
            name = f"projects/loa-test/messages/tls-{len(self.server.tokens)}"
        data = json.dumps({"name": name}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _TlsEndpoint(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Send)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.lock = threading.Lock()
        self.tokens: list[str] = []
        self.connections = 0

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        with self.lock:
            self.connections += 1
        return self.context.wrap_socket(sock, server_side=True), address

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"


@pytest.fixture()
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return _certificate(tmp_path)


@pytest.fixture()
def endpoint(certificate: tuple[Path, Path]) -> Iterator[_TlsEndpoint]:
    server = _TlsEndpoint(*certificate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUESTS_CA_BUNDLE",
                 "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def _batch(*tokens: str) -> list[PushMessage]:
    return [PushMessage(str(i), token, CONTENT) for i, token in enumerate(tokens)]


def test_tls_with_the_environments_ca_on_kept_connections(
        fcm: FcmStandIn, service_account: Path, endpoint: _TlsEndpoint,
        certificate: tuple[Path, Path], clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    tokens = [f"tok-{n}-{i}" for n in range(3) for i in range(20)]
    with PushGateway(service_account, endpoint=endpoint.url, timeout=5, sender="direct",
                     threads=2) as gateway:
        for n in range(3):
            outcomes = gateway.send_batch(_batch(*tokens[n * 20:(n + 1) * 20]))
            assert [o.status for o in outcomes] == [PushStatus.SENT] * 20
            time.sleep(0.2)  # idle: the server's session tickets are waiting on the socket
    assert sorted(endpoint.tokens) == sorted(tokens)  # each once
    assert endpoint.connections <= 2  # one per sender thread, kept through the idle spells


def test_an_untrusted_certificate_is_not_sent_to(
        fcm: FcmStandIn, service_account: Path, endpoint: _TlsEndpoint,
        clean_env: pytest.MonkeyPatch) -> None:
    with PushGateway(service_account, endpoint=endpoint.url, timeout=5, sender="direct",
                     threads=1) as gateway:
        (outcome,) = gateway.send_batch(_batch("tok"))
    assert (outcome.status, outcome.code) == (PushStatus.RETRY, "UNAVAILABLE")
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.reason
    assert endpoint.tokens == []


class _Tunnel(threading.Thread):
    """A proxy that only does CONNECT, and remembers where it was asked to go."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.targets: list[str] = []

    @property
    def url(self) -> str:
        return f"http://user:p%40ss@127.0.0.1:{self.listener.getsockname()[1]}"

    def run(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        line, *headers = head.decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ")
        assert "Proxy-Authorization: Basic dXNlcjpwQHNz" in headers  # user:p@ss
        self.targets.append(f"{method} {target}")
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()


def test_https_through_a_proxys_connect_tunnel(
        fcm: FcmStandIn, service_account: Path, endpoint: _TlsEndpoint,
        certificate: tuple[Path, Path], clean_env: pytest.MonkeyPatch) -> None:
    tunnel = _Tunnel()
    tunnel.start()
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    clean_env.setenv("HTTPS_PROXY", tunnel.url)
    try:
        with PushGateway(service_account, endpoint=endpoint.url, timeout=5, sender="direct",
                         threads=1) as gateway:
            outcomes = gateway.send_batch(_batch("a", "b", "c"))
    finally:
        tunnel.listener.close()
    assert [o.status for o in outcomes] == [PushStatus.SENT] * 3
    assert endpoint.tokens == ["a", "b", "c"]
    port = endpoint.server_address[1]
    assert tunnel.targets == [f"CONNECT 127.0.0.1:{port}"]  # one tunnel, kept


def test_an_https_proxy_is_refused_at_start(fcm: FcmStandIn, service_account: Path,
                                            clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("HTTPS_PROXY", "https://127.0.0.1:3128")
    with pytest.raises(ValueError, match="only http:// proxies"):
        PushGateway(service_account, endpoint="https://fcm.example", sender="direct")
