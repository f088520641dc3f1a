"""For the SMPP transport tests: fast session settings, texts and a receipt store."""

from __future__ import annotations

import threading
from typing import Any

from gateways.results import Inbound, Receipt
from gateways.smpp.config import SessionConfig
from gateways.smpp.session import DeliverEvent
from tests.helpers.factories import SMPP_PASSWORD, SMPP_SYSTEM_ID


def fast_config(port: int, **changes: Any) -> SessionConfig:
    """A config with test-sized timers."""
    values: dict[str, Any] = dict(
        host="127.0.0.1", port=port, system_id=SMPP_SYSTEM_ID, password=SMPP_PASSWORD, source="LOA",
        window=10, id_format="hex", enquire_link_interval=5.0, response_timeout=5.0,
        connect_timeout=2.0, socket_timeout=0.5, reconnect_initial=0.05, reconnect_max=0.5,
        auth_retry_delay=0.2, queue_timeout=5.0, drain_timeout=2.0)
    values.update(changes)
    return SessionConfig(**values)





GSM_LONG = ("Thong bao: Cong an huyen Chau Thanh A de nghi nguoi dan khong chuyen tien cho nguoi "
            "la tu xung la can bo. Moi thac mac lien he so 0293 3946 123 [24/7] de duoc ho tro.")


VI_LONG = ("Sở Thông tin và Truyền thông thông báo: từ ngày 1/12, người dân có thể tra cứu kết "
           "quả hồ sơ trực tuyến trên ứng dụng của tỉnh. Xin cảm ơn!")


class Store:
    """An on_deliver callback that keeps what it was given."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[DeliverEvent] = []
        self.calls = 0
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, event: DeliverEvent) -> bool:
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                return False
            self.events.append(event)
            return True

    @property
    def receipts(self) -> list[Receipt]:
        return [e for e in self.events if isinstance(e, Receipt)]

    @property
    def inbound(self) -> list[Inbound]:
        return [e for e in self.events if isinstance(e, Inbound)]
