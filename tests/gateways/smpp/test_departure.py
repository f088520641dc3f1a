"""The kernel's transmit stamps of a bind's writes (Linux; elsewhere the caller keeps its own)."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from gateways.smpp.departure import Departures


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPING is Linux's")
def test_each_write_gets_the_time_it_left_between_the_call_and_its_return() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    client.settimeout(5.0)  # as a bind's socket: the stamps must not wait for its timeout
    departures = Departures(client)
    assert departures.enabled
    for size in (60, 17, 200):
        before = time.monotonic()
        client.sendall(b"x" * size)
        left = departures.wrote(size)
        after = time.monotonic()
        assert left is not None and before - 0.001 <= left <= after + 0.001
        peer.recv(1000)
    started = time.monotonic()
    assert departures.wrote(0) is None  # nothing new: no stamp, and no wait
    assert time.monotonic() - started < 0.5
    departures.close()
    for sock in (client, peer, server):
        sock.close()
