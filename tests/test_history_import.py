"""History import (docs/import.md): a year of simulated readings through ``hemkoll
import-history``, checked and stored as the device path would, once, and without alerts for
the past unless asked; refused lines dead-lettered with their line and reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from hemkoll.alerts.what_if import what_if
from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.cli import main
from hemkoll.demo.cohort import enrol_cohort, enrolment_time
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.simulator.history import write_history
from hemkoll.simulator.plan import device_key
from hemkoll.simulator.simulation import Simulation, simulate
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from tests.helpers import scalar

CENTRE = "Importvårdcentralen"
PATIENTS = 5
DAYS = 365
# A seed whose cohort has weight episodes inside the rules worker's live window (the last
# 106 days), so that --alerts has something to open.
SEED = 3


def _year() -> Simulation:
    start = datetime.now(UTC).date() - timedelta(days=DAYS + 1)
    return simulate(PATIENTS, DAYS, seed=SEED, start=start)


def _enrol(db_url: str, sim: Simulation, start: date) -> dict[str, str]:
    """Every simulated device, enrolled (and its patient) from before the history starts."""
    at = enrolment_time(start, sim.parameters.timezone)
    with connect(db_url) as conn:
        enrolled = enrol_cohort(conn, CENTRE, sim.plan.device_keys(), at)
    return {key: device_id for key, (device_id, _) in enrolled.items()}


def _import(
    db_url: str,
    path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *options: str,
) -> dict[str, Any]:
    monkeypatch.setenv("HEMKOLL_DATABASE_URL", db_url)
    status = main(["import-history", str(path), "--health-centre", CENTRE, "--json", *options])
    out = capsys.readouterr()
    assert status == 0, out.err
    report: dict[str, Any] = json.loads(out.out)
    return report


def _evaluate(db_url: str) -> int:
    worker = RulesWorker(RulesConfig(db_url, HEART_FAILURE))
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert worker.failed == 0
    return worker.evaluated


@pytest.fixture
def year_file(db_url: str, tmp_path: Path) -> tuple[Simulation, Path, int]:
    sim = _year()
    ids = _enrol(db_url, sim, sim.timeline.start)
    path = tmp_path / "history.ndjson"
    sent = write_history(path, sim, ids)
    return sim, path, sent


def test_a_year_is_imported_once_and_opens_no_alert_but_backtests_show_findings(
    db_url: str,
    year_file: tuple[Simulation, Path, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, path, sent = year_file
    assert sent > 5000
    report = _import(db_url, path, capsys, monkeypatch)
    assert (report["lines"], report["stored"], report["duplicates"]) == (sent, sent, 0)
    assert (report["dead_lettered"], report["patients"], report["alerts"]) == (0, PATIENTS, False)
    assert scalar(db_url, "SELECT count(*) FROM readings") == sent
    assert (
        scalar(
            db_url,
            "SELECT count(DISTINCT patient_id) FROM audit_log WHERE action = 'history.import'",
        )
        == 5
    )

    again = _import(db_url, path, capsys, monkeypatch)
    assert (again["stored"], again["duplicates"], again["patients_with_new_readings"]) == (
        0,
        sent,
        0,
    )
    assert scalar(db_url, "SELECT count(*) FROM readings") == sent

    # The patients are evaluated (the import queued them), and the scheduled pass too: no alert
    # opens for a finding in the history, the missing-measurement rules' gaps included, and no
    # device is told about readings it did not just send.
    assert _evaluate(db_url) == PATIENTS
    with connect(db_url) as conn:
        conn.execute("INSERT INTO evaluation_queue (patient_id) SELECT id FROM patients")
        conn.commit()
    assert _evaluate(db_url) == PATIENTS
    # No alert for a finding in the history. What may open is the present: a missing-measurement
    # rule whose silence began in the history and still lasts after the import's newest reading
    # (the simulated devices stop when the file does; a live patient's would not).
    # Each patient's mark is her own newest imported reading.
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM imported_history h WHERE h.until IS DISTINCT FROM"
            " (SELECT max(measured_at) FROM readings r WHERE r.patient_id = h.patient_id)",
        )
        == 0
    )
    assert scalar(db_url, "SELECT count(*) FROM imported_history") == PATIENTS
    end = scalar(db_url, "SELECT max(measured_at) FROM readings")
    opened = scalar(
        db_url,
        "SELECT coalesce(json_agg(json_build_array(a.rule_id, a.first_fired_at > h.until)), '[]')"
        " FROM alerts a JOIN imported_history h USING (patient_id)",
    )
    assert scalar(db_url, "SELECT count(*) FROM alerts") == len(opened)
    for rule_id, after_her_history in opened:
        assert "missing" in rule_id, rule_id
        assert after_her_history, rule_id
    # Nor is any device told about readings it did not just send.
    assert scalar(db_url, "SELECT count(*) FROM notifications WHERE event LIKE 'readings.%%'") == 0

    # The history is backtest material: over the imported year the rules find what they find.
    now = datetime.now(UTC)
    with connect(db_url) as conn:
        patient_ids = [row[0] for row in conn.execute("SELECT id FROM patients ORDER BY id")]
        shown = [
            what_if(conn, HEART_FAILURE, patient_id, proposed=None, now=now, days=DAYS + 1)
            for patient_id in patient_ids
        ]
    assert sum(w.readings for w in shown) == sent
    findings = [a for w in shown for a in w.current_alerts]
    assert findings, "the backtest over the imported year shows no rule findings"
    rules_found = {a.rule_id for a in findings}
    # The simulated episodes show as the deterioration index; the gaps as missing-measurement
    # findings, inside the history, which the worklist never saw.
    assert {"deterioration_index", "weight_missing_48h"} <= rules_found, rules_found
    assert any(a.rule_id == "weight_missing_48h" and a.opened_at < end for a in findings)


def test_with_alerts_the_history_opens_alerts_as_the_live_path_would(
    db_url: str,
    year_file: tuple[Simulation, Path, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, path, sent = year_file
    report = _import(db_url, path, capsys, monkeypatch, "--alerts")
    assert (report["stored"], report["alerts"]) == (sent, True)
    assert _evaluate(db_url) == PATIENTS
    assert scalar(db_url, "SELECT count(*) FROM alerts") > 0
    assert scalar(db_url, "SELECT count(*) FROM imported_history") == 0


def _line(patient: str, device: str, metric: str, value: float, unit: str, at: str) -> str:  # noqa: PLR0917
    return json.dumps(
        {
            "patient": patient,
            "device": device,
            "metric": metric,
            "value": value,
            "unit": unit,
            "measured_at": at,
        }
    )


def test_bad_lines_are_dead_lettered_with_their_line_and_reason(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrolled = datetime.now(UTC) - timedelta(days=30)
    ids: dict[str, UUID] = {}
    with connect(db_url) as conn:
        for reference in ("P-1", "P-2"):
            e = enrol_device(
                conn,
                health_centre_name=CENTRE,
                patient_reference=reference,
                device_kind="scale",
                enrolled_at=enrolled,
            )
            ids[reference] = e.device.id
    scale, other = str(ids["P-1"]), str(ids["P-2"])
    day = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0).isoformat()
    future = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    early = (enrolled - timedelta(days=3)).replace(microsecond=0).isoformat()
    lines = [
        _line("P-1", scale, "body_weight", 80.5, "kg", day),  # 1: stored
        "{not json",  # 2
        _line("P-1", scale, "body_weight", 80.5, "kgs", day),  # 3
        _line("P-1", scale, "body_weight", 0, "kg", day),  # 4
        _line("P-1", scale, "body_weight", 80.0, "kg", future),  # 5
        _line("P-1", scale, "body_weight", 80.0, "kg", early),  # 6
        _line("NOBODY", scale, "body_weight", 80.0, "kg", day),  # 7
        _line("P-1", "00000000-0000-0000-0000-000000000000", "body_weight", 80, "kg", day),  # 8
        _line("P-1", other, "body_weight", 81.0, "kg", day),  # 9
        json.dumps({"patient": "P-1", "device": scale, "metric": "body_weight"}),  # 10
        _line("P-1", scale, "spo2", 97, "%", day),  # 11
        "",  # 12: blank, skipped
        _line("P-1", scale, "body_weight", 80.5, "kg", day),  # 13: the same reading again
    ]
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = _import(db_url, path, capsys, monkeypatch)
    expected = {
        2: "not_json",
        3: "unit_not_allowed",
        4: "value_implausible",
        5: "measured_at_future",
        6: "measured_at_before_enrolment",
        7: "patient_unknown",
        8: "device_unknown",
        9: "device_not_patients",
        10: "field_missing",
        11: "metric_not_for_device",
    }
    assert (report["lines"], report["stored"], report["duplicates"]) == (13, 1, 1)
    assert report["dead_lettered"] == len(expected)
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT reading_index, reason_code, reason, topic FROM dead_letters"
            " ORDER BY reading_index"
        ).fetchall()
    assert {n: code for n, code, _, _ in rows} == expected
    for n, _, reason, topic in rows:
        assert reason.startswith(f"line {n}"), reason
        assert topic == "history-import"
    assert "P-1" not in capsys.readouterr().err  # no patient reference in what is printed

    # A rerun stores nothing and dead-letters each bad line once still.
    again = _import(db_url, path, capsys, monkeypatch)
    assert (again["stored"], again["duplicates"]) == (0, 2)
    assert scalar(db_url, "SELECT count(*) FROM dead_letters") == len(expected)
    assert scalar(db_url, "SELECT count(*) FROM readings") == 1


def test_a_batch_per_transaction_so_a_rerun_after_a_crash_completes_the_file(
    db_url: str, year_file: tuple[Simulation, Path, int]
) -> None:
    """A crash after some batches: those are stored; the rerun stores the rest, each once."""
    from hemkoll.ingest.history import HistoryImport  # noqa: PLC0415

    _, path, sent = year_file
    lines = path.read_bytes().splitlines(keepends=True)
    with connect(db_url) as conn:
        centre = scalar(db_url, "SELECT id FROM health_centres")
        importer = HistoryImport(conn, centre, batch=1000)

        def crashing() -> Any:
            for number, line in enumerate(lines):
                if number == 2500:
                    raise KeyboardInterrupt
                yield line

        with pytest.raises(KeyboardInterrupt):
            importer.run(crashing())
        conn.rollback()
    assert scalar(db_url, "SELECT count(*) FROM readings") == 2000
    # The stored batches' patients are in the audit log, crash or not.
    stored_patients = "SELECT count(DISTINCT patient_id) FROM readings"
    audited = "SELECT count(DISTINCT patient_id) FROM audit_log WHERE action = 'history.import'"
    assert scalar(db_url, audited) == scalar(db_url, stored_patients) > 0
    with connect(db_url) as conn:
        tally = HistoryImport(conn, centre).run(lines)
    assert (tally.stored, tally.duplicates) == (sent - 2000, 2000)
    assert scalar(db_url, "SELECT count(*) FROM readings") == sent
    assert device_key("SIM-0001", "scale") == "SIM-0001/scale"


def test_progress_lines_and_the_report_say_counts_rates_and_an_eta() -> None:
    from hemkoll.ingest.history import Tally  # noqa: PLC0415
    from hemkoll.ingest.history_report import Progress, Report, progress_line  # noqa: PLC0415

    tally = Tally(lines=50_000, bytes_read=5_000_000, stored=49_000, duplicates=990)
    tally.started -= 10.0
    tally.dead_lettered = {"unit_not_allowed": 10}
    line = progress_line(tally, 20_000_000)
    assert "50,000 lines read" in line
    assert "lines/s" in line
    assert "25% of the file" in line
    assert "s to go" in line
    assert "of the file" not in progress_line(tally, None)
    written: list[str] = []
    progress = Progress(written.append, size_bytes=None, every_s=0.0)
    progress(tally)
    assert len(written) == 1
    text = Report.of(tally, alerts=False).as_text()
    assert "unit_not_allowed" in text
    assert "readings/s" in text
    rerun = Tally(lines=10, stored=0, duplicates=10)
    assert "nothing new" in Report.of(rerun, alerts=True).as_text()
