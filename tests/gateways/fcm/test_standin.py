"""The stand-in itself: wire format, OAuth checks, HTTP control API, the command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from gateways.fcm import PushAuthFailed, PushContent, PushGateway, PushMessage, PushStatus
from scripts.fcm import FcmStandIn
from scripts.fcm.keys import generate_service_account
from scripts.harness import wait_for

ROOT = Path(__file__).resolve().parents[3]


def _access_token(fcm: FcmStandIn, service_account: Path) -> str:
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account as sa

    credential = sa.Credentials.from_service_account_file(
        str(service_account), scopes=["https://www.googleapis.com/auth/firebase.messaging"])
    credential.refresh(Request())
    return str(credential.token)


def test_error_body_has_fcm_shape(fcm: FcmStandIn, service_account: Path) -> None:
    url = f"{fcm.url}/v1/projects/loa-test/messages:send"
    headers = {"Authorization": f"Bearer {_access_token(fcm, service_account)}"}
    response = requests.post(url, json={"message": {"token": "quota-5-x"}}, headers=headers,
                             timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"error": {
        "code": 429, "status": "RESOURCE_EXHAUSTED",
        "message": "Quota exceeded for quota metric 'Send requests' of service fcm.googleapis.com",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                     "errorCode": "QUOTA_EXCEEDED"}]}}
    ok = requests.post(url, json={"message": {"topic": "all", "data": {"a": "b"}}},
                       headers=headers, timeout=5)
    assert ok.json()["name"].startswith("projects/loa-test/messages/")
    anonymous = requests.post(url, json={"message": {"token": "x"}}, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"


def test_untrusted_key_is_refused(fcm: FcmStandIn, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.json"
    generate_service_account(stranger, token_uri=fcm.token_uri, project_id="loa-test")
    with PushGateway(stranger, endpoint=fcm.url) as gateway, \
            pytest.raises(PushAuthFailed, match="Invalid JWT Signature"):
        gateway.send_batch([PushMessage("1", "good", PushContent(body="x"))])
    assert fcm.counters()["tokens_refused"] == 1


def test_http_control_api(fcm: FcmStandIn, gateway: PushGateway) -> None:
    gateway.send_batch([PushMessage("1", "unregistered-z", PushContent(body="x"))])
    counters = requests.get(f"{fcm.url}/_standin/counters", timeout=5).json()
    assert counters["errors"] == {"UNREGISTERED": 1}
    assert counters["by_token"] == {"unregistered-z": 1}
    kept = requests.get(f"{fcm.url}/_standin/messages?limit=5", timeout=5).json()
    assert [m["token"] for m in kept] == ["unregistered-z"]
    config = requests.post(f"{fcm.url}/_standin/config", json={"deny_send": True}, timeout=5)
    assert config.json()["deny_send"] is True
    requests.post(f"{fcm.url}/_standin/reset", timeout=5)
    assert fcm.counters()["requests"] == 0


def test_command_line_serves_and_reports(tmp_path: Path) -> None:
    sa_path = tmp_path / "fcm" / "service-account.json"
    python = [sys.executable, "-m", "scripts.fcm"]
    server = subprocess.Popen(
        [*python, "serve", "--port", "0", "--project", "cli-test", "--service-account",
         str(sa_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        assert ready["project"] == "cli-test"
        assert json.loads(sa_path.read_text())["token_uri"] == ready["endpoint"] + "/token"
        assert sa_path.stat().st_mode & 0o777 == 0o600
        with PushGateway(sa_path, endpoint=ready["endpoint"]) as gateway:
            outcome = gateway.send_one("good", PushContent(body="x"))
        assert outcome.status is PushStatus.SENT
        out = subprocess.run([*python, "counters", "--url", ready["endpoint"]], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        assert json.loads(out)["by_token"] == {"good": 1}
    finally:
        server.terminate()
        assert server.wait(10) == 0


def _raw_send(token: str, bearer: str, *, close: bool = False) -> bytes:
    body = json.dumps({"message": {"token": token, "data": {"a": "b"}}}).encode()
    head = (f"POST /v1/projects/loa-test/messages:send HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {bearer}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + ("Connection: close\r\n" if close else "")
            + "\r\n")
    return head.encode() + body


def _read_answers(sock: socket.socket, count: int) -> list[tuple[int, dict[str, Any]]]:
    """Read `count` HTTP answers from the socket: (status, JSON body), in arrival order."""
    data, answers = b"", []
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].decode("latin-1").split("\r\n")
            length = next(int(line.split(":", 1)[1]) for line in head
                          if line.lower().startswith("content-length:"))
            if len(data) >= end + 4 + length:
                answers.append((int(head[0].split()[1]),
                                json.loads(data[end + 4:end + 4 + length])))
                data = data[end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        data += chunk
    return answers


def test_requests_in_pieces_and_back_to_back(fcm: FcmStandIn, service_account: Path) -> None:
    bearer = _access_token(fcm, service_account)
    first, second = _raw_send("good-1", bearer), _raw_send("unregistered-2", bearer)
    connections = fcm.counters()["connections"]
    with socket.create_connection(("127.0.0.1", fcm.port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A request cut inside its head and inside its body, then two in one write.
        for piece in (first[:20], first[20:-5], first[-5:]):
            sock.sendall(piece)
            time.sleep(0.05)
        sock.sendall(first + second)
        answers = _read_answers(sock, 3)
    assert [status for status, _ in answers] == [200, 200, 404]
    assert answers[2][1]["error"]["details"][0]["errorCode"] == "UNREGISTERED"
    assert fcm.counters()["by_token"] == {"good-1": 2, "unregistered-2": 1}
    assert fcm.counters()["connections"] == connections + 1  # all on one keep-alive


def test_latency_keeps_answers_in_order(fcm: FcmStandIn, service_account: Path) -> None:
    bearer = _access_token(fcm, service_account)
    fcm.latency = 0.2
    with socket.create_connection(("127.0.0.1", fcm.port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(_raw_send("slow-300-a", bearer) + _raw_send("quota-7-b", bearer))
        (ok, _), (quota, body) = _read_answers(sock, 2)
        elapsed = time.monotonic() - started
    assert (ok, quota) == (200, 429)
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    # 0.5 s for the first, then 0.2 s for the second: in turn, not at once (0.5 s); a loaded
    # machine only adds to it.
    assert 0.7 <= elapsed < 5


def test_a_send_the_client_gave_up_on_still_counts(fcm: FcmStandIn,
                                                   service_account: Path) -> None:
    bearer = _access_token(fcm, service_account)
    with socket.create_connection(("127.0.0.1", fcm.port), timeout=5) as sock:
        sock.sendall(_raw_send("slow-200-a", bearer))
    # Like FCM, which would deliver a message whose answer never reached the sender.
    assert wait_for(lambda: fcm.counters()["sent"] == 1, timeout=10), fcm.counters()
