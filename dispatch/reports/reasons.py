"""The reason codes the ledger stores, in words a clerk reads (through the translation catalog).

The ledger keeps codes (machines read them through the API): Loa's own (`opt_out`,
`no_receipt`…), the receipt states SMSCs send (`UNDELIV`, `REJECTD`…), SMPP command statuses
(`ESME_RINVDSTADR`…) and FCM's error names in lower case (`fcm_unregistered`, `unavailable`…).
`words(code)` gives the reader's text; a code it does not know is named in a sentence, so nothing is
hidden. The one table of these words: the pages (dispatch.web.labels), the reports and the
exports all read it, so a code reads the same everywhere and is translated once.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

WORDS: dict[str, Any] = {
    # the expansion
    "invalid_number": _l("Not a valid mobile number"),
    "opt_out": _l("The recipient opted out"),
    "no_route": _l("No SMPP account serves this operator"),
    "recipient_cap": _l("Recipient reached the message limit per day"),
    "missing_value": _l("A placeholder had no value for this recipient and no default"),
    "device_disabled": _l("App installation disabled (token no longer valid)"),
    "no_token": _l("App installation without a notification token"),
    "app_covered": _l("Reached by the app: the number has a verified app device"),
    "opened_in_app": _l("Opened the app notification: no SMS needed"),
    # the engine and the clock
    "validity_ended": _l("Validity ended before the message could be sent"),
    "no_receipt": _l("No delivery receipt from the operator"),
    "claim_lost": _l("Sending was interrupted; outcome unknown"),
    "cancelled": _l("Campaign cancelled before sending"),
    "retry": _l("Queued again for a retry"),
    "topic": _l("Sent to a topic"),
    # delivery receipts (SMPP message states)
    "DELIVRD": _l("Delivered to the phone"),
    "UNDELIV": _l("Operator could not deliver (phone off, out of coverage or number unused)"),
    "UNDELIVERABLE": _l("Operator could not deliver (phone off, out of coverage or number unused)"),
    "EXPIRED": _l("Operator gave up: the validity period ended"),
    "REJECTD": _l("Operator rejected the message"),
    "REJECTED": _l("Operator rejected the message"),
    "DELETED": _l("Operator deleted the message"),
    "UNKNOWN": _l("Operator reported an unknown outcome"),
    "ACCEPTD": _l("Accepted by the operator"),
    "ENROUTE": _l("On its way"),
    # SMPP refusals at submit
    "ESME_RINVDSTADR": _l("Operator refused the number (invalid destination)"),
    "ESME_RINVSRCADR": _l("Operator refused the brandname (sender)"),
    "ESME_RSYSERR": _l("Operator system error"),
    "ESME_RTHROTTLED": _l("Operator refused: sending too fast"),
    "ESME_RMSGQFUL": _l("Operator queue full"),
    "ESME_RSUBMITFAIL": _l("Operator refused the message"),
    "ESME_RINVMSGLEN": _l("Message too long for the operator"),
    "ESME_RX_T_APPN": _l("Temporary refusal by the operator"),
    "ESME_RX_P_APPN": _l("Operator refused the message"),
    "ESME_RX_R_APPN": _l("Operator refused the message"),
    "ESME_RINVBNDSTS": _l("Connection to the operator not ready"),
    "ESME_RBINDFAIL": _l("Operator refused the SMPP account's sign-in"),
    "ESME_RINVPASWD": _l("Operator refused the SMPP account's password"),
    "ESME_RINVSYSID": _l("Sign-in to the operator failed"),
    "Unknowable": _l("Fate unknown: the link dropped before the answer"),
    "Retryable": _l("Temporary failure"),
    "Permanent": _l("Refused for good"),
    "AuthFailed": _l("Sign-in to the operator failed"),
    "error": _l("Gateway error"),
    # FCM
    "fcm_unregistered": _l("App uninstalled or token expired"),
    "fcm_sender_id_mismatch": _l("App token belongs to another Firebase project"),
    "UNREGISTERED": _l("App uninstalled or token expired"),
    "SENDER_ID_MISMATCH": _l("Notification token belongs to another app"),
    "INVALID_ARGUMENT": _l("Notification refused by FCM as invalid"),
    "QUOTA_EXCEEDED": _l("FCM quota exceeded"),
    "UNAVAILABLE": _l("FCM temporarily unavailable"),
    "INTERNAL": _l("FCM internal error"),
    "THIRD_PARTY_AUTH_ERROR": _l("Apple or web push refused the credentials"),
    # older codes some rows still carry
    "no_topic": _l("The app topic is not configured"),
    "FAILED": _l("Operator reported a failure"),
    "PARTIAL": _l("Only some parts of the message were delivered"),
    "ESME_RUNKNOWNERR": _l("Operator reported an unknown error"),
    "unregistered": _l("App uninstalled or token expired"),
    "invalid_argument": _l("Firebase refused the notification's content"),
    "unavailable": _l("Firebase temporarily unavailable"),
    "internal": _l("Firebase internal error"),
    "quota_exceeded": _l("Firebase quota exceeded"),
    "third_party_auth_error": _l("Firebase refused the credentials"),
    "failed": _l("Firebase refused the notification"),
    "link_lost": _l("Connection to the operator lost while sending"),
    "-": _l("No reason recorded"),
}


# Codes with no words of their own, by where they come from.
OTHER_REASONS = (("ESME_", _l("Refused by the operator (%(code)s)")),
                 ("0x", _l("Refused by the operator (%(code)s)")),
                 ("fcm_", _l("Refused by FCM (%(code)s)")))


def words(code: str | None) -> str:
    """A message's reason code in words; an unknown code inside a sentence naming it."""
    code = code or "-"
    found = WORDS.get(code)
    if found is not None:
        return str(found)
    for prefix, words in OTHER_REASONS:
        if code.startswith(prefix):
            return str(words) % {"code": code}
    return gettext("Other reason (%(code)s)", code=code)
