"""A fault scenario's figures and verdict, printed."""

from __future__ import annotations

import json
from typing import Any


def print_result(result: dict[str, Any]) -> None:
    r, a, w = result["readings"], result["alerts"], result["webhooks"]
    verdict = "PASS" if not result["failed"] else "FAIL: " + "; ".join(result["failed"])
    print(f"\n== {result['scenario']}: {verdict}")
    print(f"   faults     {json.dumps(result['faults'], default=str)}")
    print(
        f"   readings   published {r['readings_published']:,} in {r['messages_published']:,} "
        f"messages, stored {r['readings_stored']:,}; missing {r['missing']}, extra "
        f"{r['extra']}, values differ {r['values_differ']}, rows beyond one per reading "
        f"{r['rows_beyond_one_per_reading']}"
    )
    print(
        f"              seen again and deduped {r['readings_seen_again_deduped']}, messages "
        f"resent by devices {r['messages_resent_by_devices']}, without feedback "
        f"{r['messages_without_feedback']}, dead letters {r['dead_letters'] or 0}"
    )
    print(
        f"   alerts     {a['alerts']} opened ({a['probe_patients_with_one_alert']}/"
        f"{a['probe_patients']} probes with exactly one), {a['alerts_notified_at_centre']} "
        f"notified at the centre; red {a['red_alerts']}, escalated "
        f"{a['red_alerts_escalated']}, escalations received {a['escalations_received_at_centre']}"
        f"; half-escalated {a['half_escalated']}, overdue {a['overdue_not_escalated']}"
    )
    print(
        f"   webhooks   {w['deliveries_at_centre']} deliveries of "
        f"{w['distinct_webhook_ids_at_centre']} webhook-ids "
        f"({w['deliveries_beyond_first_deduped']} repeats deduped by the receiver), "
        f"max ids per alert event "
        f"{w['max_webhook_ids_per_alert_event']}, refused {w['signatures_refused'] or 0}, "
        f"answers {w['answers_by_status']}"
    )
    print(f"              outbox {w['notifications_by_channel_and_state']}")
    if "endpoint" in result:
        print(f"   endpoint   {json.dumps(result['endpoint'])}")
    services = ", ".join(
        f"{n} {s['starts']} starts{' ALIVE' if s['alive_at_end'] else ' DEAD'}"
        for n, s in result["services"].items()
    )
    print(f"   services   {services}; settled in {result['settle_s']} s")
    print(f"   logs       patient data found: {result['log_leaks'] or 'none'}")
