"""A local Firebase Cloud Messaging stand-in for the demo, the tests and the benchmarks.

    python -m scripts.fcm serve [--port 8765] [--project loa-demo]
                                [--service-account instance/fcm/service-account.json]
    python -m scripts.fcm counters | reset      [--url http://127.0.0.1:8765]
    python -m scripts.fcm config --refuse-auth on|off --deny-send on|off --latency-ms N
    python -m scripts.fcm keygen PATH --token-uri URL [--project P]

`serve` writes the service-account JSON (a generated key whose token_uri is this stand-in)
when the file does not exist, trusts it, and prints the endpoint to configure the gateway with.
In tests: `with FcmStandIn(project_id="p") as fcm: fcm.write_service_account(tmp / "sa.json")`.
"""

from scripts.fcm.server import INJECTED, FcmStandIn

__all__ = ["INJECTED", "FcmStandIn"]
