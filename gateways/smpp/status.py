"""SMPP 3.4 command_status codes in one table: name, meaning and what the ESME should do.

Classes:
- `ok`: accepted.
- `throttle`: the SMSC wants us slower (0x58 ESME_RTHROTTLED, 0x14 ESME_RMSGQFUL); the session
  cuts the shared rate and resends the same PDU.
- `retryable`: nothing was done and trying again later may work (system error, bind state, ...).
- `permanent`: this message will never be accepted as it is (bad address, bad parameters, ...).
- `auth`: the bind was refused for its credentials; retrying with the same ones cannot help.

Vendor codes (0x400-0x4FF) and codes missing from the table are `retryable`: a wrong `permanent`
loses a message for good, a wrong `retryable` only costs a bounded number of retries. An account
can reclassify any code through `overrides`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateways.errors import AuthFailed, GatewayError, Permanent, Retryable

StatusClass = Literal["ok", "throttle", "retryable", "permanent", "auth"]


@dataclass(frozen=True, slots=True)
class Status:
    code: int
    name: str
    description: str
    cls: StatusClass

    @property
    def hex(self) -> str:
        return f"0x{self.code:02X}"


_ROWS: tuple[tuple[int, str, str, StatusClass], ...] = (
    (0x00, "ESME_ROK", "No error", "ok"),
    (0x01, "ESME_RINVMSGLEN", "Message length is invalid", "permanent"),
    (0x02, "ESME_RINVCMDLEN", "Command length is invalid", "permanent"),
    (0x03, "ESME_RINVCMDID", "Invalid command ID", "permanent"),
    (0x04, "ESME_RINVBNDSTS", "Incorrect bind status for given command", "retryable"),
    (0x05, "ESME_RALYBND", "ESME already in bound state", "retryable"),
    (0x06, "ESME_RINVPRTFLG", "Invalid priority flag", "permanent"),
    (0x07, "ESME_RINVREGDLVFLG", "Invalid registered delivery flag", "permanent"),
    (0x08, "ESME_RSYSERR", "System error", "retryable"),
    (0x0A, "ESME_RINVSRCADR", "Invalid source address", "permanent"),
    (0x0B, "ESME_RINVDSTADR", "Invalid destination address", "permanent"),
    (0x0C, "ESME_RINVMSGID", "Message ID is invalid", "permanent"),
    (0x0D, "ESME_RBINDFAIL", "Bind failed", "auth"),
    (0x0E, "ESME_RINVPASWD", "Invalid password", "auth"),
    (0x0F, "ESME_RINVSYSID", "Invalid system ID", "auth"),
    (0x11, "ESME_RCANCELFAIL", "Cancel SM failed", "permanent"),
    (0x13, "ESME_RREPLACEFAIL", "Replace SM failed", "permanent"),
    (0x14, "ESME_RMSGQFUL", "Message queue full", "throttle"),
    (0x15, "ESME_RINVSERTYP", "Invalid service type", "permanent"),
    (0x33, "ESME_RINVNUMDESTS", "Invalid number of destinations", "permanent"),
    (0x34, "ESME_RINVDLNAME", "Invalid distribution list name", "permanent"),
    (0x40, "ESME_RINVDESTFLAG", "Invalid destination flag", "permanent"),
    (0x42, "ESME_RINVSUBREP", "Invalid submit with replace request", "permanent"),
    (0x43, "ESME_RINVESMCLASS", "Invalid esm_class field data", "permanent"),
    (0x44, "ESME_RCNTSUBDL", "Cannot submit to distribution list", "permanent"),
    (0x45, "ESME_RSUBMITFAIL", "submit_sm or submit_multi failed", "permanent"),
    (0x48, "ESME_RINVSRCTON", "Invalid source address TON", "permanent"),
    (0x49, "ESME_RINVSRCNPI", "Invalid source address NPI", "permanent"),
    (0x50, "ESME_RINVDSTTON", "Invalid destination address TON", "permanent"),
    (0x51, "ESME_RINVDSTNPI", "Invalid destination address NPI", "permanent"),
    (0x53, "ESME_RINVSYSTYP", "Invalid system_type field", "auth"),
    (0x54, "ESME_RINVREPFLAG", "Invalid replace_if_present flag", "permanent"),
    (0x55, "ESME_RINVNUMMSGS", "Invalid number of messages", "permanent"),
    (0x58, "ESME_RTHROTTLED", "Throttling error (ESME has exceeded allowed message limits)",
     "throttle"),
    (0x61, "ESME_RINVSCHED", "Invalid scheduled delivery time", "permanent"),
    (0x62, "ESME_RINVEXPIRY", "Invalid message validity period (expiry time)", "permanent"),
    (0x63, "ESME_RINVDFTMSGID", "Predefined message invalid or not found", "permanent"),
    (0x64, "ESME_RX_T_APPN", "ESME receiver temporary app error code", "retryable"),
    (0x65, "ESME_RX_P_APPN", "ESME receiver permanent app error code", "permanent"),
    (0x66, "ESME_RX_R_APPN", "ESME receiver reject message error code", "permanent"),
    (0x67, "ESME_RQUERYFAIL", "query_sm request failed", "retryable"),
    (0xC0, "ESME_RINVOPTPARSTREAM", "Error in the optional part of the PDU body", "permanent"),
    (0xC1, "ESME_ROPTPARNOTALLWD", "Optional parameter not allowed", "permanent"),
    (0xC2, "ESME_RINVPARLEN", "Invalid parameter length", "permanent"),
    (0xC3, "ESME_RMISSINGOPTPARAM", "Expected optional parameter missing", "permanent"),
    (0xC4, "ESME_RINVOPTPARAMVAL", "Invalid optional parameter value", "permanent"),
    (0xFE, "ESME_RDELIVERYFAILURE", "Delivery failure (data_sm_resp)", "permanent"),
    (0xFF, "ESME_RUNKNOWNERR", "Unknown error", "retryable"),
)

TABLE: dict[int, Status] = {row[0]: Status(*row) for row in _ROWS}
BY_NAME: dict[str, Status] = {status.name: status for status in TABLE.values()}

ESME_ROK = 0x00
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RSYSERR = 0x08
ESME_RINVDSTADR = 0x0B
ESME_RINVPASWD = 0x0E
ESME_RMSGQFUL = 0x14
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64


def lookup(code: int, overrides: dict[int, StatusClass] | None = None) -> Status:
    """The table row of `code`; unknown and vendor codes are `retryable` unless overridden."""
    status = TABLE.get(code)
    if status is None:
        vendor = 0x400 <= code <= 0x4FF
        status = Status(code, f"0x{code:08X}", "Vendor-specific error" if vendor
                        else "Unknown status", "retryable")
    if overrides and code in overrides:
        status = Status(status.code, status.name, status.description, overrides[code])
    return status


def name(code: int) -> str:
    return lookup(code).name


def error_for(code: int, overrides: dict[int, StatusClass] | None = None,
              *, retry_after: float | None = None) -> GatewayError | None:
    """The `gateways.errors` exception a command_status stands for (None for ESME_ROK)."""
    status = lookup(code, overrides)
    reason = f"{status.name}: {status.description}"
    if status.cls == "ok":
        return None
    if status.cls in ("throttle", "retryable"):
        return Retryable(reason, code=status.hex, retry_after=retry_after)
    if status.cls == "auth":
        return AuthFailed(reason, code=status.hex)
    return Permanent(reason, code=status.hex)
