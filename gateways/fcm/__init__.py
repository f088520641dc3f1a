"""Push to the province app through Firebase Cloud Messaging (firebase-admin, HTTP v1).

Plain values in, plain values out; no Flask, no database.

    gateway = PushGateway("instance/fcm/service-account.json", endpoint=None)  # None: Google
    content = PushContent(title="…", body="…", link="haugiang://tin/123", priority="high",
                          expires_at=launched_at + timedelta(hours=24))
    check_payload(content)                      # at draft time; topic=True for a topic send
    outcomes = gateway.send_batch([PushMessage(str(row_id), token, content), ...])  # ≤ 500
    result = gateway.send_topic(content, topic="xa-vi-thanh")    # one request

`send_batch` returns one `PushOutcome` per message, in order, with a `PushStatus`:
SENT (message_name), DEAD_TOKEN (disable the device: UNREGISTERED / SENDER_ID_MISMATCH),
RETRY (retry_after from FCM's Retry-After when given), FAILED (INVALID_ARGUMENT, payload,
THIRD_PARTY_AUTH_ERROR), EXPIRED (validity over, not sent), UNKNOWN (may have reached FCM),
AUTH. When any message is AUTH (the service account was refused by the token endpoint, or FCM
answered 401/403) it raises `PushAuthFailed`, whose `outcomes` carry the whole list.
The SDK never sleeps here: see `gateway.NO_SLEEP_RETRY`. `sender` chooses how a batch goes out
(`gateway.SENDERS`): "direct" (the default), the SDK's credential and message encoding with our
own HTTP/1.1 requests on connections a pool of threads keeps (gateways/fcm/direct.py);
messaging.send from a pool of threads kept for the gateway's life; the SDK's send_each; or its
send_each_async over HTTP/2 (gateways/fcm/http2.py).
"""

from gateways.fcm.gateway import MAX_BATCH, NO_SLEEP_RETRY, SENDERS, PushAuthFailed, PushGateway
from gateways.fcm.payload import (
    LINK_KEY,
    MAX_PAYLOAD,
    MAX_TOPIC_PAYLOAD,
    PayloadInvalid,
    PayloadTooLarge,
    PushContent,
    PushMessage,
    build_message,
    check_payload,
    payload_size,
)
from gateways.outcome import Fate, Outcome

# FCM's names for the gateways' one outcome type (gateways.outcome).
PushOutcome = Outcome
PushStatus = Fate

__all__ = [
    "LINK_KEY",
    "MAX_BATCH",
    "MAX_PAYLOAD",
    "MAX_TOPIC_PAYLOAD",
    "NO_SLEEP_RETRY",
    "SENDERS",
    "PayloadInvalid",
    "PayloadTooLarge",
    "PushAuthFailed",
    "PushContent",
    "PushGateway",
    "PushMessage",
    "PushOutcome",
    "PushStatus",
    "build_message",
    "check_payload",
    "payload_size",
]
