"""A load generator that costs the machine as little as possible: raw MQTT 3.1.1 QoS-1 publishes.

paho-mqtt spends on the order of 100 us of Python per QoS-1 publish; on a 2-core machine three
paho publisher processes took more CPU than the ingest service they were measuring (seen with
top during bench/ingest.py). This publisher encodes every PUBLISH packet up front, writes them
in large chunks, and keeps a window of unacknowledged packets by counting PUBACKs (MQTT 3.1.1
section 4.6 lets a publisher have many in flight). It is a benchmark tool only: the product's
devices use paho (hemkoll.simulator.publisher).
"""

from __future__ import annotations

import select
import socket
import struct
from collections.abc import Sequence

# Unacknowledged publishes allowed in flight; Mosquitto accepts far more from one client at
# QoS 1, and 1000 keeps the socket busy without risking packet-id reuse (ids cycle to 65,535).
WINDOW = 1000
# Bytes written per send call.
CHUNK_BYTES = 256 * 1024
_PUBACK = 0x40


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, keepalive: int = 60) -> bytes:
    body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + _string(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + _remaining_length(len(body)) + body


def publish_all(
    host: str, port: int, client_id: str, messages: Sequence[tuple[str, bytes]]
) -> None:
    """Publish every (topic, payload) at QoS 1 and return when every PUBACK is in."""
    packets = [
        publish_packet(topic, payload, i % 65535 + 1) for i, (topic, payload) in enumerate(messages)
    ]
    with socket.create_connection((host, port)) as sock:
        handshake(sock, client_id)
        sent = acked = 0
        pending = b""
        while acked < len(packets):
            if sent < len(packets) and sent - acked < WINDOW:
                end = min(len(packets), acked + WINDOW)
                chunk = bytearray()
                while sent < end and len(chunk) < CHUNK_BYTES:
                    chunk += packets[sent]
                    sent += 1
                sock.sendall(chunk)
            data = sock.recv(65536) if sent - acked >= WINDOW or sent == len(packets) else b""
            if not data and (sent - acked >= WINDOW or sent == len(packets)):
                raise ConnectionError("broker closed the connection")
            pending += data
            count, pending = _count_pubacks(pending)
            acked += count
        sock.sendall(b"\xe0\x00")  # DISCONNECT


def handshake(sock: socket.socket, client_id: str, keepalive: int = 60) -> None:
    """Send CONNECT and wait for the broker's CONNACK accepting it."""
    sock.sendall(connect_packet(client_id, keepalive))
    connack = _read_exactly(sock, 4)
    if connack[0] != 0x20 or connack[3] != 0:
        raise ConnectionError(f"broker refused {client_id}: {connack!r}")


def drain_pubacks(sock: socket.socket, pending: bytes, timeout: float) -> tuple[bytes, int]:
    """Count the PUBACKs that arrive within ``timeout`` (then without waiting while more are
    there); ``pending`` is a partial packet left from the last call, and is returned updated."""
    total = 0
    while True:
        readable, _, _ = select.select([sock], [], [], timeout)
        if not readable:
            return pending, total
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("broker closed the publisher's connection")
        count, pending = _count_pubacks(pending + data)
        total += count
        timeout = 0.0


def _count_pubacks(buffer: bytes) -> tuple[int, bytes]:
    count = 0
    pos = 0
    while len(buffer) - pos >= 4:
        if buffer[pos] != _PUBACK or buffer[pos + 1] != 2:
            raise ConnectionError(f"unexpected packet from broker: {buffer[pos : pos + 4]!r}")
        count += 1
        pos += 4
    return count, buffer[pos:]


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data
