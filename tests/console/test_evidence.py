"""An alert's evidence in words (hemkoll.api.console.evidence), for a finding of every rule kind
as the rules engine builds it: Swedish labels, decimal comma, units, the patient's local times
(October in Stockholm is UTC+2, so 05:30Z reads 07:30), rule labels for a combination's parts,
and no raw key or ISO timestamp anywhere but the technical details' JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any, get_args
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.api.console.evidence import KINDS, Evidence, evidence_view
from hemkoll.api.console.i18n import CATALOGUE, Formatter, Lang
from hemkoll.api.console.rules_view import find, rule_label
from hemkoll.protocol.measurements import FOLLOW_UP
from hemkoll.rules import (
    Band,
    BaselineRule,
    ChangeRule,
    CombinationRule,
    Finding,
    MissingRule,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
    evaluate,
)
from hemkoll.rules.config import PlainRule
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import DETERIORATION_INDEX

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NBSP = "\u00a0"
# What must not reach staff outside the details: an ISO timestamp, in UTC or any offset.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}|\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})")

Series = dict[str, tuple[np.ndarray, np.ndarray]]


def series(*readings: tuple[str, float]) -> tuple[np.ndarray, np.ndarray]:
    times = [epoch_us(datetime.fromisoformat(at)) for at, _ in readings]
    return np.asarray(times, dtype=np.int64), np.asarray([v for _, v in readings], float)


WEIGHT_GAIN = ChangeRule(id="weight_gain_3d", metric="body_weight", window_days=3, yellow=2.0)
WORSE = SymptomRule(id="breathlessness_worse", metric="symptom_breathlessness", worsening_points=1)
WEIGHTS = series(
    ("2026-10-13T05:30:00Z", 80.0),
    ("2026-10-14T05:30:00Z", 80.4),
    ("2026-10-15T05:30:00Z", 81.0),
    ("2026-10-16T05:30:00Z", 82.5),
)
ANSWERS = series(("2026-10-14T05:40:00Z", 0.0), ("2026-10-16T05:30:00Z", 1.0))


def fired(rules: RuleSet, data: Series, *, kind: str, now: datetime | None = None) -> Finding:
    """The first finding of ``kind`` (a condition that lasts fires again on each later day)."""
    found = [f for f in evaluate(rules, data, tz=TZ, now=now) if f.kind == kind]
    assert found, f"no {kind} finding"
    return found[0]


def view(finding: Finding, rules: RuleSet, lang: Lang = "sv") -> Evidence:
    t = CATALOGUE[lang]
    return evidence_view(
        finding.kind,
        finding.evidence,
        explanation_sv=finding.explanation_sv,
        explanation_en=finding.explanation_en,
        fmt=Formatter(lang, TZ, NOW),
        t=t,
        rule_name=lambda rule_id: rule_label(find(rules, rule_id), rule_id, t),
    )


def table(ev: Evidence) -> dict[str, Any]:
    """Label -> value (a list for a listed row), with no-break spaces as plain spaces."""
    return {
        row.label: [v.replace(NBSP, " ") for v in row.values]
        if row.listed
        else row.values[0].replace(NBSP, " ")
        for row in ev.rows
    }


def assert_in_words(ev: Evidence, finding: Finding) -> None:
    """No raw key in the table, no ISO time anywhere shown; the details hold the evidence."""
    shown = " ".join(f"{row.label} {' '.join(row.values)}" for row in ev.rows)
    for key in finding.evidence:
        assert not re.search(rf"\b{key}\b", shown), (key, shown)
    assert not ISO_TIME.search(f"{ev.sentence} {shown}"), shown
    assert json.loads(ev.details) == finding.evidence
    assert ev.sentence == finding.explanation_sv


def test_threshold_readings_in_local_time_with_units() -> None:
    rules = RuleSet(
        name="t",
        rules=(
            ThresholdRule(
                id="temperature", metric="body_temperature", yellow=Band(high=38.0, consecutive=2)
            ),
        ),
    )
    data = {
        "body_temperature": series(("2026-10-16T05:30:00Z", 38.4), ("2026-10-16T05:40:00Z", 38.6))
    }
    finding = fired(rules, data, kind="threshold")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Kroppstemperatur",
        "Mätvärde": "38,6 °C",
        "Gräns": "över 38,0 °C",
        "Tillåtet område": "högst 38,0 °C",
        "Mätningar i rad utanför": "2",
        "Tid utanför": "10 min",
        "Mätt": ["16 okt 2026 07:30: 38,4 °C", "16 okt 2026 07:40: 38,6 °C"],
    }
    assert_in_words(ev, finding)
    english = table(view(finding, rules, "en"))
    assert english["Limit"] == "above 38.0 °C"
    assert english["Measured"][0] == "16 Oct 2026 07:30: 38.4 °C"


def test_threshold_band_with_both_limits() -> None:
    rules = RuleSet(
        name="t",
        rules=(ThresholdRule(id="heart_rate", metric="heart_rate", red=Band(low=40, high=110)),),
    )
    data = {"heart_rate": series(("2026-10-16T05:30:00Z", 38.0))}
    ev = table(view(fired(rules, data, kind="threshold"), rules))
    assert ev["Mätvärde"] == "38 slag/min"
    assert ev["Gräns"] == "under 40 slag/min"
    assert ev["Tillåtet område"] == "40\u2013110 slag/min"


def test_change_against_the_lowest_morning_before() -> None:
    rules = RuleSet(name="t", rules=(WEIGHT_GAIN,))
    finding = fired(rules, {"body_weight": WEIGHTS}, kind="change")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Vikt",
        "Morgonvärde": "82,5 kg",
        "Dag": "16 okt 2026",
        "Lägsta morgonvärde före": "80,0 kg, 13 okt 2026 07:30",
        "Förändring": "+2,5 kg",
        "Gräns": "ökning med minst 2,0 kg",
        "Jämfört med föregående": "3 dygn",
    }
    assert_in_words(ev, finding)


def test_a_fall_reads_as_a_fall() -> None:
    rule = ChangeRule(
        id="weight_loss_3d", metric="body_weight", direction="fall", window_days=3, yellow=2.0
    )
    rules = RuleSet(name="t", rules=(rule,))
    data = {"body_weight": series(("2026-10-15T05:30:00Z", 80.0), ("2026-10-16T05:30:00Z", 77.5))}
    ev = table(view(fired(rules, data, kind="change"), rules))
    assert ev["Förändring"] == "\u22122,5 kg"
    assert ev["Gräns"] == "minskning med minst 2,0 kg"
    assert ev["Högsta morgonvärde före"] == "80,0 kg, 15 okt 2026 07:30"


def test_baseline_with_its_variation_and_score() -> None:
    rule = BaselineRule(
        id="weight_above_baseline",
        metric="body_weight",
        yellow_sd=2.0,
        sd_floor=0.3,
        min_deviation=1.0,
    )
    rules = RuleSet(name="t", rules=(rule,))
    days = [(f"2026-10-{d:02d}T05:30:00Z", 80.0 + 0.4 * (d % 2)) for d in range(6, 16)]
    data = {"body_weight": series(*days, ("2026-10-16T05:30:00Z", 82.0))}
    finding = fired(rules, data, kind="baseline")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Vikt",
        "Morgonvärde": "82,0 kg",
        "Dag": "16 okt 2026",
        "Baslinje (medelvärde)": "80,2 kg",
        "Dagar i baslinjen": "10 av 14 dygn",
        "Vanlig variation (SD)": "0,2 kg (räknas som 0,3 kg)",
        "Avvikelse": "+1,8 kg",
        "Avvikelse i SD": "6,0 SD",
        "Gräns": "≥ 2,0 SD",
    }
    assert_in_words(ev, finding)


def test_trend_with_both_averages() -> None:
    rule = TrendRule(id="weight_trend", metric="body_weight", short_days=3, long_days=21, yellow=1)
    rules = RuleSet(name="t", rules=(rule,))
    days = [(f"2026-10-{d:02d}T05:30:00Z", 80.0 + max(0, d - 20) * 0.6) for d in range(1, 27)]
    finding = fired(rules, {"body_weight": series(*days)}, kind="trend")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Vikt",
        "Morgonvärde": "82,4 kg",
        "Dag": "24 okt 2026",
        "Medelvärde 3 dygn": "81,8 kg",
        "Medelvärde 21 dygn": "80,6 kg",
        "Skillnad": "+1,3 kg",
        "Gräns": "ökning med minst 1,0 kg",
        "Dagar med mätning": "21 av 21 dygn",
    }
    assert_in_words(ev, finding)


def test_missing_after_hours_names_the_last_and_next_readings() -> None:
    rules = RuleSet(
        name="t",
        rules=(MissingRule(id="weight_missing_48h", metric="body_weight", after_hours=48),),
    )
    data = {"body_weight": series(("2026-10-14T05:30:00Z", 80.4), ("2026-10-17T06:00:00Z", 80.6))}
    finding = fired(rules, data, kind="missing")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Vikt",
        "Senaste mätning": "14 okt 2026 07:30",
        "Senaste värde": "80,4 kg",
        "Larmar efter": "2 d",
        "Tidsgräns": "16 okt 2026 07:30",
        "Nästa mätning": "17 okt 2026 08:00",
    }
    assert_in_words(ev, finding)
    still = fired(
        rules,
        {"body_weight": series(("2026-10-14T05:30:00Z", 80.4))},
        kind="missing",
        now=datetime(2026, 10, 17, tzinfo=UTC),
    )
    assert table(view(still, rules))["Nästa mätning"] == "ingen ännu"


def test_missing_by_a_local_time_after_the_clocks_go_back() -> None:
    rule = MissingRule(id="weight_missing_by_noon", metric="body_weight", by_local_time=time(12))
    rules = RuleSet(name="t", rules=(rule,))
    # Winter time from 25 October: 13:00Z is 14:00 in Stockholm.
    data = {"body_weight": series(("2026-10-25T07:00:00Z", 80.4), ("2026-10-26T13:00:00Z", 80.6))}
    finding = fired(rules, data, kind="missing")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Vikt",
        "Tidsgräns": "26 okt 2026 12:00",
        "Första mätning den dagen": "26 okt 2026 14:00",
    }
    assert_in_words(ev, finding)


def test_symptom_worsening_against_the_lowest_answer_before() -> None:
    rules = RuleSet(name="t", rules=(WORSE,))
    finding = fired(rules, {"symptom_breathlessness": ANSWERS}, kind="symptom")
    ev = view(finding, rules)
    assert table(ev) == {
        "Mätning": "Andfåddhet",
        "Svar": "1 av 3",
        "Försämring som larmar": "1 steg",
        "Lägsta svar innan": "0 av 3, 14 okt 2026 07:40",
    }
    assert_in_words(ev, finding)
    scored = RuleSet(
        name="t",
        rules=(SymptomRule(id="b", metric="symptom_breathlessness", yellow_score=1, red_score=3),),
    )
    levels = table(view(fired(scored, {"symptom_breathlessness": ANSWERS}, kind="symptom"), scored))
    assert (levels["Gul från"], levels["Röd från"]) == ("1 av 3", "3 av 3")


def test_a_symptom_reading_the_follow_up_says_what_she_answered() -> None:
    rules = RuleSet(
        name="t",
        rules=(SymptomRule(id="b", metric="symptom_breathlessness", red_score=1, follow_up=True),),
    )
    at = "2026-10-16T05:30:00Z"
    for follow_up, shown in (((1.0,), "ja"), ((), "inte besvarad")):
        data = {
            "symptom_breathlessness": ANSWERS,
            FOLLOW_UP: series(*((at, v) for v in follow_up)),
        }
        finding = fired(rules, data, kind="symptom")
        ev = view(finding, rules)
        assert table(ev)["Värre än vanligt, enligt henne (följdfrågan)"] == shown
        assert_in_words(ev, finding)


def test_a_combination_names_its_parts_by_their_labels() -> None:
    combined = CombinationRule(
        id="weight_gain_with_breathlessness",
        mode="all",
        rules=("weight_gain_3d", "breathlessness_worse"),
        window_hours=72,
        label_en="weight gain with worse breathlessness",
        label_sv="viktökning med ökad andfåddhet",
    )
    rules = RuleSet(name="t", rules=(WEIGHT_GAIN, WORSE, combined))
    data = {"body_weight": WEIGHTS, "symptom_breathlessness": ANSWERS}
    finding = fired(rules, data, kind="combination")
    ev = view(finding, rules)
    assert table(ev) == {
        "Villkor": "alla reglerna",
        "Tidsfönster": "3 d",
        "Delar som larmade": [
            "Vikt: ökning på 3 d (Gul, 16 okt 2026 07:30)",
            "Andfåddhet: symtompoäng (Gul, 16 okt 2026 07:30)",
        ],
    }
    shown = " ".join(v for row in ev.rows for v in row.values)
    assert "weight_gain_3d" not in shown
    assert "breathlessness_worse" not in shown
    assert json.loads(ev.details) == finding.evidence


def test_an_unknown_kind_and_unknown_keys_still_show_plainly() -> None:
    evidence: Mapping[str, Any] = {
        "metric": "body_weight",
        "measured_at": "2026-10-16T05:30:00+00:00",
        "gain_kg": 2.45,
        "on_day": "2026-10-16",
        "confirmed": True,
        "note": None,
        "parts": ["a", 1.5],
        "more": {"n": 3},
    }
    ev = evidence_view(
        "future_kind",
        evidence,
        explanation_sv="Något nytt.",
        explanation_en="Something new.",
        fmt=Formatter("sv", TZ, NOW),
        t=CATALOGUE["sv"],
        rule_name=str,
    )
    assert table(ev) == {
        "Mätning": "Vikt",
        "Measured at": "16 okt 2026 07:30",
        "Gain kg": "2,45",
        "On day": "16 okt 2026",
        "Confirmed": "ja",
        "Note": "\u2013",
        "Parts": ["a", "1,5"],
        "More": "n: 3",
    }
    assert ev.sentence == "Något nytt."
    # A known kind with a key it does not write (a later version's) shows that key too.
    legacy = evidence_view(
        "threshold",
        {"value": 88.0, "low": 90.0, "consecutive": 2},
        explanation_sv="",
        explanation_en="",
        fmt=Formatter("sv", TZ, NOW),
        t=CATALOGUE["sv"],
        rule_name=str,
    )
    assert table(legacy) == {
        "Mätvärde": "88,0",
        "Tillåtet område": "minst 90,0",
        "Consecutive": "2",
    }


def test_every_rule_kind_has_its_renderer() -> None:
    kinds = {rule.model_fields["kind"].default for rule in get_args(PlainRule)}
    assert kinds == set(KINDS)


JUNK: tuple[object, ...] = (
    None,
    "",
    "2026-13-45T99:00",
    "0001-01-01T00:00:00+00:00",
    [],
    [[1]],
    [["2026-10-16T05:30:00Z", "x"]],
    {},
    {"x": None},
    1,
    -2.5,
    10**400,
    1e300,
    True,
)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_odd_evidence_never_breaks_the_page(kind: str) -> None:
    """Every key a kind writes, set to values of every other shape: no crash, still shown."""
    keys = {
        "threshold": ("metric", "value", "side", "limit", "low", "high", "run_readings",
                      "run_minutes", "readings"),
        "change": ("metric", "direction", "value", "local_date", "reference_value",
                   "reference_at", "change", "amount", "window_days"),
        "baseline": ("baseline_sd", "sd_used", "score", "score_limit", "baseline_days"),
        "trend": ("short_days", "short_average", "long_days", "trend", "days_with_value"),
        "missing": ("after_hours", "last_reading_at", "deadline", "next_reading_at",
                    "first_reading_that_day_at"),
        "symptom": ("score", "yellow_score", "worsening_points", "window_lowest",
                    "window_lowest_at", "worse_than_usual"),
        "combination": ("mode", "window_hours", "components"),
        "index": ("local_date", "score", "score_limit", "recovery", "signals"),
    }[kind]  # fmt: skip
    for key in keys:
        for junk in JUNK:
            ev = evidence_view(
                kind,
                {"metric": "no_such_metric", key: junk},
                explanation_sv="",
                explanation_en="",
                fmt=Formatter("sv", TZ, NOW),
                t=CATALOGUE["sv"],
                rule_name=str,
            )
            assert json.loads(ev.details)[key] == junk
            if junk is not None:
                assert len(ev.rows) >= 1


def test_an_index_finding_shows_its_score_and_the_signals_that_moved() -> None:
    rule = DETERIORATION_INDEX.model_copy(update={"enabled": True})
    day = 86_400 * 10**6
    start = epoch_us(datetime(2026, 9, 1, 5, 0, tzinfo=UTC))
    t = np.array([start + d * day for d in range(50)], dtype=np.int64)
    wobble = np.array([0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 0.0] * 8)[:50]
    series = {
        "heart_rate": (t, 70.0 + wobble + np.where(np.arange(50) >= 45, 15.0, 0.0)),
        "spo2": (t + 60 * 10**6, 96.0 + wobble * 0 - np.where(np.arange(50) >= 45, 4.0, 0.0)),
        "body_weight": (t + 120 * 10**6, 80.0 + wobble * 0.1),
        "symptom_breathlessness": (t + 180 * 10**6, np.where(np.arange(50) >= 45, 2.0, 1.0)),
    }
    found = evaluate(RuleSet(name="t", rules=(rule,)), series, tz=TZ)
    assert found
    ev = evidence_view(
        "index",
        found[0].evidence,
        explanation_sv=found[0].explanation_sv,
        explanation_en=found[0].explanation_en,
        fmt=Formatter("sv", TZ, NOW),
        t=CATALOGUE["sv"],
        rule_name=str,
    )
    rows = {row.label: row.values for row in ev.rows}
    assert rows["Försämringsindex"][0].endswith("(larm från 7,0)")
    moved = rows["Signaler som rört sig"]
    # The 3-day average on the third day of a 15 /min rise: +10 /min.
    assert any(v.startswith("Puls: +10") and "slag/min" in v for v in moved)
    assert any(v.startswith("Syremättnad: \u2212") for v in moved)
    assert not any(v.startswith("Kroppsvikt") for v in moved)
    # Breathlessness one step up on two of the last three days: 0.7 steps, in both places.
    assert "andfåddhet 0,7 steg över det vanliga" in found[0].explanation_sv
    assert any(v.startswith("Andfåddhet: +0,7\u00a0steg") for v in moved)
