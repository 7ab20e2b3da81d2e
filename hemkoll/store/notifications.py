"""The notification outbox (``notifications``, ``notification_attempts``): written in the
transaction that changes an alert, delivered by the dispatchers (``hemkoll.notify``); see
migration 0005 for the states of a notification.

Writing side (``enqueue_*``), called inside the transaction that changes an alert: writing
the notification in the same transaction as the change it announces is what makes "every
alert notified" hold: either both commit or neither does.

Delivering side: dispatchers claim due rows with a lease (SKIP LOCKED: several may run, none
sends a notification while another holds it), send, and record the attempt. A claim's
``lease_until`` is its fencing token: a dispatcher that lost its lease (it stalled past it and
another dispatcher claimed the row, or the row was redelivered) still logs the attempt it
made, but its result changes nothing. Then the delivery log, redelivery and the backlog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

Channel = Literal["care_team", "escalation", "device"]
Result = Literal["delivered", "retry", "expired", "gone"]
RedeliverOutcome = Literal["queued", "already_pending", "not_found"]
WebhookChannel = Literal["care_team", "escalation"]
AlertEvent = Literal["alert.opened", "alert.severity_raised", "alert.escalated"]
CONTACT_REQUESTED = "patient.contact_requested"
DeviceEvent = Literal[
    "alert.opened",
    "alert.severity_raised",
    "alert.acknowledged",
    "readings.in_range",
    "readings.received",
    "readings.measure_again",
    "readings.severe_symptom",
]
DISPATCH_CHANNEL = "hemkoll_dispatch"
# Where an alert notification's evidence snapshot comes from (enqueue_alert_webhook).
EvidenceSource = Literal["readings", "earlier"]
WebhookFormat = Literal["hemkoll", "fhir"]


def enqueue_alert_webhook(
    conn: Conn,
    alert_id: UUID,
    *,
    event: AlertEvent,
    channel: WebhookChannel = "care_team",
    evidence_from: EvidenceSource = "readings",
) -> UUID:
    """Queue a signed webhook about the alert, in one statement; the caller's transaction,
    which wakes the dispatchers once its webhooks are queued (``notify_dispatchers``: one
    NOTIFY for a batch of alerts, not one each). Returns its id.

    For a centre that takes FHIR webhooks the alert's evidence readings are snapshotted into
    the notification: from ``readings`` (the rules, who read them), or from the alert's
    ``earlier`` notification (the escalation: the dispatcher may not read readings).
    The id is made here and nothing is fetched, so a pipeline goes on (the rules worker's
    writes); an alert that does not exist fails the insert (``psycopg.errors.NotNullViolation``,
    raised at the latest when the caller's pipeline syncs).
    """
    notification_id = uuid4()
    conn.execute(
        query("enqueue_alert_webhook"),
        {
            "id": notification_id,
            "alert_id": alert_id,
            "event": event,
            "channel": channel,
            "evidence_from": evidence_from,
        },
    )
    return notification_id


def notify_dispatchers(conn: Conn) -> None:
    """Wake the dispatchers when the caller's transaction commits (``enqueue_alert_webhook``;
    PostgreSQL folds a transaction's identical notifications into one)."""
    conn.execute(query("notify_dispatch"))


def enqueue_contact_webhook(conn: Conn, contact_request_id: UUID) -> UUID:
    """Queue a signed webhook to the health centre about a patient's "please contact me";
    the caller's transaction (the one that stores the request). Returns its id."""
    row = conn.execute(
        query("enqueue_contact_webhook"),
        {"contact_request_id": contact_request_id, "event": CONTACT_REQUESTED},
    ).fetchone()
    if row is None:
        raise LookupError(f"no contact request {contact_request_id} to notify about")
    notify_dispatchers(conn)
    return UUID(str(row[0]))


def enqueue_device_messages_to_many(
    conn: Conn,
    messages: Sequence[tuple[UUID, Sequence[UUID] | None, DeviceEvent, str, str, UUID | None]],
) -> None:
    """Each (patient, the patient's given devices or None for every active one, event, English
    text, Swedish text, the alert it is about or None) of a batch: one round trip, nothing
    fetched."""
    if not messages:
        return
    with conn.cursor() as cur:
        cur.executemany(
            query("enqueue_device_messages"),
            [
                _device_message(
                    patient_id,
                    event=event,
                    text_en=text_en,
                    text_sv=text_sv,
                    alert_id=alert_id,
                    device_ids=device_ids,
                )
                for patient_id, device_ids, event, text_en, text_sv, alert_id in messages
            ],
        )
    notify_dispatchers(conn)


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
    params = _device_message(
        patient_id,
        event=event,
        text_en=text_en,
        text_sv=text_sv,
        alert_id=alert_id,
        device_ids=device_ids,
    )
    rows = conn.execute(query("enqueue_device_messages"), params).fetchall()
    if rows:
        notify_dispatchers(conn)
    return len(rows)


def _device_message(
    patient_id: UUID,
    *,
    event: DeviceEvent,
    text_en: str,
    text_sv: str,
    alert_id: UUID | None,
    device_ids: Sequence[UUID] | None,
) -> dict[str, object]:
    """The parameters of enqueue_device_messages: ``device_ids`` None, every active device."""
    return {
        "patient_id": patient_id,
        "alert_id": alert_id,
        "event": event,
        "text_en": text_en,
        "text_sv": text_sv,
        "device_ids": None if device_ids is None else list(device_ids),
    }


@dataclass(frozen=True)
class ClaimedNotification:
    """A notification leased for one attempt, with its endpoint as configured right now.

    ``url``/``signing_secret``: the centre's (care_team) or its escalation contact's
    (escalation) webhook, None when not configured; ``device_active``: for device messages.
    """

    id: UUID
    health_centre_id: UUID
    alert_id: UUID | None
    contact_request_id: UUID | None
    channel: str
    device_id: UUID | None
    event: str
    payload: dict[str, Any] = field(repr=False)
    # The alert's evidence readings (migration 0018) for a FHIR body; else None.
    evidence: list[dict[str, Any]] | None = field(repr=False)
    attempt: int
    lease_until: datetime
    # The centre's webhook body format and name, as configured right now.
    webhook_format: str
    centre_name: str
    url: str | None = field(repr=False)
    signing_secret: str | None = field(repr=False)
    device_active: bool | None


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt's result; ``retry_in`` only with ``result == 'retry'``."""

    result: Result
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    retry_in: timedelta | None = None


@dataclass(frozen=True)
class NotificationRow:
    id: UUID
    channel: str
    event: str
    device_id: UUID | None
    state: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class AttemptRow:
    notification_id: UUID
    attempt: int
    started_at: datetime
    duration_ms: int
    result: str
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class NotificationLog:
    """A notification of an alert with every attempt to deliver it, oldest first."""

    notification: NotificationRow
    attempts: tuple[AttemptRow, ...]


@dataclass(frozen=True)
class Backlog:
    pending: int
    due: int
    in_flight: int
    oldest_pending_age_s: float | None


# Due rows looked at per claim to find ones whose endpoint is below its cap: a centre with a
# larger backlog of due retries than this can delay other centres' retries (never a first
# attempt, which comes first) until its backlog drains.
CLAIM_SCAN = 200


# A claim's lane (claim_notifications): patients' device messages, or the care team's webhooks.
Lane = Literal["device", "webhook"]
# In the delivery log's error of an attempt recorded after its claim was lost.
LEASE_LOST_NOTE = "recorded after its lease was lost; not applied"


def claim(
    conn: Conn, *, limit: int, lease_s: float, per_endpoint: int, lane: Lane | None = None
) -> list[ClaimedNotification]:
    """Lease up to ``limit`` due notifications of ``lane`` for ``lease_s`` seconds; commits.

    At most ``per_endpoint`` notifications per webhook endpoint are in flight at once. Without
    a lane, webhooks first, then device messages up to ``limit`` (one-off runs and tests).
    """
    if lane is None:
        claims = claim(
            conn, limit=limit, lease_s=lease_s, per_endpoint=per_endpoint, lane="webhook"
        )
        if len(claims) < limit:
            claims += claim(
                conn,
                limit=limit - len(claims),
                lease_s=lease_s,
                per_endpoint=per_endpoint,
                lane="device",
            )
        return claims
    with conn.transaction(), conn.cursor(row_factory=class_row(ClaimedNotification)) as cur:
        return cur.execute(
            query("claim_notifications"),
            {
                "device": lane == "device",
                "limit": limit,
                "lease_s": lease_s,
                "per_endpoint": per_endpoint,
                # Device messages are not capped per endpoint: their first rows are theirs.
                "scan": limit if lane == "device" else max(CLAIM_SCAN, limit),
            },
        ).fetchall()


def _record_params(claimed: ClaimedNotification, attempt: AttemptRecord) -> dict[str, object]:
    if (attempt.result == "retry") != (attempt.retry_in is not None):
        raise ValueError("a retry, and only a retry, has a delay")
    return {
        "id": claimed.id,
        "lease_until": claimed.lease_until,
        "attempt": claimed.attempt,
        "result": attempt.result,
        "retry_in_s": attempt.retry_in.total_seconds() if attempt.retry_in is not None else 0.0,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "lost": LEASE_LOST_NOTE,
    }


def record(conn: Conn, claimed: ClaimedNotification, attempt: AttemptRecord) -> bool:
    """Log the attempt and settle the notification, in a transaction of its own (or a
    savepoint of the caller's).

    False when the claim no longer held (lease lost): the attempt is logged all the same,
    marked as such, and the notification is left as the newer claim or redelivery has it.
    """
    with conn.transaction():
        return settle(conn, claimed, attempt)


def settle(conn: Conn, claimed: ClaimedNotification, attempt: AttemptRecord) -> bool:
    """``record`` in the caller's transaction: one statement, no savepoint."""
    row = conn.execute(
        query("record_notification_attempt"), _record_params(claimed, attempt)
    ).fetchone()
    return bool(row and row[0])


def record_many(
    conn: Conn, attempts: Sequence[tuple[ClaimedNotification, AttemptRecord]]
) -> list[bool]:
    """``record`` for each of a batch, in one transaction and one round trip; whether each
    was applied, in order."""
    if not attempts:
        return []
    params = [_record_params(claimed, attempt) for claimed, attempt in attempts]
    applied: list[bool] = []
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(query("record_notification_attempt"), params, returning=True)
        while True:
            row = cur.fetchone()
            applied.append(bool(row and row[0]))
            if not cur.nextset():
                break
    return applied


def hold(conn: Conn, claimed: ClaimedNotification, *, hold_s: float, error: str) -> bool:
    """Give back a claim the dispatcher could not handle (a bug): no attempt spent, not due
    again for ``hold_s`` seconds. False when the claim no longer held."""
    with conn.transaction():
        row = conn.execute(
            query("hold_notification"),
            {
                "id": claimed.id,
                "lease_until": claimed.lease_until,
                "hold_s": hold_s,
                "error": error,
            },
        ).fetchone()
    return row is not None


def next_due_in(conn: Conn) -> float | None:
    """Seconds until the next pending notification is due (<= 0: now); None if none pending."""
    with conn.transaction():
        row = conn.execute(query("next_notification_due_in")).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def redeliver(conn: Conn, notification_id: UUID) -> RedeliverOutcome:
    """Put a delivered, expired or gone notification back to pending, due now, same id."""
    with conn.transaction():
        if conn.execute(query("redeliver_notification"), {"id": notification_id}).fetchone():
            notify_dispatchers(conn)
            return "queued"
        state = conn.execute(query("notification_state"), {"id": notification_id}).fetchone()
    return "not_found" if state is None else "already_pending"


def retry_pending_now(conn: Conn, health_centre_id: UUID) -> int:
    """Make a centre's pending webhooks due now (call when its endpoints change); how many."""
    with conn.transaction():
        count = conn.execute(
            query("retry_pending_webhooks_now"), {"health_centre_id": health_centre_id}
        ).rowcount
        if count:
            notify_dispatchers(conn)
    return count


def retry_endpoint_backlog_now(conn: Conn, health_centre_id: UUID, channel: str) -> int:
    """After a delivery: the endpoint's notifications waiting for a later retry are due now."""
    with conn.transaction():
        return len(
            conn.execute(
                query("retry_endpoint_backlog_now"),
                {"health_centre_id": health_centre_id, "channel": channel},
            ).fetchall()
        )


def delivery_log(conn: Conn, alert_id: UUID) -> list[NotificationLog]:
    """Every notification of the alert, oldest first, each with its attempts."""
    with conn.cursor(row_factory=class_row(NotificationRow)) as cur:
        notifications = cur.execute(
            query("notifications_of_alert"), {"alert_id": alert_id}
        ).fetchall()
    with conn.cursor(row_factory=class_row(AttemptRow)) as cur:
        attempts = cur.execute(
            query("notification_attempts_of_alert"), {"alert_id": alert_id}
        ).fetchall()
    by_notification: dict[UUID, list[AttemptRow]] = {}
    for attempt in attempts:
        by_notification.setdefault(attempt.notification_id, []).append(attempt)
    return [NotificationLog(n, tuple(by_notification.get(n.id, ()))) for n in notifications]


def backlog(conn: Conn) -> Backlog:
    with conn.cursor(row_factory=class_row(Backlog)) as cur:
        row = cur.execute(query("notification_backlog")).fetchone()
    if row is None:
        raise RuntimeError("notification_backlog returned no row")
    return row


def delete_settled(conn: Conn, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` notifications settled for good and created before ``before``,
    with their attempts, in a transaction of their own; how many (the retention job's batch:
    ``notify.retention``)."""
    with conn.transaction():
        row = conn.execute(
            query("delete_settled_notifications"), {"before": before, "limit": limit}
        ).fetchone()
    if row is None:
        raise RuntimeError("delete_settled_notifications returned no row")
    return int(row[0])


@dataclass(frozen=True)
class NotificationOwner:
    health_centre_id: UUID
    patient_id: UUID
    alert_id: UUID | None


def notification_owner(conn: Conn, notification_id: UUID) -> NotificationOwner | None:
    with conn.cursor(row_factory=class_row(NotificationOwner)) as cur:
        return cur.execute(
            query("notification_owner"), {"notification_id": notification_id}
        ).fetchone()
