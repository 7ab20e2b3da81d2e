"""The demo's parts: backdated enrolment, the cohort's set-up, the data directory, the child
processes, the publisher's stop, and the detection report against a direct backtest. The
database tests use the machine's PostgreSQL (the session's migrated template)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest.mock import Mock
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from hemkoll.demo import cohort
from hemkoll.demo.errors import DemoError
from hemkoll.demo.report import detection_report, stored_alerts
from hemkoll.demo.state import DataDir, DemoOptions, DemoState, cohort_state
from hemkoll.demo.summary import read_counts
from hemkoll.detection.backtest import backtest, episode_arrays
from hemkoll.detection.readings import simulation_series
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.simulator import simulate
from hemkoll.simulator.publisher import PlanPublisher, PublisherConfig
from hemkoll.store.alert_actions import insert_event
from hemkoll.store.alerts import AlertContent, insert_alert
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.patients import RegistryError

STOCKHOLM = ZoneInfo("Europe/Stockholm")


# --- backdated enrolment ---------------------------------------------------------------------


def test_enrolment_can_be_backdated_but_not_into_the_future(db_url: str) -> None:
    past = datetime(2025, 3, 1, 12, tzinfo=UTC)
    with connect(db_url) as conn:
        first = enrol_device(
            conn,
            health_centre_name="VC Demo",
            patient_reference="P-1",
            device_kind="scale",
            enrolled_at=past,
        )
        later = enrol_device(
            conn, health_centre_name="VC Demo", patient_reference="P-1", device_kind="scale"
        )
        with pytest.raises(RegistryError, match="future"):
            enrol_device(
                conn,
                health_centre_name="VC Demo",
                patient_reference="P-2",
                device_kind="scale",
                enrolled_at=datetime.now(UTC) + timedelta(hours=1),
            )
        with pytest.raises(RegistryError, match="time zone"):
            enrol_device(
                conn,
                health_centre_name="VC Demo",
                patient_reference="P-2",
                device_kind="scale",
                enrolled_at=datetime(2025, 3, 1),  # noqa: DTZ001 (the point of the test)
            )
    assert first.device.enrolled_at == past
    assert first.patient.enrolled_at == past
    assert later.device.enrolled_at > past  # not backdated: now
    assert later.patient.enrolled_at == past  # an existing patient keeps theirs


# --- the cohort in the database ----------------------------------------------------------------


def test_cohort_set_up_is_repeatable(db_url: str) -> None:
    with connect(db_url) as conn:
        centre, secret = cohort.prepare_centre(conn, "Demo VC", "http://127.0.0.1:1/webhook")
        keys = ["SIM-0001/scale", "SIM-0001/pulse_oximeter", "SIM-0002/scale"]
        at = cohort.enrolment_time(date(2025, 4, 1), "Europe/Stockholm")
        assert at == datetime(2025, 3, 30, 22, tzinfo=UTC)  # midnight, summer time
        devices = cohort.enrol_cohort(conn, "Demo VC", keys, at)
        assert list(devices) == keys
        cohort.check_enrolled(conn, centre, devices)
        with pytest.raises(DemoError, match="--reset"):
            cohort.check_enrolled(conn, centre, {k: devices[k] for k in keys[:2]})
        assert cohort.has_devices(conn, centre)

        again, new_secret = cohort.prepare_centre(conn, "Demo VC", "http://127.0.0.1:2/webhook")
        assert again == centre
        assert new_secret != secret
        assert new_secret.startswith("whsec_")
        url = conn.execute(
            "SELECT notification_url FROM health_centres WHERE id = %s", (centre,)
        ).fetchone()
        assert url == ("http://127.0.0.1:2/webhook",)

        visitor, first = cohort.staff_token(conn, centre, cohort.NURSE_NAME, datetime.now(UTC))
        again_visitor, second = cohort.staff_token(
            conn, centre, cohort.NURSE_NAME, datetime.now(UTC)
        )
        assert first != second
        assert visitor == again_visitor
        assert conn.execute("SELECT count(*) FROM staff").fetchone() == (1,)

        cohort.set_paused(conn, centre, paused=True)
        assert conn.execute(
            "SELECT count(*) FROM patients WHERE monitoring_paused_since IS NOT NULL"
        ).fetchone() == (2,)
        cohort.set_paused(conn, centre, paused=False)  # each resumed patient is queued
        counts = read_counts(conn, centre)
    assert counts.evaluations_queued == 2
    assert counts.readings == counts.alerts_open == counts.webhooks_delivered == 0


# --- the data directory and options ------------------------------------------------------------


def _state(**changes: object) -> DemoState:
    base = DemoState(
        seed=1,
        patients=3,
        days=7,
        live_days=365,
        start=date(2025, 4, 1),
        centre="Demo health centre x",
        devices={"SIM-0001/scale": ["id", "pw"]},
        checkpoint=datetime(2025, 4, 8, 6, 30, tzinfo=UTC),
    )
    return DemoState(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_state_round_trip_and_private(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "d")
    data.path.mkdir()
    data.save(_state())
    assert data.load() == _state()
    assert (data.file("state.json").stat().st_mode & 0o077) == 0


def test_one_demo_per_data_directory(tmp_path: Path) -> None:
    first, second = DataDir(tmp_path), DataDir(tmp_path)
    first.lock()
    try:
        with pytest.raises(DemoError, match="another hemkoll demo"):
            second.lock()
    finally:
        first.unlock()
    second.lock()
    second.unlock()


def test_reset_empties_only_a_demo_directory_and_never_under_a_running_demo(
    tmp_path: Path,
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DemoError, match="not a demo data directory"):
        DataDir(tmp_path).check_resettable()
    demo = DataDir(tmp_path / "demo")
    demo.path.mkdir()
    (demo.path / "postgres").mkdir()
    (demo.path / "state.json").write_text("{}")
    demo.check_resettable()
    running = DataDir(demo.path)
    running.lock()
    with pytest.raises(DemoError, match="another hemkoll demo"):
        demo.lock()  # so a --reset never gets to delete anything
    running.unlock()
    demo.lock()
    demo.reset()
    demo.unlock()
    assert [p.name for p in demo.path.iterdir()] == ["demo.lock"]
    assert (tmp_path / "precious.txt").exists()


def _options(tmp_path: Path, **asked: int | None) -> DemoOptions:
    return DemoOptions(
        data_dir=DataDir(tmp_path),
        patients=asked.get("patients"),
        days=asked.get("days"),
        seed=asked.get("seed"),
        reset=False,
        port=0,
        summary_every_s=5,
    )


def test_options_start_a_cohort_and_may_only_repeat_a_saved_one(tmp_path: Path) -> None:
    new = cohort_state(_options(tmp_path, days=10), None)
    assert (new.patients, new.days, new.seed) == (50, 10, 1)
    assert new.start == datetime.now(STOCKHOLM).date() - timedelta(days=10)
    saved = _state()
    assert cohort_state(_options(tmp_path, patients=3, seed=1), saved) == saved
    with pytest.raises(DemoError, match="patients 3"):
        cohort_state(_options(tmp_path, patients=4), saved)


# --- child processes ---------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux's")
def test_a_child_does_not_outlive_a_killed_demo(tmp_path: Path) -> None:
    """The demo SIGKILLed: its child (here a sleep) gets the parent-death signal."""
    script = (
        "import signal, sys, time; from pathlib import Path; "
        "from hemkoll.local_services import children; "
        "p = children.start(['sleep', '60'], log=Path(sys.argv[1]), death_signal=signal.SIGTERM); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "log")], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert Path(f"/proc/{child}").exists()
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists(), "the child outlived its killed parent"


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    from hemkoll.local_services import children  # noqa: PLC0415

    log = tmp_path / "log"
    stubborn = children.start(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ok', flush=True); time.sleep(60)",
        ],
        log=log,
        death_signal=9,
    )
    deadline = time.monotonic() + 30  # its SIGTERM handler is in place once it says ok
    while b"ok" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert children.stop(stubborn, signals=[(15, 0.3)]) == -9
    assert time.monotonic() - started < 5


# --- the publisher's stop ----------------------------------------------------------------------


def test_a_stopped_publisher_stops_waiting_at_once() -> None:
    stop = threading.Event()
    publisher = PlanPublisher({}, PublisherConfig(show_progress=False), stop=stop)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert publisher.wait_until(time.monotonic() + 60) is False
    publisher.drain(60)
    assert time.monotonic() - started < 2
    assert publisher.oldest_awaiting() is None


# --- the detection report ----------------------------------------------------------------------


def test_report_scores_the_stored_readings_as_a_backtest_does(db_url: str) -> None:
    sim = simulate(6, 75, seed=11)  # a seed with alerts and detected episodes
    ingested = simulation_series(sim)
    start, days = sim.timeline.start, 75
    with connect(db_url) as conn:
        centre, _ = cohort.prepare_centre(conn, "Report VC", "http://127.0.0.1:1/webhook")
        at = cohort.enrolment_time(start, "Europe/Stockholm")
        devices = cohort.enrol_cohort(
            conn, "Report VC", [f"{r}/scale" for r in sim.plan.references], at
        )
        patient_of = dict(
            conn.execute(
                "SELECT d.id::text, d.patient_id FROM devices d JOIN patients p ON "
                "p.id = d.patient_id WHERE p.health_centre_id = %s",
                (centre,),
            ).fetchall()
        )
        rows = []
        for reference, series in zip(ingested.references, ingested.series, strict=True):
            device = devices[f"{reference}/scale"][0]
            for metric, (times, values) in series.items():
                for t, v in zip(times.tolist(), values.tolist(), strict=True):
                    rows.append(
                        (
                            patient_of[device],
                            device,
                            metric,
                            v,
                            datetime.fromtimestamp(t / 1e6, UTC),
                        )
                    )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO readings (patient_id, device_id, metric, value, measured_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                rows,
            )
        conn.commit()
        text, scores = detection_report(
            conn,
            centre,
            references=sim.plan.references,
            episodes=sim.episodes,
            start=start,
            days=days,
            timezone="Europe/Stockholm",
        )
    truth = episode_arrays(sim.episodes, sim.plan.references)
    direct = backtest(
        HEART_FAILURE,
        ingested.series,
        truth,
        tz=STOCKHOLM,
        start=start,
        end=start + timedelta(days=days),
    )
    # 6 alerts, one per deterioration (10 when they were counted per patient and rule)
    assert (direct.alerts, direct.episodes, direct.detected) == (6, 2, 2)
    stored = scores["backtest"]
    assert (stored.alerts, stored.unexplained, stored.detected, stored.episodes) == (
        direct.alerts,
        direct.unexplained,
        direct.detected,
        direct.episodes,
    )
    assert scores["alerts"].alerts == 0  # no alert in the database
    assert "backtest of the stored readings" in text


def test_report_counts_opened_and_raised_alerts_but_not_reminders(db_url: str) -> None:
    fired = datetime(2025, 5, 10, 6, tzinfo=UTC)
    with connect(db_url) as conn:
        centre, _ = cohort.prepare_centre(conn, "Hits VC", "http://127.0.0.1:1/webhook")
        cohort.enrol_cohort(conn, "Hits VC", ["SIM-0002/scale"], fired - timedelta(days=60))
        (patient,) = conn.execute("SELECT id FROM patients").fetchone()  # type: ignore[misc]

        def alert(rule_id: str, kind: str, at: datetime) -> None:
            content = AlertContent(rule_id, kind, "yellow", at, {}, "en", "sv")
            alert_id = insert_alert(conn, patient, "preset", content)
            for event, day in (("severity_raised", 1), ("evidence_added", 2)):
                insert_event(
                    conn,
                    alert_id,
                    kind=event,
                    severity="red",
                    actor="rules",
                    details={"fired_at": (at + timedelta(days=day)).isoformat()},
                )

        alert("weight_trend", "trend", fired)
        alert("weight_missing_48h", "missing", fired)
        alert("spo2_urgent", "threshold", fired + timedelta(days=30))  # after the period
        conn.commit()
        stored = stored_alerts(conn, centre, ["SIM-0001", "SIM-0002"], fired + timedelta(days=20))
    assert stored.patient.tolist() == [1]
    assert stored.opened.tolist() == [epoch_us(fired)]
    assert stored.notice_alert.tolist() == [0, 0, 0]
    expected = [fired, fired + timedelta(days=1), fired + timedelta(days=2)]
    assert stored.notice_t.tolist() == [epoch_us(t) for t in expected]


def test_no_report_for_a_short_replay() -> None:
    conn = Mock()
    text, scores = detection_report(
        conn,
        uuid4(),
        references=[],
        episodes=[],
        start=date(2025, 4, 1),
        days=20,
        timezone="Europe/Stockholm",
    )
    assert scores == {}
    assert "too few" in text
    assert not conn.mock_calls
