"""Endpoint health: each health centre's notification endpoints (``care_team`` and
``escalation``), how many attempts in a row have failed and since when.

The dispatcher observes every attempt on a centre's endpoint in the transaction that records
it (``notify.dispatcher``); the workers' metrics sample it (``observability.backlog``) and the
console's follow-up page shows the centre's own. Device messages are not endpoints of a
centre and are not kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class EndpointHealth:
    health_centre_id: UUID
    channel: str
    failures: int
    failing_since: datetime | None
    last_error: str | None
    last_attempt_at: datetime
    last_delivered_at: datetime | None

    @property
    def failing(self) -> bool:
        return self.failures > 0


def observe(
    conn: Conn,
    health_centre_id: UUID,
    channel: str,
    *,
    at: datetime,
    delivered: bool,
    error: str | None,
) -> int:
    """One attempt on the endpoint, started ``at`` (in the caller's transaction); how many
    attempts in a row had failed before it."""
    row = conn.execute(
        query("observe_endpoint_attempt"),
        {
            "health_centre_id": health_centre_id,
            "channel": channel,
            "at": at,
            "delivered": delivered,
            "error": error,
        },
    ).fetchone()
    return int(row[0]) if row else 0


def all_endpoints(conn: Conn) -> list[EndpointHealth]:
    with conn.cursor(row_factory=class_row(EndpointHealth)) as cur:
        return cur.execute(query("endpoint_health_all")).fetchall()


def of_centre(conn: Conn, health_centre_id: UUID) -> list[EndpointHealth]:
    with conn.cursor(row_factory=class_row(EndpointHealth)) as cur:
        return cur.execute(
            query("endpoint_health_of_centre"), {"health_centre_id": health_centre_id}
        ).fetchall()
