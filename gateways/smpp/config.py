"""The settings of one SMPP bind, as plain values (the dispatch side fills them from an account)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, timedelta, tzinfo
from typing import Literal

from gateways.smpp.message import Addressing, Concat, IdFormat
from gateways.smpp.status import StatusClass

BindMode = Literal["transceiver", "transmitter", "receiver"]


@dataclass(frozen=True)
class SessionConfig:
    """Everything a `Session` needs; times are in seconds."""

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    bind_mode: BindMode = "transceiver"
    window: int = 10  # submit_sm sent and not yet answered, at most
    # What goes into every submit_sm.
    source: str = ""  # default sender: a brandname or a number
    source_ton: int | None = None  # None: 5/0 for a brandname, 1/1 (3/0 short code) for digits
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    service_type: str = ""
    registered_delivery: int = 1  # SMSC delivery receipt requested
    validity: timedelta | None = None
    concat: Concat = "udh"
    # How this SMSC writes message ids: submit_sm_resp, and receipts when they differ.
    id_format: IdFormat = "raw"
    receipt_id_format: IdFormat | None = None
    receipt_timezone: tzinfo = UTC  # the zone of `done date:` in receipt texts
    status_overrides: dict[int, StatusClass] = field(default_factory=dict)
    # Timers.
    enquire_link_interval: float = 30.0
    response_timeout: float = 30.0  # for submit_sm_resp and enquire_link_resp
    connect_timeout: float = 10.0
    socket_timeout: float = 5.0
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0
    auth_retry_delay: float = 300.0  # after a refused bind: no tight loop
    auth_max_attempts: int = 3  # then stay `auth_failed` until a new session is made
    throttle_retry_limit: float = 120.0  # a part refused with 0x58/0x14 is resent this long
    part_retries: int = 2  # other retryable refusals of a part after the first
    queue_limit: int = 0  # messages waiting for the window; 0 means 4 x window
    queue_timeout: float = 60.0  # a waiting message fails (not sent) after this long unbound
    drain_timeout: float = 10.0  # close() waits this long for the window to empty
    # Parts of concatenated MO: "memory" joins them in this process (at most
    # `mo_pending_limit` unfinished messages, then parts are refused for now); "owner" hands
    # each part to the owner as a `Fragment`, answered once the owner stored it.
    mo_reassembly: Literal["memory", "owner"] = "memory"
    mo_reassembly_timeout: float = 300.0
    mo_pending_limit: int = 10_000

    @property
    def addressing(self) -> Addressing:
        return Addressing(self.source, self.source_ton, self.source_npi, self.dest_ton,
                          self.dest_npi, self.service_type, self.registered_delivery,
                          self.validity, self.concat)
