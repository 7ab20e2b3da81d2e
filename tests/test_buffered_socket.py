"""The ingest session's buffered socket: paho's reads served from large chunks, its writes
gathered until a flush, nothing lost or reordered either way; and paho's seam it relies on."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from hemkoll.ingest.buffered_socket import READ_CHUNK_BYTES, BufferedClient, BufferedSocket
from hemkoll.settings import parse_mqtt_url


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    yield BufferedSocket(ours), theirs
    ours.close()
    theirs.close()


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=3 * READ_CHUNK_BYTES // 2),
    reads=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=50),
)
def test_small_reads_return_the_stream_in_order_from_few_system_calls(
    data: bytes, reads: list[int]
) -> None:
    ours, theirs = socket.socketpair()
    try:
        ours.setblocking(False)
        theirs.sendall(data)
        buffered = BufferedSocket(ours)
        got = bytearray()
        sizes = iter(reads * (len(data) // len(reads) + 2))
        while len(got) < len(data):
            try:
                chunk = buffered.recv(next(sizes))
            except BlockingIOError:  # the rest is not in the socket yet
                continue
            assert chunk
            got += chunk
        assert bytes(got) == data
        assert buffered.pending() == 0
        with pytest.raises(BlockingIOError):
            buffered.recv(1)
    finally:
        ours.close()
        theirs.close()


def test_pending_says_what_is_readable_without_the_socket(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, theirs = pair
    theirs.sendall(b"\x30\x05hello" * 10)
    assert buffered.pending() == 0  # nothing read from the socket yet
    assert buffered.recv(1) == b"\x30"
    assert buffered.pending() == 69  # the rest came with the first read
    assert buffered.recv(1) == b"\x05"
    assert buffered.recv(5) == b"hello"
    assert buffered.pending() == 63


def test_end_of_stream_reads_empty(pair: tuple[BufferedSocket, socket.socket]) -> None:
    buffered, theirs = pair
    theirs.sendall(b"ab")
    theirs.close()
    assert buffered.recv(1) == b"a"
    assert buffered.recv(10) == b"b"
    assert buffered.recv(10) == b""


def test_writes_wait_for_a_flush_and_leave_together(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, theirs = pair
    for i in range(100):
        assert buffered.send(b"\x40\x02" + i.to_bytes(2, "big")) == 4
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(1)  # nothing sent before the flush
    assert buffered.wants_flush()
    assert buffered.flush()
    assert not buffered.wants_flush()
    theirs.setblocking(True)
    got = b""
    while len(got) < 400:
        got += theirs.recv(400)
    assert got == b"".join(b"\x40\x02" + i.to_bytes(2, "big") for i in range(100))


def test_a_full_socket_keeps_the_rest_for_the_next_flush(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, theirs = pair
    payload = bytes(range(256)) * 40_000  # about 10 MB: more than the socket takes at once
    buffered.send(payload)
    assert not buffered.flush()
    assert buffered.wants_flush()
    received = bytearray()

    def read_all() -> None:
        while len(received) < len(payload):
            received.extend(theirs.recv(1 << 20))

    reader = threading.Thread(target=read_all)
    reader.start()
    while not buffered.flush():
        pass
    reader.join(30)
    assert bytes(received) == payload


def test_close_sends_what_is_still_gathered(pair: tuple[BufferedSocket, socket.socket]) -> None:
    """paho closes the socket right after its DISCONNECT: that packet must still go out."""
    buffered, theirs = pair
    buffered.send(b"\x40\x02\x00\x07")
    buffered.send(b"\xe0\x00")
    buffered.close()
    assert theirs.recv(100) == b"\x40\x02\x00\x07\xe0\x00"
    assert theirs.recv(100) == b""


def test_close_on_a_broken_connection_does_not_raise(
    pair: tuple[BufferedSocket, socket.socket],
) -> None:
    buffered, theirs = pair
    theirs.close()
    buffered.send(b"\xe0\x00" * 100_000)
    buffered.close()


def test_paho_runs_its_connections_on_the_buffered_socket(machine_broker_url: str) -> None:
    """The seam: paho's _create_socket. If paho moves it, this fails (and pyproject pins paho's
    minor release so that it is noticed before a deploy)."""
    endpoint = parse_mqtt_url(machine_broker_url)
    client = BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"buffered-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    assert client.connect(endpoint.host, endpoint.port) == MQTTErrorCode.MQTT_ERR_SUCCESS
    try:
        sock = client.buffered_socket()
        assert isinstance(sock, BufferedSocket)
        assert client.socket() is sock
        # The CONNECT is gathered, not sent, until the owner flushes.
        assert sock.wants_flush()
        assert sock.flush()
        for _ in range(50):
            if client.is_connected():
                break
            socket_ready = sock.pending() or client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
            assert socket_ready
            threading.Event().wait(0.05)
        assert client.is_connected()
    finally:
        client.disconnect()
    assert client.buffered_socket() is None
