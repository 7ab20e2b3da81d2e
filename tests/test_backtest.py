"""Live evaluation and backtest give the same alerts, a nurse resolving each as the backtest's
does; `hemkoll backtest` shows a proposal's."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import psycopg

from hemkoll.alerts.evaluation import evaluate_patient
from hemkoll.alerts.nurse_actions import acknowledge, resolve
from hemkoll.detection.rulesets import PRESET_V2
from hemkoll.rules.alerting import RECOVERY
from hemkoll.rules.backtest import (
    ACKNOWLEDGED_AFTER,
    BACKTEST_OUTCOME,
    RESOLVED_AFTER,
    backtest,
)
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.rules.overrides import OverrideLayer, RuleOverride, effective_rules
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.series import series_from_rows
from hemkoll.store.connect import Conn, connect
from hemkoll.store.readings import ReadingWriter, readings_between
from hemkoll.store.types import Reading
from tests.helpers import enrol

DAYS = 40


def _history(patient, device, seed: int) -> list[Reading]:  # type: ignore[no-untyped-def]
    """Forty mornings of weight, SpO2 and breathlessness with two deteriorations."""
    rng = np.random.default_rng(seed)
    start = (datetime.now(UTC) - timedelta(days=DAYS)).replace(hour=6, minute=30, second=0)
    readings = []
    for day in range(DAYS):
        at = start + timedelta(days=day, minutes=int(rng.integers(0, 90)))
        episode = 1.0 if 12 <= day < 18 or 30 <= day < 36 else 0.0
        weight = 80 + rng.normal(0, 0.3) + episode * 0.5 * (day % 6)
        spo2 = min(100.0, round(96 + rng.normal(0, 1) - episode * 4))
        breath = min(3, max(0, round(rng.normal(0.3, 0.3) + episode * 1.5)))
        readings += [
            Reading(patient, device, "body_weight", round(weight, 1), at),
            Reading(patient, device, "spo2", spo2, at + timedelta(minutes=1)),
            Reading(patient, device, "symptom_breathlessness", breath, at + timedelta(minutes=2)),
        ]
    return readings


def test_live_evaluation_day_by_day_raises_the_backtest_alerts(db_url: str) -> None:
    e = enrol(db_url, kind="gateway", enrolled_days_ago=DAYS + 5)
    readings = _history(e.patient.id, e.device.id, seed=3)
    # Programme v2 (its trends join the SpO2 alerts as evidence). With v3 the slow-drift
    # index's week's average lags each six-day deterioration, which ends without an admission,
    # and opens a second alert a week later (docs/programme.md); live and backtest agree on
    # that too, but the point here is one alert per deterioration.
    rule_set = effective_rules(
        PRESET_V2,
        OverrideLayer(source="test", overrides=(RuleOverride(id="spo2", enabled=True),)),
    )
    rule_set = RuleSet(name="test", rules=rule_set.rules)
    with connect(db_url) as conn:
        mornings = [readings[day * 3 : day * 3 + 3] for day in range(DAYS)]
        _live(conn, rule_set, e.patient.id, mornings)
        live = conn.execute(
            "SELECT rule_id, first_fired_at, severity FROM alerts ORDER BY first_fired_at, rule_id"
        ).fetchall()
        live_evidence = conn.execute(
            "SELECT a.first_fired_at, e.details->>'rule_id' FROM alert_events e"
            " JOIN alerts a ON a.id = e.alert_id WHERE e.kind = 'evidence_added'"
            " ORDER BY e.id"
        ).fetchall()
        until = readings[-1].measured_at + timedelta(minutes=5)
        rows = readings_between(conn, e.patient.id, until - timedelta(days=400), until)
    replayed = backtest(
        rule_set, series_from_rows(rows), tz=ZoneInfo("Europe/Stockholm"), until=until
    )
    # One alert per deterioration: the two episodes gave two alerts, each with the evidence
    # of the other rules that fired in it, though the nurse resolved each within hours and
    # its rules went on firing the next days; live and in the backtest alike.
    assert len(live) == 2, live
    assert live_evidence, "no other rule's evidence joined an alert"
    assert [(a.rule_id, a.opened_at, a.final_severity) for a in replayed] == [
        (rule_id, fired_at, severity) for rule_id, fired_at, severity in live
    ]
    assert [(a.opened_at, f.rule_id) for a in replayed for f in a.evidence_added] == [
        (opened_at, rule_id) for opened_at, rule_id in live_evidence
    ]


TWO_RULES = RuleSet(
    name="test spo2 and pulse",
    rules=(
        ThresholdRule(id="spo2_low", metric="spo2", yellow=Band(low=94), red=Band(low=90)),
        ThresholdRule(id="pulse_high", metric="heart_rate", yellow=Band(high=110)),
    ),
)


def test_two_rules_in_one_deterioration_give_one_alert_live_and_in_the_backtest(
    db_url: str,
) -> None:
    e = enrol(db_url, kind="pulse_oximeter", enrolled_days_ago=30)
    start = (datetime.now(UTC) - timedelta(days=20)).replace(hour=7, minute=0, second=0)

    def morning(day: float, **values: float) -> list[Reading]:
        at = start + timedelta(days=day)
        metric = {"spo2": "spo2", "pulse": "heart_rate"}
        return [
            Reading(e.patient.id, e.device.id, metric[name], value, at + timedelta(minutes=i))
            for i, (name, value) in enumerate(values.items())
        ]

    days = [
        morning(0, spo2=97, pulse=72),
        morning(1, spo2=93, pulse=115),  # both rules fire: one alert, the pulse as evidence
        morning(2, spo2=93, pulse=116),  # the nurse resolved it; it goes on: no new alert
        morning(4, spo2=89, pulse=80),  # worse than the resolved alert: a new (red) one
        # no finding for more than RECOVERY after day 4: recovered
        morning(4 + RECOVERY.days + 1, spo2=96, pulse=118),  # a new deterioration
    ]
    with connect(db_url) as conn:
        _live(conn, TWO_RULES, e.patient.id, days)
        live = conn.execute(
            "SELECT rule_id, first_fired_at, severity, (SELECT array_agg(e.details->>'rule_id')"
            " FROM alert_events e WHERE e.alert_id = a.id AND e.kind = 'evidence_added')"
            " FROM alerts a ORDER BY first_fired_at"
        ).fetchall()
        events = conn.execute(
            "SELECT e.details FROM alert_events e WHERE e.kind = 'evidence_added'"
        ).fetchall()
        handled = conn.execute(
            "SELECT acknowledged_at, resolved_at FROM alerts ORDER BY first_fired_at"
        ).fetchall()
        until = days[-1][-1].measured_at + timedelta(minutes=5)
        rows = readings_between(conn, e.patient.id, start - timedelta(days=1), until)
    first, worse, recovered = days[1][0].measured_at, days[3][0], days[4][1].measured_at
    assert live == [
        ("spo2_low", first, "yellow", ["pulse_high"]),
        ("spo2_low", worse.measured_at, "red", None),
        ("pulse_high", recovered, "yellow", None),
    ]
    # The other rule's evidence is on the alert's history, in words, as the alert's own is.
    (details,) = events[0]
    assert details["evidence"]["value"] == 115.0
    assert details["explanation_en"]
    assert details["explanation_sv"]
    assert details["explanation_en"] != details["explanation_sv"]
    replayed = backtest(
        TWO_RULES, series_from_rows(rows), tz=ZoneInfo("Europe/Stockholm"), until=until
    )
    assert [
        (
            a.rule_id,
            a.opened_at,
            a.final_severity,
            [f.rule_id for f in a.evidence_added] or None,
        )
        for a in replayed
    ] == live
    # The nurse acknowledged and resolved each alert when the backtest's nurse would have.
    assert [(a.acknowledged_at, a.resolved_at) for a in replayed] == handled
    *handled_by_now, newest = replayed  # the newest opened minutes before the end
    assert all(a.acknowledged_at == a.opened_at + ACKNOWLEDGED_AFTER for a in handled_by_now)
    assert (newest.acknowledged_at, newest.resolved_at) == (None, None)


def _live(conn: Conn, rule_set: RuleSet, patient_id: UUID, mornings: list[list[Reading]]) -> None:
    """Live: each morning's readings arrive and the worker evaluates right after; the nurse
    resolves each alert RESOLVED_AFTER after it opened, as the backtest's nurse does."""
    writer = ReadingWriter(conn)
    for todays in mornings:
        now = todays[-1].measured_at + timedelta(minutes=5)
        _nurse_resolves_due(conn, now)
        writer.write([todays], [])
        with conn.transaction():
            evaluate_patient(conn, rule_set, patient_id, now=now)


