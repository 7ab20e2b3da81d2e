"""Every hemkoll Prometheus metric. Labels never carry patient data or ids."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Ingest.
INGEST_MESSAGES = Counter(
    "hemkoll_ingest_messages_total", "MQTT messages handled (stored, duplicate or rejected)"
)
INGEST_READINGS_STORED = Counter("hemkoll_ingest_readings_stored_total", "Readings newly stored")
INGEST_READINGS_DUPLICATE = Counter(
    "hemkoll_ingest_readings_duplicate_total", "Readings received again and already stored"
)
INGEST_BATCH_SECONDS = Histogram(
    "hemkoll_ingest_batch_seconds",
    "Time to commit one batch of readings and dead letters",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGEST_BROKER_LAG_SECONDS = Gauge(
    "hemkoll_ingest_broker_lag_seconds",
    "Age of the oldest message received from the broker and not yet committed and acknowledged",
)
DEAD_LETTERS = Counter(
    "hemkoll_dead_letters_total", "Messages or readings refused, by reason code", ["reason"]
)

# Rules.
EVALUATIONS = Counter("hemkoll_evaluations_total", "Patient evaluations completed")
EVALUATION_FAILURES = Counter(
    "hemkoll_evaluation_failures_total", "Patient evaluations that failed (retried with backoff)"
)
READ_AHEAD_FAILURES = Counter(
    "hemkoll_read_ahead_failures_total",
    "Batches whose readings read ahead failed (otherwise than by an outage); each read again",
)
ALERTS_OPENED = Counter("hemkoll_alerts_opened_total", "Alerts opened", ["severity"])
ALERTS_RAISED = Counter("hemkoll_alerts_raised_total", "Alert severities raised", ["severity"])

# Notifications.
NOTIFICATION_ATTEMPTS = Counter(
    "hemkoll_notification_attempts_total",
    "Notification delivery attempts, by channel and result",
    ["channel", "result"],
)
ESCALATIONS = Counter("hemkoll_escalations_total", "Red alerts escalated")
NOTIFICATIONS_DELETED = Counter(
    "hemkoll_notifications_deleted_total",
    "Settled notifications deleted by the retention job (with their attempts)",
)
NOTIFICATION_RECORD_FAILURES = Counter(
    "hemkoll_notification_record_failures_total",
    "Attempts sent but not recorded because the database was away (sent again, same id)",
)
DISPATCH_BUGS = Counter(
    "hemkoll_dispatch_bugs_total",
    "Notifications the dispatcher could not handle because of a bug (not retried), by error",
    ["error"],
)

# Periodic jobs of the workers (the escalation pass, the scheduled evaluation pass).
PERIODIC_JOB_FAILURES = Counter(
    "hemkoll_periodic_job_failures_total",
    "Failed runs of a worker's periodic job, by job and error class",
    ["job", "error"],
)
PERIODIC_JOB_FAILURE_STREAK = Gauge(
    "hemkoll_periodic_job_failure_streak",
    "Runs of a worker's periodic job that failed in a row (0 after a run that succeeded)",
    ["job"],
)

# Database-wide queues, sampled (``backlog``): the same in every replica.
EVALUATION_QUEUE_DEPTH = Gauge("hemkoll_evaluation_queue_depth", "Patients waiting for evaluation")
EVALUATION_QUEUE_OLDEST_AGE = Gauge(
    "hemkoll_evaluation_queue_oldest_age_seconds", "Age of the oldest evaluation request"
)
NOTIFICATIONS_PENDING = Gauge("hemkoll_notifications_pending", "Notifications not yet delivered")
NOTIFICATIONS_OLDEST_PENDING_AGE = Gauge(
    "hemkoll_notifications_oldest_pending_age_seconds",
    "Age of the oldest notification not yet delivered",
)
# A health centre's endpoint (care_team or escalation), by the centre's id: an organisation,
# not a patient.
ENDPOINT_FAILURE_STREAK = Gauge(
    "hemkoll_endpoint_failure_streak",
    "Delivery attempts in a row that failed on a health centre's endpoint (0 once one delivers)",
    ["health_centre", "channel"],
)
ENDPOINT_FAILING_SECONDS = Gauge(
    "hemkoll_endpoint_failing_seconds",
    "How long a health centre's endpoint has failed every attempt (0 while it delivers)",
    ["health_centre", "channel"],
)

# API.
API_REQUESTS = Counter(
    "hemkoll_api_requests_total", "API requests, by route template and status", ["route", "status"]
)
API_REQUEST_SECONDS = Histogram(
    "hemkoll_api_request_seconds", "API request duration, by route template", ["route"]
)
