"""Opening PostgreSQL connections the same way everywhere."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

log = logging.getLogger(__name__)

T = TypeVar("T")

# The connection every store function takes (rows as tuples unless a cursor asks otherwise).
Conn = psycopg.Connection[TupleRow]

# Reconnect backoff: start fast (a restart of PostgreSQL takes about a second) and cap at
# 30 s so that an outage of minutes is noticed within half a minute of its end.
RECONNECT_MIN_DELAY_S = 0.5
RECONNECT_MAX_DELAY_S = 30.0


def configure(conn: Conn) -> None:
    """Every hemkoll session reads and writes times in UTC."""
    conn.execute("SET TIME ZONE 'UTC'")


def connect(conninfo: str, *, autocommit: bool = False) -> Conn:
    conn = psycopg.connect(conninfo, autocommit=autocommit)
    configure(conn)
    if not autocommit:
        conn.commit()
    return conn


def connect_with_retry(
    conninfo: str,
    *,
    stopping: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> Conn | None:
    """Connect, retrying with exponential backoff; None if ``stopping()`` became true first."""
    delay = RECONNECT_MIN_DELAY_S
    while not stopping():
        try:
            return connect(conninfo)
        except psycopg.OperationalError as exc:
            log.warning("PostgreSQL unavailable (%s); retrying in %.1f s", exc.sqlstate, delay)
            sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY_S)
    return None


def serve_until_stopped(serve: Callable[[], None], stopping: threading.Event, who: str) -> None:
    """Run ``serve`` (which connects and works until ``stopping``) again after each database
    outage, waiting with exponential backoff; returns once ``stopping`` is set."""
    delay = RECONNECT_MIN_DELAY_S
    while not stopping.is_set():
        try:
            serve()
            delay = RECONNECT_MIN_DELAY_S
        except psycopg.OperationalError as exc:
            log.warning("database unavailable (%s); %s retries in %.1f s", exc.sqlstate, who, delay)
            stopping.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY_S)


def retry_through_outages(
    attempt: Callable[[], T],
    *,
    drop_connection: Callable[[], None],
    stopping: threading.Event,
    what: str,
) -> T | None:
    """``attempt()`` until it returns, dropping the connection and waiting with exponential
    backoff after each outage (psycopg.OperationalError); None if ``stopping`` is set while the
    database is away. The first attempt is always made, so a stop request still finishes the
    work in hand. Other errors are the caller's."""
    delay = RECONNECT_MIN_DELAY_S
    while True:
        try:
            return attempt()
        except psycopg.OperationalError as exc:
            log.warning(
                "database error while %s (%s); retrying in %.1f s", what, exc.sqlstate, delay
            )
            drop_connection()
        if stopping.wait(delay):
            return None
        delay = min(delay * 2, RECONNECT_MAX_DELAY_S)
