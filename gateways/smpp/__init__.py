"""SMPP 3.4 transport (ESME side): sessions, the shared throttle, receipts and MO.

No Flask, no SQLAlchemy, nothing from `dispatch`: plain values in, `gateways.results` values and
`gateways.errors` exceptions out. The dispatch side owns accounts, routing and the ledger.

Public API:
- `SessionConfig` (config.py): one bind's settings (host, credentials, bind mode, window,
  sender and TON/NPI, validity, concatenation mode, id formats, timers).
- `Session` (session.py): owns one bind. `start()`, `wait_bound()`, `submit(OutboundSms)` ->
  `SubmitHandle` (`wait()`, `add_done_callback()`), `submit_many()`, `status()` ->
  `SessionStatus` (metrics.py), `close()`. Call `start()` before submitting. Receipts
  (`gateways.results.Receipt`) and MO (`Inbound`, or each part as a `Fragment` when
  `mo_reassembly="owner"`) go to `on_deliver(event) -> bool` or `on_deliver_later(event,
  ack)`; see delivery.py (storing must be idempotent: the SMSC redelivers what it did not see
  acknowledged).
- `OutboundSms` (message.py): ref, destination, final text, optional sender and validity.
- `SubmitOutcome` / `PartOutcome` (outcome.py): per part `accepted` (normalised SMSC id),
  `failed` (Retryable/Permanent/AuthFailed from the status table), `unknown` (Unknowable: the
  link died or no answer came; never resend blindly) or `not_sent`; `.outcome` is the message's
  `gateways.outcome.Outcome`, the type every gateway gives back.
- `RedisThrottle` / `LocalThrottle` (throttle.py): the per-account rate, shared by processes.
- `status` (status.py): the command_status table and `error_for(code)`.
- `inbound.parse_receipt`, `message.normalise_id`: receipt parsing and id normalisation, also
  usable by the dispatch side (e.g. to re-parse a stored raw receipt).

A transmitter + receiver account is two sessions (bind_mode "transmitter" and "receiver");
several binds of one account share one throttle.
"""

from gateways.smpp.config import SessionConfig
from gateways.smpp.message import OutboundSms, normalise_id
from gateways.smpp.metrics import SessionStatus
from gateways.smpp.outcome import PartOutcome, SubmitHandle, SubmitOutcome
from gateways.smpp.session import Session
from gateways.smpp.throttle import LocalThrottle, RedisThrottle

__all__ = [
    "LocalThrottle",
    "OutboundSms",
    "PartOutcome",
    "RedisThrottle",
    "Session",
    "SessionConfig",
    "SessionStatus",
    "SubmitHandle",
    "SubmitOutcome",
    "normalise_id",
]
