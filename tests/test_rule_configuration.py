"""Per-patient tuning: versioned, validated, layered on the centre's, used by the worker."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from hemkoll.alerts.configuration import (
    RuleConfigError,
    change_centre_overrides,
    change_patient_overrides,
    effective_for,
)
from hemkoll.alerts.evaluation import evaluate_patient
from hemkoll.rules.overrides import OverrideLayer, RuleOverride
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import rule_overrides
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol, scalar


def _spo2_layer(source: str, low: float) -> OverrideLayer:
    return OverrideLayer(
        source=source,
        overrides=(
            RuleOverride(id="spo2", enabled=True, patch={"yellow": {"low": low, "consecutive": 1}}),
        ),
    )


def _spo2_rule(versions: list[rule_overrides.OverridesVersion]):  # type: ignore[no-untyped-def]
    return next(r for r in effective_for(HEART_FAILURE, versions).rules if r.id == "spo2")


def test_changes_are_versioned_with_who_why_old_and_new(db_url: str) -> None:
    e = enrol(db_url)
    with connect(db_url) as conn:
        v1 = change_patient_overrides(
            conn,
            HEART_FAILURE,
            e.patient.id,
            _spo2_layer("patient", 93),
            changed_by="dr. Lind",
            reason="COPD: her usual SpO2 is 93-94 %",
        )
        v2 = change_patient_overrides(
            conn,
            HEART_FAILURE,
            e.patient.id,
            _spo2_layer("patient", 91),
            changed_by="dr. Lind",
            reason="still too many alerts at 93 %",
        )
        changes = rule_overrides.history(conn, e.patient.id)
        current = rule_overrides.current_overrides(conn, e.patient.id)
    assert (v1, v2) == (1, 2)
    assert [(c.version, c.changed_by, c.reason) for c in changes] == [
        (1, "dr. Lind", "COPD: her usual SpO2 is 93-94 %"),
        (2, "dr. Lind", "still too many alerts at 93 %"),
    ]
    assert changes[0].previous_layer is None
    assert changes[1].previous_layer == changes[0].layer
    assert changes[1].layer["overrides"][0]["patch"]["yellow"]["low"] == 91
    assert [v.version for v in current] == [2]
    rule = _spo2_rule(current)
    assert rule.enabled
    assert rule.yellow.low == 91


def test_invalid_changes_are_refused_and_not_stored(db_url: str) -> None:
    e = enrol(db_url)
    with connect(db_url) as conn:
        with pytest.raises(RuleConfigError, match="no rule 'spo3'"):
            change_patient_overrides(
                conn,
                HEART_FAILURE,
                e.patient.id,
                OverrideLayer(source="p", overrides=(RuleOverride(id="spo3", enabled=False),)),
                changed_by="x",
                reason="typo",
            )
        with pytest.raises(RuleConfigError, match="needs a reason"):
            change_patient_overrides(
                conn, HEART_FAILURE, e.patient.id, _spo2_layer("p", 92), changed_by="x", reason=" "
            )
        with pytest.raises(RuleConfigError, match=r"limit 120 is outside .* \(50-100 %\)"):
            change_patient_overrides(
                conn, HEART_FAILURE, e.patient.id, _spo2_layer("p", 120), changed_by="x", reason="r"
            )
    assert scalar(db_url, "SELECT count(*) FROM rule_overrides") == 0


def test_patient_layer_goes_on_top_of_the_centre_layer(db_url: str) -> None:
    e = enrol(db_url)
    with connect(db_url) as conn:
        change_centre_overrides(
            conn,
            HEART_FAILURE,
            e.health_centre.id,
            _spo2_layer("centre", 94),
            changed_by="programme lead",
            reason="our programme alerts below 94 %",
        )
        centre_only = rule_overrides.current_overrides(conn, e.patient.id)
        change_patient_overrides(
            conn,
            HEART_FAILURE,
            e.patient.id,
            _spo2_layer("patient", 90),
            changed_by="dr. Lind",
            reason="COPD",
        )
        both = rule_overrides.current_overrides(conn, e.patient.id)
    assert _spo2_rule(centre_only).yellow.low == 94
    assert [v.scope for v in both] == ["health_centre", "patient"]
    assert _spo2_rule(both).yellow.low == 90
    assert effective_for(HEART_FAILURE, both).name.endswith(
        "; health centre overrides v1; patient overrides v1"
    )


def test_the_worker_uses_the_patients_rules_and_records_their_version(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    start = datetime.now(UTC) - timedelta(hours=5)
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [
                [
                    Reading(e.patient.id, e.device.id, "spo2", v, start + timedelta(hours=i))
                    for i, v in enumerate((96, 93, 92))
                ]
            ],
            [],
        )
        with conn.transaction():
            evaluate_patient(conn, HEART_FAILURE, e.patient.id, now=datetime.now(UTC))
        assert scalar(db_url, "SELECT count(*) FROM alerts") == 0  # spo2 yellow is off by default
        change_patient_overrides(
            conn,
            HEART_FAILURE,
            e.patient.id,
            _spo2_layer("patient", 94),
            changed_by="dr. Lind",
            reason="watch her SpO2 closely",
        )
        with conn.transaction():
            evaluate_patient(conn, HEART_FAILURE, e.patient.id, now=datetime.now(UTC))
    assert scalar(db_url, "SELECT rule_id FROM alerts") == "spo2"
    assert scalar(db_url, "SELECT rule_set FROM alerts").endswith("; patient overrides v1")


def test_thresholds_command(db_url: str, tmp_path: Path) -> None:
    e = enrol(db_url)
    env = {**os.environ, "HEMKOLL_DATABASE_URL": db_url}
    layer = tmp_path / "layer.json"
    layer.write_text(_spo2_layer("patient", 92).model_dump_json())
    hemkoll = [sys.executable, "-m", "hemkoll", "thresholds"]
    missing = subprocess.run(
        [*hemkoll, "set", "--patient", str(e.patient.id), "--overrides", str(layer)],
        env=env,
        capture_output=True,
        check=False,
    )
    assert missing.returncode == 2
    assert b"--reason and --by are required" in missing.stderr
    stored = subprocess.run(
        [
            *hemkoll,
            "set",
            "--patient",
            str(e.patient.id),
            "--overrides",
            str(layer),
            "--reason",
            "COPD",
            "--by",
            "dr. Lind",
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    assert b"version 1" in stored.stdout
    shown = subprocess.run(
        [*hemkoll, "show", "--patient", str(e.patient.id)], env=env, capture_output=True, check=True
    )
    rules = {r["id"]: r for r in orjson.loads(shown.stdout)["rules"]}
    assert rules["spo2"]["enabled"] is True
    assert rules["spo2"]["yellow"]["low"] == 92
    history = subprocess.run(
        [*hemkoll, "history", "--patient", str(e.patient.id)],
        env=env,
        capture_output=True,
        check=True,
    )
    assert [(h["version"], h["reason"], h["old"]) for h in orjson.loads(history.stdout)] == [
        (1, "COPD", None)
    ]


def test_monitoring_command(db_url: str) -> None:
    e = enrol(db_url)
    env = {**os.environ, "HEMKOLL_DATABASE_URL": db_url}
    hemkoll = [sys.executable, "-m", "hemkoll", "monitoring"]
    subprocess.run([*hemkoll, "pause", "--patient", str(e.patient.id)], env=env, check=True)
    assert scalar(db_url, "SELECT monitoring_paused_since IS NOT NULL FROM patients") is True
    subprocess.run([*hemkoll, "resume", "--patient", str(e.patient.id)], env=env, check=True)
    assert scalar(db_url, "SELECT monitoring_paused_since FROM patients") is None
    unknown = subprocess.run(
        [*hemkoll, "pause", "--patient", "00000000-0000-0000-0000-000000000000"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert unknown.returncode == 2
