"""LISTEN/NOTIFY: how a worker whose queue is a table hears that there is work.

A NOTIFY only shortens a wait: the table (the evaluation queue, the outbox) is the truth, and a
NOTIFY sent while a worker reconnected is lost, so every wait has a timeout after which the
worker looks again anyway.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Iterator

from psycopg import sql

from hemkoll.store.connect import Conn, connect

# Bytes of wake-up signals read at once: one per wake-up, so one read takes them all.
WAKE_DRAIN_BYTES = 4096


class Listener:
    """An autocommit connection LISTENing on one channel."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def wait(self, timeout: float, *, wake: socket.socket | None = None) -> None:
        """Until a NOTIFY, a byte on ``wake`` (a non-blocking socket another thread writes to),
        or ``timeout`` seconds; whatever arrived is consumed."""
        listen_fd = self._conn.fileno()
        fds = [listen_fd] if wake is None else [listen_fd, wake.fileno()]
        readable, _, _ = select.select(fds, [], [], timeout)
        if listen_fd in readable:
            for _ in self._conn.notifies(timeout=0):
                pass
        if wake is not None and wake.fileno() in readable:
            with contextlib.suppress(BlockingIOError):
                while wake.recv(WAKE_DRAIN_BYTES):
                    pass


@contextlib.contextmanager
def listening(conninfo: str, channel: str) -> Iterator[Listener]:
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield Listener(conn)