def _nurse_resolves_due(conn: Conn, now: datetime) -> None:
    """Through the nurse's path, acknowledge each alert ACKNOWLEDGED_AFTER and resolve it
    RESOLVED_AFTER after it opened, if due by ``now``, each at that moment of the replayed
    days (``at``), as the backtest's nurse and the demo's replay nurse do."""
    due = conn.execute(
        "SELECT id, first_fired_at FROM alerts WHERE state <> 'resolved'"
        " AND first_fired_at + %s <= %s",
        (RESOLVED_AFTER, now),
    ).fetchall()
    for alert_id, opened in due:
        acknowledge(conn, alert_id, by="test nurse", at=opened + ACKNOWLEDGED_AFTER)
        resolve(conn, alert_id, BACKTEST_OUTCOME, by="test nurse", at=opened + RESOLVED_AFTER)


def test_backtest_command_shows_current_and_proposed(db_url: str, tmp_path: Path) -> None:
    e = enrol(db_url, kind="gateway", enrolled_days_ago=DAYS + 5)
    with connect(db_url) as conn:
        ReadingWriter(conn).write([_history(e.patient.id, e.device.id, seed=5)], [])
    proposed = RuleSet(
        name="proposal: SpO2 below 93 %",
        rules=(ThresholdRule(id="spo2_93", metric="spo2", yellow=Band(low=93)),),
    )
    rules_file = tmp_path / "proposal.json"
    rules_file.write_text(proposed.model_dump_json())
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hemkoll",
            "backtest",
            "--patient",
            str(e.patient.id),
            "--rules",
            str(rules_file),
            "--days",
            "60",
            "--json",
        ],
        env={**os.environ, "HEMKOLL_DATABASE_URL": db_url},
        capture_output=True,
        check=True,
    )
    report = orjson.loads(out.stdout)
    assert report["readings"] == DAYS * 3
    assert set(report["rule_sets"]) == {HEART_FAILURE.name, proposed.name}
    spo2_alerts = report["rule_sets"][proposed.name]
    assert spo2_alerts
    assert {a["rule_id"] for a in spo2_alerts} == {"spo2_93"}
    assert all(a["evidence"]["value"] < 93 for a in spo2_alerts)
    # Nothing was written: a backtest only reads.
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)

    bad = rules_file.with_name("bad.json")
    bad.write_text('{"name": "x", "rules": [{"id": "a", "kind": "threshold", "metric": "spo2"}]}')
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "hemkoll",
            "backtest",
            "--patient",
            str(e.patient.id),
            "--rules",
            str(bad),
        ],
        env={**os.environ, "HEMKOLL_DATABASE_URL": db_url},
        capture_output=True,
        check=False,
    )
    assert refused.returncode == 2
    assert b"needs a yellow or a red band" in refused.stderr


def test_backtest_command_over_a_chosen_period(db_url: str) -> None:
    e = enrol(db_url, kind="gateway", enrolled_days_ago=DAYS + 5)
    with connect(db_url) as conn:
        ReadingWriter(conn).write([_history(e.patient.id, e.device.id, seed=5)], [])
    until = datetime.now(UTC) - timedelta(days=10)
    since = until - timedelta(days=20)

    def run(*period: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "hemkoll", "backtest", "--patient", str(e.patient.id), *period],
            env={**os.environ, "HEMKOLL_DATABASE_URL": db_url},
            capture_output=True,
            check=False,
        )

    shown = run("--since", since.isoformat(), "--until", until.isoformat(), "--json")
    assert shown.returncode == 0, shown.stderr
    report = orjson.loads(shown.stdout)
    assert datetime.fromisoformat(report["from"]) == since
    assert datetime.fromisoformat(report["until"]) == until
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    refused = run("--until", future)
    assert refused.returncode == 2
    assert b"--until: is in the future" in refused.stderr
    both = run("--since", since.date().isoformat(), "--days", "5")
    assert both.returncode == 2
    assert b"--days: give since or days, not both" in both.stderr
