"""SMPP 3.4 transport (ESME side): sessions, the shared throttle, receipts and MO.

No Flask, no SQLAlchemy, nothing from `dispatch`: plain values in, `gateways.results` values and
`gateways.errors` exceptions out. The dispatch side owns accounts, routing and the ledger.

Public API:
- `SessionConfig` (config.py): one bind's settings (host, credentials, `BindMode`, window,
  sender and TON/NPI, validity, concatenation mode, `IdFormat`s, timers).
- `Session` (session.py, built on connection.py, window.py and reader.py): owns one bind.
  `start()`, `wait_bound()`, `submit(OutboundSms)` -> `SubmitHandle` (`wait()`,
  `add_done_callback()`), `submit_many()`, `status()` -> `SessionStatus` (metrics.py),
  `close()`. Call `start()` before submitting. Receipts (`gateways.results.Receipt`) and MO
  (`Inbound`, or each part as a `Fragment` when `mo_reassembly="owner"`), a `DeliverEvent`,
  go to `on_deliver(event) -> bool` or `on_deliver_later(event, ack: Ack)`; see delivery.py
  (storing must be idempotent: the SMSC redelivers what it did not see acknowledged);
  acknowledgements given inside `answers_together()` go in one write per bind.
- `OutboundSms` (message.py): ref, destination, final text, optional sender and validity.
- `SubmitOutcome` / `PartOutcome` (outcome.py): per part `accepted` (normalised SMSC id),
  `failed` (Retryable/Permanent/AuthFailed from the status table), `unknown` (Unknowable: the
  link died or no answer came; never resend blindly) or `not_sent`; `.outcome` is the message's
  `gateways.outcome.Outcome`, the type every gateway gives back.
- `RedisThrottle` / `LocalThrottle` (throttle.py, both a `Throttle`): the per-account rate,
  shared by processes through a Redis key the caller names; `RedisThrottle.peek()` ->
  `ThrottleState` (wait, penalty level, rate now) for metrics.
- `status` (status.py): the command_status table and `error_for(code)`.
- `parse_receipt`, `normalise_id`, `decode_text`: receipt parsing, id normalisation and a
  short_message's text by data_coding, also usable by the dispatch side (e.g. to re-parse a
  stored raw receipt).

A transmitter + receiver account is two sessions (bind_mode "transmitter" and "receiver");
several binds of one account share one throttle.
"""

from gateways.smpp.config import BindMode, SessionConfig
from gateways.smpp.delivery import Ack, DeliverEvent, answers_together
from gateways.smpp.inbound import decode_text, parse_receipt
from gateways.smpp.message import IdFormat, OutboundSms, normalise_id
from gateways.smpp.metrics import SessionStatus
from gateways.smpp.outcome import PartOutcome, SubmitHandle, SubmitOutcome
from gateways.smpp.session import Session
from gateways.smpp.throttle import LocalThrottle, RedisThrottle, Throttle, ThrottleState

__all__ = [
    "Ack",
    "BindMode",
    "DeliverEvent",
    "IdFormat",
    "LocalThrottle",
    "OutboundSms",
    "PartOutcome",
    "RedisThrottle",
    "Session",
    "SessionConfig",
    "SessionStatus",
    "SubmitHandle",
    "SubmitOutcome",
    "Throttle",
    "ThrottleState",
    "answers_together",
    "decode_text",
    "normalise_id",
    "parse_receipt",
]
