"""A socket wrapper that reads and writes paho's packets in large chunks.

paho-mqtt reads each packet with at least three ``recv`` calls (the command byte, each byte of
the remaining length, then the body) and sends each packet with a ``send`` call of its own. For
ingest that is five or six system calls per message (three to read it, one to acknowledge it,
one for the device's feedback), and each one releases and retakes the GIL that the other
threads are competing for. This wrapper reads up to ``READ_CHUNK_BYTES`` per system call and
serves paho's small reads from that buffer; writes are gathered until ``flush()`` and sent
together, so the acknowledgements and feedback of a whole batch leave in a few system calls.

paho accepts such an object where it expects a socket (it ships one itself, the WebSocket
wrapper): it needs ``recv``, ``send``, ``setblocking``, ``fileno``, ``close`` and, for the
select loop, ``pending`` (how much can be read without waiting on the socket).
``BufferedClient`` is paho's client creating its connections on this wrapper. Both are driven
by one thread only (``mqtt_session.py``'s network thread), so the wrapper holds no lock.
"""

from __future__ import annotations

import logging
import socket
import ssl

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

# Bytes asked of the kernel per read: a backlog of small messages (a few hundred bytes each)
# comes in a few hundred per system call. A socket receive buffer is typically 128 KiB or
# more, so a larger chunk rarely gets more.
READ_CHUNK_BYTES = 64 * 1024
# paho closes the socket as soon as it has "sent" a DISCONNECT (to us, into the buffer): what
# is still gathered then (the DISCONNECT, acknowledgements before it) may take this long to
# reach the broker. Whatever does not is redelivered to the next connection and stored as
# duplicates, so this only saves work.
CLOSE_FLUSH_S = 5.0


class BufferedSocket:
    """Wraps a connected (possibly TLS) socket; one thread only."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket) -> None:
        self._sock = sock
        self._in = b""
        self._in_pos = 0
        self._out = bytearray()

    # -- what paho calls ----------------------------------------------------------------------

    def recv(self, bufsize: int) -> bytes:
        """Up to ``bufsize`` bytes: from the buffer, or one read of the socket.

        An empty socket raises what the socket raises (BlockingIOError, or SSLWantReadError on
        TLS), which paho takes as "nothing to read yet"; end of stream returns b"".
        """
        available = len(self._in) - self._in_pos
        if available == 0:
            data = self._sock.recv(max(bufsize, READ_CHUNK_BYTES))
            if len(data) <= bufsize:
                return data
            self._in, self._in_pos, available = data, 0, len(data)
        start = self._in_pos
        end = start + min(bufsize, available)
        self._in_pos = end
        if end == len(self._in):
            chunk = self._in[start:] if start else self._in
            self._in, self._in_pos = b"", 0
            return chunk
        return self._in[start:end]

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Take ``data`` for the next ``flush()``; paho counts it as written."""
        self._out += data
        return len(data)

    def pending(self) -> int:
        """Bytes readable without waiting on the socket: ours, and TLS's decrypted ones."""
        buffered = len(self._in) - self._in_pos
        if isinstance(self._sock, ssl.SSLSocket):
            buffered += self._sock.pending()
        return buffered

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        """Send what is still gathered (within CLOSE_FLUSH_S), then close."""
        unsent = len(self._out)
        try:
            if self._out:
                self._sock.settimeout(CLOSE_FLUSH_S)
                self._sock.sendall(self._out)
                unsent = 0
        except OSError as exc:  # a lost connection: the broker redelivers what it lacks
            log.debug("connection closed with %d bytes unsent (%s)", unsent, exc)
        finally:
            self._out.clear()
            self._sock.close()

    # -- what the session's network thread calls ---------------------------------------------

    def wants_flush(self) -> bool:
        return bool(self._out)

    def flush(self) -> bool:
        """Send what was gathered, as far as the socket takes it now.

        True when all of it went; False when the socket is full (the rest waits for the next
        flush, once select says the socket is writable). A broken connection raises OSError.
        """
        while self._out:
            try:
                sent = self._sock.send(self._out)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return False
            del self._out[:sent]
        return True


class BufferedClient(mqtt.Client):
    """paho's client, its connections on a ``BufferedSocket``.

    paho creates each connection's socket in ``_create_socket`` (where it wraps TLS and
    WebSocket transports itself); this wraps the result once more. A private method of paho:
    pyproject.toml pins paho-mqtt to a minor release, and tests/test_buffered_socket.py fails
    if the seam moves.
    """

    _buffered: BufferedSocket | None = None

    def _create_socket(self) -> BufferedSocket:
        sock = super()._create_socket()
        if not isinstance(sock, socket.socket):  # a WebSocket transport: not used by hemkoll
            raise TypeError(f"cannot buffer a {type(sock).__name__}")
        self._buffered = BufferedSocket(sock)
        return self._buffered

    def buffered_socket(self) -> BufferedSocket | None:
        """The current connection's socket; None when there is no connection."""
        current = self.socket()
        return self._buffered if current is not None and current is self._buffered else None
