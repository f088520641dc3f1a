"""The reason codes the ledger stores, in words a clerk reads (through the translation catalog).

The ledger keeps codes (machines read them through the API): Loa's own (`opt_out`,
`no_receipt`…), the receipt states SMSCs send (`UNDELIV`, `REJECTD`…), SMPP command statuses
(`ESME_RINVDSTADR`…) and FCM's error names in lower case (`fcm_unregistered`, `unavailable`…).
`words(code)` gives the reader's text; a code it does not know reads "Other reason" and keeps the
code beside it, so nothing is hidden.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

WORDS: dict[str, Any] = {
    # not sent (suppressed at expansion)
    "opt_out": _l("The recipient opted out"),
    "invalid_number": _l("Not a valid mobile number"),
    "no_route": _l("No SMPP account serves this operator"),
    "recipient_cap": _l("Recipient reached the message limit per day"),
    "missing_value": _l("A placeholder had no value for this recipient and no default"),
    "device_disabled": _l("App installation disabled (token no longer valid)"),
    "app_covered": _l("Reached by the app: the number has a verified app device"),
    "opened_in_app": _l("Opened the app notification: no SMS needed"),
    "cancelled": _l("Campaign cancelled before sending"),
    "validity_ended": _l("Validity ended before the message could be sent"),
    # outcomes Loa decides
    "no_receipt": _l("No delivery receipt from the operator"),
    "claim_lost": _l("Sending was interrupted; outcome unknown"),
    "link_lost": _l("Connection to the operator lost while sending"),
    "no_topic": _l("The app topic is not configured"),
    "error": _l("Gateway error"),
    # receipt states (SMPP 3.4 message_state)
    "UNDELIV": _l("Operator could not deliver (phone off, out of coverage or number unused)"),
    "REJECTD": _l("Operator rejected the message"),
    "EXPIRED": _l("Operator gave up: the validity period ended"),
    "DELETED": _l("Operator deleted the message"),
    "UNKNOWN": _l("Operator reported an unknown outcome"),
    "FAILED": _l("Operator reported a failure"),
    "PARTIAL": _l("Only some parts of the message were delivered"),
    # SMPP command statuses seen on submit
    "ESME_RINVDSTADR": _l("Operator refused the number (invalid destination)"),
    "ESME_RINVSRCADR": _l("Operator refused the brandname (sender)"),
    "ESME_RSUBMITFAIL": _l("Operator refused the message"),
    "ESME_RINVMSGLEN": _l("Message too long for the operator"),
    "ESME_RSYSERR": _l("Operator system error"),
    "ESME_RTHROTTLED": _l("Operator refused: sending too fast"),
    "ESME_RMSGQFUL": _l("Operator queue full"),
    "ESME_RBINDFAIL": _l("Operator refused the SMPP account's sign-in"),
    "ESME_RINVPASWD": _l("Operator refused the SMPP account's password"),
    "ESME_RX_P_APPN": _l("Operator refused the message"),
    "ESME_RX_R_APPN": _l("Operator refused the message"),
    "ESME_RUNKNOWNERR": _l("Operator reported an unknown error"),
    # FCM (push)
    "fcm_unregistered": _l("App uninstalled or token expired"),
    "fcm_sender_id_mismatch": _l("App token belongs to another Firebase project"),
    "unregistered": _l("App uninstalled or token expired"),
    "invalid_argument": _l("Firebase refused the notification's content"),
    "unavailable": _l("Firebase temporarily unavailable"),
    "internal": _l("Firebase internal error"),
    "quota_exceeded": _l("Firebase quota exceeded"),
    "third_party_auth_error": _l("Firebase refused the credentials"),
    "failed": _l("Firebase refused the notification"),
    "-": _l("No reason recorded"),
}
OTHER = _l("Other reason")


def words(code: str | None) -> str:
    """The reader's words for a stored reason code."""
    found = WORDS.get(code or "-")
    if found is None and code and code.startswith("ESME_"):
        found = WORDS["ESME_RSUBMITFAIL"]
    return str(found if found is not None else OTHER)


def known(code: str | None) -> bool:
    return (code or "-") in WORDS or bool(code and code.startswith("ESME_"))
