"""The demo's fast replay in lockstep: the alerts the live rules worker opened while the past
days were replayed (through the broker, ingest and the worker, with the replay's simulated
nurse) are the backtest's of the readings the database stored, alert for alert: patient,
rule, opening, severity, raises, other rules' evidence, and when the nurse acknowledged and
resolved each. The machine's PostgreSQL (the session's migrated template) and Mosquitto. And
the replay nurse's order of work and the simulated clock, on their own."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from hemkoll.demo import cohort
from hemkoll.demo.lockstep import LockstepParts, SimulatedClock
from hemkoll.demo.replay import Replay
from hemkoll.demo.replay_nurse import ReplayNurse, dues
from hemkoll.demo.report import stored_series
from hemkoll.demo.services import ServiceConfig, start_services
from hemkoll.local_services.ports import free_port
from hemkoll.rules.alerting import REMINDER_KINDS
from hemkoll.rules.backtest import ACKNOWLEDGED_AFTER, RESOLVED_AFTER, alerts_of
from hemkoll.rules.engine import evaluate
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.settings import MqttEndpoint
from hemkoll.simulator import simulate
from hemkoll.simulator.publisher import PublisherConfig
from hemkoll.store.alerts import Unresolved
from hemkoll.store.connect import connect
from tests.conftest import MACHINE_BROKER

TIMEZONE = "Europe/Stockholm"
CENTRE = "Lockstep VC"
# Six patients over 75 days from a Monday: a seed whose cohort has a few deteriorations and an
# alert given another rule's evidence while the nurse had it (3 to 8 alerts, whichever Monday
# it starts on; a severity raise within the nurse's four hours is rarer than any cohort this
# small has).
PATIENTS, DAYS, SEED = 6, 75, 29
# The replay of those days takes seconds; far more than that means it hangs.
REPLAY_TIMEOUT_S = 300.0
# A ninth of a simulated day a minute: irrelevant here, every message lies in the past.
PACE_S = 300
# Days between the simulation's end and today: devices back from an outage upload their backlog
# days after (up to a week in this cohort), and those too must lie in the past.
SETTLED_DAYS = 14

Alert = tuple[str, str, datetime, str, tuple[Any, ...], tuple[Any, ...], Any, Any]


def _live_alerts(conn: Any, centre: UUID) -> list[Alert]:
    rows = conn.execute(
        """
        SELECT p.reference, a.rule_id, a.rule_kind, a.first_fired_at, a.severity,
               ARRAY(SELECT e.severity FROM alert_events e WHERE e.alert_id = a.id
                     AND e.kind = 'severity_raised' ORDER BY e.id),
               ARRAY(SELECT ARRAY[e.details ->> 'rule_id', e.details ->> 'fired_at']
                     FROM alert_events e WHERE e.alert_id = a.id
                     AND e.kind = 'evidence_added' ORDER BY e.id),
               a.acknowledged_at, a.resolved_at
        FROM alerts a JOIN patients p ON p.id = a.patient_id
        WHERE p.health_centre_id = %s ORDER BY p.reference, a.first_fired_at
        """,
        (centre,),
    ).fetchall()
    out: list[Alert] = []
    for ref, rule, kind, opened, severity, raises, evidence, acknowledged, resolved in rows:
        if kind in REMINDER_KINDS:
            continue
        added = tuple((r, datetime.fromisoformat(at)) for r, at in evidence)
        out.append((ref, rule, opened, severity, tuple(raises), added, acknowledged, resolved))
    return out


def _backtest_alerts(conn: Any, centre: UUID, refs: list[str], until: datetime) -> list[Alert]:
    tz = ZoneInfo(TIMEZONE)
    since = until - timedelta(days=DAYS + 30)
    out: list[Alert] = []
    for ref, series in zip(refs, stored_series(conn, centre, refs, since, until), strict=True):
        findings = evaluate(HEART_FAILURE, series, tz=tz, now=until)
        detections = [f for f in findings if f.kind not in REMINDER_KINDS]
        for a in alerts_of(detections, until=until):
            out.append(
                (
                    ref,
                    a.rule_id,
                    a.opened_at,
                    a.final_severity,
                    tuple(f.severity for f in a.raises),
                    tuple((f.rule_id, f.fired_at) for f in a.evidence_added),
                    a.acknowledged_at,
                    a.resolved_at,
                )
            )
    return sorted(out, key=lambda a: (a[0], a[2]))


def test_replayed_alerts_are_the_backtest_of_the_stored_readings(
    db_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    earliest = datetime.now(UTC).date() - timedelta(days=DAYS + SETTLED_DAYS)
    start = earliest - timedelta(days=earliest.weekday())  # the same weekdays every time
    sim = simulate(PATIENTS, DAYS, seed=SEED, start=start)
    plan = sim.plan  # every message in the past: all of it is replayed in lockstep
    receiver_port = free_port()
    with connect(db_url) as conn:
        webhook = f"http://127.0.0.1:{receiver_port}/webhook"  # the simulated centre's
        centre, secret = cohort.prepare_centre(conn, CENTRE, webhook)
        at = cohort.enrolment_time(sim.timeline.start, TIMEZONE)
        devices = cohort.enrol_cohort(conn, CENTRE, plan.device_keys(), at)
        nurse_id, token = cohort.staff_token(
            conn, centre, cohort.SIMULATED_NURSE_NAME, datetime.now(UTC)
        )
    host, port = MACHINE_BROKER
    clock = SimulatedClock(datetime.fromtimestamp(int(plan.publish_at[0]), UTC))
    with ExitStack() as stack:
        running = start_services(
            stack,
            ServiceConfig(
                database_url=db_url,
                mqtt=MqttEndpoint(host, port, tls=False, username=None, password=None),
                topic_prefix=topic_prefix,
                ingest_client_id=f"{topic_prefix}-ingest",
                dispatch_client_id=f"{topic_prefix}-dispatch",
                api_port=free_port(),
                receiver_port=receiver_port,
                public_url="http://127.0.0.1:1",
                signing_secret=secret,
                simulated_nurse_token=token,
                notifications_file=tmp_path / "notifications.jsonl",
                seed=SEED,
                pace_s=PACE_S,
                clock=clock,
            ),
        )
        replay = Replay(
            plan,
            {key: (ids[0], ids[1]) for key, ids in devices.items()},
            PublisherConfig(
                host=host,
                port=port,
                topic_prefix=topic_prefix,
                realtime=True,
                show_progress=False,
                shared_connection=True,
            ),
            resume_at=None,
            lockstep=LockstepParts(
                db_url,
                clock,
                running.rules.queue_due,
                ReplayNurse(centre, running.api.base_url, token, SEED),
            ),
        )
        replay.start()
        stack.callback(replay.stop)
        deadline = time.monotonic() + REPLAY_TIMEOUT_S
        while not replay.progress().finished and replay.error is None:
            assert time.monotonic() < deadline, "the replay did not finish"
            time.sleep(0.1)
        assert replay.error is None
        until = replay.replayed_until
        assert until is not None
    with connect(db_url) as conn:
        live = _live_alerts(conn, centre)
        backtest = _backtest_alerts(conn, centre, list(plan.references), until)
        acknowledgers = conn.execute(
            "SELECT DISTINCT actor FROM alert_events WHERE kind = 'acknowledged'"
        ).fetchall()
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE staff_id = %s", (nurse_id,)
        ).fetchone()
    assert len(backtest) >= 3
    assert any(a[5] for a in backtest), "the cohort should have other rules' evidence added"
    assert all(a[6] is not None and a[7] is not None for a in backtest)  # the nurse's, all
    assert live == backtest
    # She acted through the API as her own staff member: her actions are in the audit log.
    assert acknowledgers == [(f"staff:{nurse_id}",)]
    assert audited is not None
    assert audited[0] >= 2 * len(backtest)


def test_the_replay_nurse_acts_as_the_backtests_nurse_in_order() -> None:
    opened = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    later = opened + timedelta(minutes=30)
    a, b = uuid4(), uuid4()
    worklist = [
        Unresolved(b, "acknowledged", later),  # acknowledged already: only her resolution
        Unresolved(a, "open", opened),
    ]
    assert [(d.at, d.alert_id, d.action) for d in dues(worklist)] == [
        (opened + ACKNOWLEDGED_AFTER, a, "acknowledge"),
        (opened + RESOLVED_AFTER, a, "resolve"),
        (later + RESOLVED_AFTER, b, "resolve"),
    ]


def test_the_simulated_clock_holds_until_it_goes_live() -> None:
    at = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    clock = SimulatedClock(at)
    assert (clock.now(), clock.live) == (at, False)
    clock.set(at + timedelta(hours=4))
    assert clock.now() == at + timedelta(hours=4)
    clock.go_live()
    assert clock.live
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
