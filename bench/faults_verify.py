"""The end of a fault scenario: waiting until it settles, its figures, the guarantees checked."""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from common import one, rows, say
from faults_world import CANARY, World

# Until it settles: the database is looked at this often, and a progress line said this often.
SETTLE_POLL_S = 0.3
SETTLE_NOTE_S = 60.0
# An escalation falls due within a run when it is at most this long after the alert opens.
ESCALATION_WITHIN_RUN_S = 300


def settle(world: World, publisher: threading.Thread, timeout_s: float) -> float:
    """Until the devices have feedback for everything, every probe has its alert, every red
    alert is escalated (when escalation falls due within the run), no patient waits for an
    evaluation (one still queued, a redelivered batch's say, would queue more notifications
    after the check) and no notification is pending; how long it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    publisher.join(timeout=max(deadline - time.monotonic(), 1))
    if world.publisher_error is not None:
        raise RuntimeError("the devices' publisher failed") from world.publisher_error
    probe_ids = [p.patient_id for p in world.probes]
    last_note = time.monotonic()
    while time.monotonic() < deadline:
        keep_services_up(world)
        alerted, unescalated, queued, pending, next_at = rows(
            world.url,
            """
            SELECT
              (SELECT count(DISTINCT patient_id) FROM alerts
                WHERE patient_id = ANY(%(probes)s::uuid[])),
              (SELECT count(*) FROM alerts WHERE severity = 'red' AND escalated_at IS NULL),
              (SELECT count(*) FROM evaluation_queue),
              (SELECT count(*) FROM notifications WHERE state = 'pending'),
              (SELECT to_char(min(next_attempt_at), 'HH24:MI:SS') FROM notifications
                WHERE state = 'pending')
            """,
            {"probes": probe_ids},
        )[0]
        if not expects_escalation(world.args):
            unescalated = 0
        if alerted == len(probe_ids) and unescalated == 0 and queued == 0 and pending == 0:
            return time.monotonic() - started
        if time.monotonic() - last_note > SETTLE_NOTE_S:
            last_note = time.monotonic()
            say(
                f"  settling: {alerted}/{len(probe_ids)} probes alerted, {unescalated} red "
                f"alerts not yet escalated, {queued} patients to evaluate, {pending} "
                f"notifications pending (next attempt {next_at or '-'} UTC)"
            )
        time.sleep(SETTLE_POLL_S)
    say(f"  settle timeout after {timeout_s:.0f} s")
    return time.monotonic() - started


def expects_escalation(args: argparse.Namespace) -> bool:
    """Escalation is awaited and checked when it falls due within a run (5 minutes)."""
    return bool(args.escalate_after <= ESCALATION_WITHIN_RUN_S)


def keep_services_up(world: World) -> None:
    for service in world.services.values():
        service.check_alive()


def figures(world: World, settle_s: float) -> dict[str, Any]:
    assert world.receiver is not None
    device_ids = [p.device_id for p in world.patients]
    stored = {
        (str(d), m, at.astimezone(UTC).isoformat(timespec="milliseconds")): v
        for d, m, at, v in rows(
            world.url,
            "SELECT device_id, metric, measured_at, value FROM readings"
            " WHERE device_id = ANY(%(d)s::uuid[])",
            {"d": device_ids},
        )
    }
    published = {
        (d, m, datetime.fromisoformat(at).astimezone(UTC).isoformat(timespec="milliseconds")): v
        for (d, m, at), v in world.published.readings.items()
    }
    missing = published.keys() - stored.keys()
    extra = stored.keys() - published.keys()
    differ = sum(1 for k in published.keys() & stored.keys() if stored[k] != published[k])
    rows_beyond_one = one(
        world.url,
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM readings"
        " GROUP BY device_id, metric, measured_at HAVING count(*) > 1) AS d",
    )
    dead_letters = rows(world.url, "SELECT reason_code, count(*) FROM dead_letters GROUP BY 1")
    report = world.report
    readings = {
        "messages_published": world.published.messages,
        "readings_published": len(published),
        "readings_stored": len(stored),
        "missing": len(missing),
        "extra": len(extra),
        "values_differ": differ,
        "rows_beyond_one_per_reading": int(rows_beyond_one),
        "readings_seen_again_deduped": report.duplicates if report else None,
        "messages_resent_by_devices": report.resent if report else None,
        "messages_without_feedback": len(report.unacknowledged) if report else None,
        "dead_letters": dict(dead_letters),
    }

    # Alerts and escalation, from the database.
    alert_rows = rows(
        world.url,
        """
        SELECT a.id::text, a.patient_id::text, a.severity, a.escalated_at IS NOT NULL,
               EXISTS (SELECT 1 FROM alert_events e
                        WHERE e.alert_id = a.id AND e.kind = 'escalated'),
               (SELECT count(*) FROM notifications n
                 WHERE n.alert_id = a.id AND n.channel = 'escalation')
        FROM alerts AS a
        """,
    )
    overdue = one(
        world.url,
        "SELECT count(*) FROM alerts a JOIN patients p ON p.id = a.patient_id"
        " JOIN health_centres hc ON hc.id = p.health_centre_id"
        " WHERE a.state = 'open' AND a.severity = 'red' AND a.escalated_at IS NULL"
        " AND a.severity_since + hc.escalate_after < now() - interval '45 seconds'",
    )
    half = [
        a for a in alert_rows if not (a[3] == a[4] == (a[5] > 0)) or a[5] > 1
    ]  # escalated_at, the event and exactly one notification: all or none
    per_probe = Counter(a[1] for a in alert_rows)
    probes_with_one = sum(1 for p in world.probes if per_probe.get(p.patient_id) == 1)

    # Webhooks: the outbox against what the centre received.
    notification_rows = rows(
        world.url,
        "SELECT id::text, alert_id::text, channel, event, state FROM notifications",
    )
    states = Counter(f"{channel}:{state}" for _, _, channel, _, state in notification_rows)
    webhook_rows = [r for r in notification_rows if r[2] != "device"]
    delivered_ids = {r[0] for r in webhook_rows if r[4] == "delivered"}
    recorder = world.receiver.recorder
    stats = recorder.stats()
    firsts = recorder.notifications()
    received_ids = {d.webhook_id for d in firsts}
    ids_per_event = Counter((d.alert_id, d.event_type) for d in firsts)
    notified_alerts = {d.alert_id for d in firsts if d.event_type == "alert.opened"}
    escalations_received = {d.alert_id for d in firsts if d.event_type == "alert.escalated"}
    red = [a for a in alert_rows if a[2] == "red"]
    alerts = {
        "alerts": len(alert_rows),
        "probe_patients": len(world.probes),
        "probe_patients_with_one_alert": probes_with_one,
        "alerts_notified_at_centre": len({a[0] for a in alert_rows} & notified_alerts),
        "red_alerts": len(red),
        "escalation_expected": expects_escalation(world.args),
        "red_alerts_escalated": sum(1 for a in red if a[3]),
        "escalations_received_at_centre": len({a[0] for a in red} & escalations_received),
        "half_escalated": len(half),
        "overdue_not_escalated": int(overdue),
    }
    webhooks = {
        "notifications_by_channel_and_state": dict(sorted(states.items())),
        "deliveries_at_centre": stats.deliveries,
        "distinct_webhook_ids_at_centre": stats.notifications,
        "deliveries_beyond_first_deduped": stats.duplicates,
        "max_webhook_ids_per_alert_event": max(ids_per_event.values(), default=0),
        "signatures_refused": dict(stats.rejected),
        "answers_by_status": {str(k): v for k, v in sorted(stats.statuses.items())},
        "received_not_delivered_in_db": len(received_ids - delivered_ids),
        "delivered_in_db_not_received": len(delivered_ids - received_ids),
    }
    services = {
        name: {"starts": s.starts, "kills": s.kills, "alive_at_end": s.alive}
        for name, s in world.services.items()
    }
    leaks = scan_logs(world)
    return {
        "scenario": world.name,
        "faults": world.faults,
        "settle_s": round(settle_s, 1),
        "readings": readings,
        "alerts": alerts,
        "webhooks": webhooks,
        "services": services,
        "log_leaks": leaks,
    }


def scan_logs(world: World) -> dict[str, int]:
    """Patient references and the payload canary in the services' and the broker's logs."""
    needles = [CANARY, *(p.reference for p in world.patients)]
    hits: dict[str, int] = {}
    logs = [s.log_path for s in world.services.values() if s.log_path is not None]
    if world.broker is not None:
        logs.append(world.broker.log)
    for path in logs:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        count = sum(text.count(needle) for needle in needles)
        if count:
            hits[path.name] = count
    return hits


def checks(result: dict[str, Any]) -> list[str]:
    """The guarantees; each failed one as a sentence."""
    r, a, w = result["readings"], result["alerts"], result["webhooks"]
    failed = []

    def must(ok: bool, text: str) -> None:
        if not ok:
            failed.append(text)

    must(r["readings_stored"] == r["readings_published"], "stored != published")
    must(r["missing"] == 0, f"{r['missing']} readings missing")
    must(r["extra"] == 0, f"{r['extra']} readings stored that were never published")
    must(r["values_differ"] == 0, f"{r['values_differ']} stored values differ")
    must(r["rows_beyond_one_per_reading"] == 0, "a reading stored twice")
    must(not r["dead_letters"], f"dead letters: {r['dead_letters']}")
    must(r["messages_without_feedback"] == 0, "messages without feedback at the end")
    must(
        a["probe_patients_with_one_alert"] == a["probe_patients"],
        "a probe patient without exactly one alert",
    )
    must(a["alerts_notified_at_centre"] == a["alerts"], "an alert the centre was never told of")
    if a["escalation_expected"]:
        must(a["red_alerts_escalated"] == a["red_alerts"], "a red alert not escalated")
    must(
        a["escalations_received_at_centre"] == a["red_alerts_escalated"],
        "an escalation the escalation contact never received",
    )
    must(a["half_escalated"] == 0, f"{a['half_escalated']} alerts half-escalated")
    must(a["overdue_not_escalated"] == 0, "red alerts overdue and not escalated")
    bad_states = {
        k: v
        for k, v in w["notifications_by_channel_and_state"].items()
        if not k.endswith(":delivered")
    }
    must(not bad_states, f"notifications not delivered: {bad_states}")
    must(w["max_webhook_ids_per_alert_event"] <= 1, "one alert event sent under two webhook-ids")
    must(not w["signatures_refused"], f"signatures refused: {w['signatures_refused']}")
    must(w["received_not_delivered_in_db"] == 0, "received, but not delivered in the database")
    must(w["delivered_in_db_not_received"] == 0, "delivered in the database, never received")
    for name, s in result["services"].items():
        must(s["alive_at_end"], f"{name} not running at the end")
    must(not result["log_leaks"], f"patient data in logs: {result['log_leaks']}")
    for extra in result.get("extra_checks", []):
        failed.append(extra)
    return failed
