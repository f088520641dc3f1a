"""Command line of the FCM stand-in: serve, look at counters, flip switches, make keys."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

from scripts.fcm.keys import generate_service_account
from scripts.fcm.server import FcmStandIn

DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_SA = "instance/fcm/service-account.json"


def _serve(args: argparse.Namespace) -> int:
    standin = FcmStandIn(args.project, args.host, args.port, latency=args.latency_ms / 1000)
    standin.start()
    path = Path(args.service_account)
    if path.exists():
        info = json.loads(path.read_text(encoding="utf-8"))
        if info.get("token_uri") != standin.token_uri:
            # Same key, new address (another port): keep the file usable.
            info["token_uri"] = standin.token_uri
            path.write_text(json.dumps(info, indent=2), encoding="utf-8")
        standin.trust(info)
        project = info.get("project_id", args.project)
        if project != args.project:
            print(f"warning: {path} is for project {project}, serving {args.project}",
                  file=sys.stderr)
    else:
        standin.write_service_account(path)
    print(json.dumps({"endpoint": standin.url, "project": standin.project_id,
                      "service_account": str(path.resolve())}), flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    standin.stop()
    return 0


def _call(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.fcm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the stand-in until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--project", default="loa-demo")
    serve.add_argument("--service-account", default=DEFAULT_SA,
                       help="written (new key) when missing, trusted when present")
    serve.add_argument("--latency-ms", type=float, default=0.0)

    for name in ("counters", "reset"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--url", default=DEFAULT_URL)
    config = sub.add_parser("config", help="flip the error switches of a running stand-in")
    config.add_argument("--url", default=DEFAULT_URL)
    config.add_argument("--refuse-auth", choices=("on", "off"))
    config.add_argument("--deny-send", choices=("on", "off"))
    config.add_argument("--latency-ms", type=float)
    config.add_argument("--revoke-tokens", action="store_true")

    keygen = sub.add_parser("keygen", help="write a service-account JSON with a new key")
    keygen.add_argument("path")
    keygen.add_argument("--token-uri", default=DEFAULT_URL + "/token")
    keygen.add_argument("--project", default="loa-demo")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "counters":
        print(json.dumps(_call(args.url, "/_standin/counters"), indent=2))
    elif args.command == "reset":
        _call(args.url, "/_standin/reset", {})
    elif args.command == "config":
        changes = {k: v for k, v in {
            "refuse_auth": _on_off(args.refuse_auth), "deny_send": _on_off(args.deny_send),
            "latency_ms": args.latency_ms, "revoke_tokens": args.revoke_tokens or None,
        }.items() if v is not None}
        print(json.dumps(_call(args.url, "/_standin/config", changes)))
    elif args.command == "keygen":
        generate_service_account(args.path, token_uri=args.token_uri, project_id=args.project)
        print(args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
