"""Words for the codes Loa stores: why a message failed, why a campaign paused, bind states...

The domain stores codes (the API returns them as they are, machines read them); a person reads
the words below, through the `reason` filter and `words_for_exports`. A code with no words is
shown in a sentence that names it, never bare. One place for every such word, so that a new
code is translated once for the pages and the exports alike.
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale, gettext

from dispatch.models import OPERATORS, MessageStatus
from dispatch.reports.export import Words
from dispatch.web.i18n import _l, label

# Why a ledger row is where it is (Message.reason): the engine's codes, receipt states, FCM's.
MESSAGE_REASONS: dict[str, Any] = {
    # the expansion
    "invalid_number": _l("Invalid phone number"),
    "opt_out": _l("Opted out"),
    "no_route": _l("No SMPP account serves this operator"),
    "recipient_cap": _l("Already received the maximum number of messages"),
    "device_disabled": _l("App installation disabled"),
    "no_token": _l("App installation without a notification token"),
    # the engine and the clock
    "validity_ended": _l("Validity period ended before sending"),
    "no_receipt": _l("No delivery receipt within the waiting time"),
    "claim_lost": _l("Sending interrupted: fate unknown"),
    "cancelled": _l("Campaign cancelled"),
    "retry": _l("Queued again for a retry"),
    "topic": _l("Sent to a topic"),
    # delivery receipts (SMPP message states)
    "DELIVRD": _l("Delivered to the phone"),
    "UNDELIV": _l("Could not be delivered to the phone"),
    "UNDELIVERABLE": _l("Could not be delivered to the phone"),
    "EXPIRED": _l("The operator stopped trying: validity ended"),
    "REJECTD": _l("Rejected by the operator"),
    "REJECTED": _l("Rejected by the operator"),
    "DELETED": _l("Deleted by the operator"),
    "UNKNOWN": _l("The operator does not know the outcome"),
    "ACCEPTD": _l("Accepted by the operator"),
    "ENROUTE": _l("On its way"),
    # SMPP refusals at submit
    "ESME_RINVDSTADR": _l("Invalid destination number"),
    "ESME_RINVSRCADR": _l("Sender (brandname) refused"),
    "ESME_RSYSERR": _l("Operator system error"),
    "ESME_RTHROTTLED": _l("Operator asked to send slower"),
    "ESME_RMSGQFUL": _l("Operator queue full"),
    "ESME_RSUBMITFAIL": _l("Operator refused the message"),
    "ESME_RINVMSGLEN": _l("Message length refused"),
    "ESME_RX_T_APPN": _l("Temporary refusal by the operator"),
    "ESME_RX_P_APPN": _l("Permanent refusal by the operator"),
    "ESME_RX_R_APPN": _l("Refused by the operator"),
    "ESME_RINVBNDSTS": _l("Connection to the operator not ready"),
    "ESME_RBINDFAIL": _l("Sign-in to the operator failed"),
    "ESME_RINVPASWD": _l("Sign-in to the operator failed"),
    "ESME_RINVSYSID": _l("Sign-in to the operator failed"),
    "Unknowable": _l("Fate unknown: the link dropped before the answer"),
    "Retryable": _l("Temporary failure"),
    "Permanent": _l("Refused for good"),
    "AuthFailed": _l("Sign-in to the operator failed"),
    "error": _l("Sending error"),
    # FCM
    "fcm_unregistered": _l("App uninstalled or notification token expired"),
    "fcm_sender_id_mismatch": _l("Notification token belongs to another app"),
    "UNREGISTERED": _l("App uninstalled or notification token expired"),
    "SENDER_ID_MISMATCH": _l("Notification token belongs to another app"),
    "INVALID_ARGUMENT": _l("Notification refused by FCM as invalid"),
    "QUOTA_EXCEEDED": _l("FCM quota exceeded"),
    "UNAVAILABLE": _l("FCM temporarily unavailable"),
    "INTERNAL": _l("FCM internal error"),
    "THIRD_PARTY_AUTH_ERROR": _l("Apple or web push refused the credentials"),
    "-": "—",
}

# States of an SMPP bind (dispatch.sms.status, in Redis), as the admin pages show them.
BIND_STATES: dict[str, Any] = {
    "bound": _l("Connected"), "binding": _l("Signing in"), "unbound": _l("Not connected"),
    "connecting": _l("Connecting"), "disconnected": _l("Disconnected"), "idle": _l("Idle"),
    "auth_failed": _l("Sign-in refused"), "closed": _l("Closed"), "closing": _l("Closing"),
    "config_error": _l("Configuration error"),
}

# RQ queues (dispatch.jobs), as the dashboard lists them.
QUEUES: dict[str, Any] = {
    "urgent": _l("Urgent jobs"), "default": _l("Ordinary jobs"), "low": _l("Background jobs"),
}


def reason(code: str | None) -> str:
    """A message's reason code in words; an unknown code inside a sentence naming it."""
    if not code:
        return "—"
    found = MESSAGE_REASONS.get(code)
    if found is not None:
        return str(found)
    if code.startswith("ESME_") or code.startswith("0x"):
        return gettext("Refused by the operator (%(code)s)", code=code)
    if code.startswith("fcm_") or code.isupper():
        return gettext("Refused by FCM (%(code)s)", code=code)
    return gettext("Other reason (%(code)s)", code=code)


def bind_state(code: str | None) -> str:
    if not code:
        return gettext("No connection reported")
    found = BIND_STATES.get(code)
    return str(found) if found is not None else gettext("State %(code)s", code=code)


def queue_name(code: str) -> str:
    found = QUEUES.get(code)
    return str(found) if found is not None else gettext("Queue %(code)s", code=code)


def words_for_exports() -> Words:
    """The readable export's words, in Vietnamese (the department's files) whatever the page."""
    with force_locale("vi"):
        codes = [*(s.value for s in MessageStatus), *OPERATORS, "sms", "push", "-"]
        return Words(labels={code: label(code) for code in codes},
                     reasons={code: str(text) for code, text in MESSAGE_REASONS.items()},
                     other_reason=gettext("Other reason (%(code)s)", code="{code}"),
                     topic=gettext("All app users (topic)"))
