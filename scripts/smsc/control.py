"""HTTP control of a running stand-in, for other processes and drills (loopback only).

    GET  /stats                         counters, bound connections, max window seen
    GET  /received?destination=849...   the submit_sm received for a number (text, UDH, ids)
    GET  /per-second?account=loa        submit_sm PDUs per wall-clock second
    GET  /per-second?account=loa&accepted=1   only the accepted ones
    POST /behaviour  {"tps": 50, ...}   change any Behaviour field
    POST /behaviour  {"account": "loa", "tps": 50, "policing": "interval"}   police one account
    POST /drop       {"account": "loa"} cut connections (all when no account)
    POST /mo         {"account": "loa", "source": "849...", "destination": "8088", "text": "HUY"}
    POST /mo         {"account": "loa", "messages": [["849...", "8088", "HUY"], ...]}  (a burst)
    POST /mo/answers {"account": "loa", "mix": {"1": 0.5, "2": 0.3, "free": 0.1, "HUY": 0.05},
                      "of": ["849...", ...]}  (answers from numbers it accepted submits for)
    POST /reset                         forget what was received

    curl -s localhost:2776/stats
    curl -s -XPOST localhost:2776/behaviour -d '{"receipt_delay": 2, "outcomes": {"UNDELIV": 1}}'
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from scripts.smsc.server import Received, Smsc


def _received(record: Received) -> dict[str, Any]:
    try:
        text = record.text
    except ValueError:
        text = None
    return {"account": record.account, "bind": record.bind, "sequence": record.sequence,
            "destination": record.destination,
            "source": record.source, "source_ton": record.source_ton,
            "source_npi": record.source_npi, "esm_class": record.esm_class,
            "data_coding": record.data_coding, "udh": record.udh.hex(), "text": text,
            "message_id": record.message_id, "status": record.status, "at": record.at,
            "read_at": record.read_at}


def serve(smsc: Smsc, host: str = "127.0.0.1", port: int = 2776) -> ThreadingHTTPServer:
    """Start the control server in a daemon thread; returns it (`.shutdown()` stops it)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, code: int, payload: Any) -> None:
            data = json.dumps(payload, default=str).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/stats":
                self._reply(200, smsc.stats())
            elif url.path == "/received":
                records = smsc.received(query.get("destination"))
                self._reply(200, [_received(r) for r in records])
            elif url.path == "/per-second":
                account = query.get("account", "")
                self._reply(200, smsc.accepted_per_second(account) if query.get("accepted")
                            else smsc.per_second(account))
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/behaviour":
                    from dataclasses import asdict
                    account = body.pop("account", None)
                    changed = (smsc.set_account(str(account), **body) if account is not None
                               else smsc.set(**body))
                    self._reply(200, asdict(changed))
                elif self.path == "/drop":
                    self._reply(200, {"dropped": smsc.drop(body.get("account"))})
                elif self.path == "/mo/answers":
                    mix = {str(k): float(v) for k, v in body["mix"].items()}
                    of = body.get("of")
                    self._reply(200, {"sent": smsc.answer_survey(
                        body["account"], mix, of=None if of is None else [str(n) for n in of],
                        destination=str(body.get("destination", "8088")),
                        seed=int(body.get("seed", 0)))})
                elif self.path == "/mo" and "messages" in body:
                    burst = [(str(s), str(d), str(t)) for s, d, t in body["messages"]]
                    self._reply(200, {"parts": smsc.flood_mo(body["account"], burst)})
                elif self.path == "/mo":
                    parts = smsc.send_mo(body["account"], body["source"], body["destination"],
                                         body["text"], concat=body.get("concat", "udh"))
                    self._reply(200, {"parts": parts})
                elif self.path == "/reset":
                    smsc.reset()
                    self._reply(200, {"reset": True})
                else:
                    self._reply(404, {"error": "not found"})
            except (ValueError, KeyError, TypeError) as exc:
                self._reply(400, {"error": str(exc)})

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="smsc-control", daemon=True).start()
    return server
