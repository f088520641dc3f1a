"""The kernel's transmit stamps of a bind's writes (Linux; elsewhere the caller keeps its own)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import time

import pytest

from gateways.smpp.connection import Connection
from gateways.smpp.departure import Departures


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPING is Linux's")
def test_each_write_gets_the_time_it_left_between_the_call_and_its_return() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    # As a bind's socket: blocking, timing out in the kernel after 5 s; the stamps must not
    # wait for that, nor make the socket non-blocking (a read would then fail at once).
    Connection._time_out_in_the_kernel(client, 5.0)
    departures = Departures(client)
    assert client.getblocking() and os.get_blocking(client.fileno())
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
    started = time.monotonic()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", 0, 100_000))
    with pytest.raises(BlockingIOError):  # still blocking: the read waits out its timeout
        client.recv(10)
    assert time.monotonic() - started >= 0.09
    departures.close()
    for sock in (client, peer, server):
        sock.close()
