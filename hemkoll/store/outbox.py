"""The notification outbox's writing side: called inside the transaction that changes an alert.

Writing the notification in the same transaction as the change it announces is what makes
"every alert notified" hold: either both commit or neither does. The dispatcher
(``hemkoll.api.notify``) delivers the rows; see migration 0005 for their states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

WebhookChannel = Literal["care_team", "escalation"]
AlertEvent = Literal["alert.opened", "alert.severity_raised", "alert.escalated"]
DeviceEvent = Literal["alert.opened", "alert.acknowledged", "readings.in_range"]
DISPATCH_CHANNEL = "hemkoll_dispatch"


def enqueue_alert_webhook(
    conn: Conn, alert_id: UUID, *, event: AlertEvent, channel: WebhookChannel = "care_team"
) -> UUID:
    """Queue a signed webhook about the alert; the caller's transaction. Returns its id."""
    row = conn.execute(
        query("enqueue_alert_webhook"),
        {"alert_id": alert_id, "event": event, "channel": channel},
    ).fetchone()
    if row is None:
        raise LookupError(f"no alert {alert_id} to notify about")
    conn.execute(query("notify_dispatch"))
    return UUID(str(row[0]))


def enqueue_device_messages_to_many(
    conn: Conn,
    targets: Sequence[tuple[UUID, Sequence[UUID]]],
    *,
    event: DeviceEvent,
    text_en: str,
    text_sv: str,
) -> None:
    """One message to each (patient, the patient's given devices) of a batch: one round trip."""
    if not targets:
        return
    with conn.cursor() as cur:
        cur.executemany(
            query("enqueue_device_messages"),
            [
                {
                    "patient_id": patient_id,
                    "alert_id": None,
                    "event": event,
                    "text_en": text_en,
                    "text_sv": text_sv,
                    "device_ids": list(device_ids),
                }
                for patient_id, device_ids in targets
            ],
        )
    conn.execute(query("notify_dispatch"))


def enqueue_device_messages(
    conn: Conn,
    patient_id: UUID,
    *,
    event: DeviceEvent,
    text_en: str,
    text_sv: str,
    alert_id: UUID | None = None,
    device_ids: Sequence[UUID] | None = None,
) -> int:
    """Queue a message to the patient's active devices (or the given ones); how many."""
    rows = conn.execute(
        query("enqueue_device_messages"),
        {
            "patient_id": patient_id,
            "alert_id": alert_id,
            "event": event,
            "text_en": text_en,
            "text_sv": text_sv,
            "device_ids": None if device_ids is None else list(device_ids),
        },
    ).fetchall()
    if rows:
        conn.execute(query("notify_dispatch"))
    return len(rows)
