"""The stand-in itself: wire format, OAuth checks, HTTP control API, the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from gateways.fcm import PushAuthFailed, PushContent, PushGateway, PushMessage, PushStatus
from scripts.fcm import FcmStandIn
from scripts.fcm.keys import generate_service_account

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
