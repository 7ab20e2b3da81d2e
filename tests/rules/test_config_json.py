"""Rule sets as data: validation, JSON round trips, override merging."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pydantic import ValidationError

from bench.rules_cohort import CohortSpec, cohort
from hemkoll.rules import (
    HEART_FAILURE,
    Band,
    CombinationRule,
    Finding,
    OverrideLayer,
    RuleOverride,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    effective_rules,
    evaluate,
    required_history,
)
from hemkoll.rules.findings import epoch_us


def test_rule_set_json_round_trip() -> None:
    text = HEART_FAILURE.model_dump_json()
    again = RuleSet.model_validate_json(text)
    assert again == HEART_FAILURE
    assert json.loads(text)["rules"][0]["kind"] == "trend"


def test_every_rule_kind_in_the_preset_and_sources_noted() -> None:
    kinds = {r.kind for r in HEART_FAILURE.rules}
    assert kinds == {
        "change",
        "baseline",
        "trend",
        "threshold",
        "symptom",
        "missing",
        "combination",
        "index",
    }
    assert HEART_FAILURE.rule("weight_gain_3d").note.startswith("ESC")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "threshold", "id": "x", "metric": "heart_rate"}, "yellow or a red band"),
        ({"kind": "threshold", "id": "x", "metric": "pulse", "yellow": {"high": 1}}, "unknown"),
        ({"kind": "threshold", "id": "Bad Id", "metric": "spo2", "yellow": {"low": 9}}, "pattern"),
        ({"kind": "missing", "id": "x", "metric": "spo2"}, "exactly one"),
        ({"kind": "symptom", "id": "x", "metric": "spo2", "yellow_score": 2}, "not a symptom"),
        ({"kind": "change", "id": "x", "metric": "body_weight", "window_days": 3}, "amount"),
        ({"kind": "nonsense", "id": "x"}, "tag"),
    ],
)
def test_invalid_rules_are_rejected(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RuleSet.model_validate({"name": "t", "rules": [data]})


def test_red_band_must_be_outside_yellow_and_ids_unique_and_references_exist() -> None:
    with pytest.raises(ValidationError, match="red high"):
        ThresholdRule(id="x", metric="heart_rate", yellow=Band(high=110), red=Band(high=100))
    rule = SymptomRule(id="s", metric="symptom_fatigue", yellow_score=2)
    with pytest.raises(ValidationError, match="twice"):
        RuleSet(name="t", rules=(rule, rule))
    combo = CombinationRule(
        id="c", mode="all", rules=("s", "nope"), window_hours=1, label_en="a", label_sv="b"
    )
    with pytest.raises(ValidationError, match="unknown rule"):
        RuleSet(name="t", rules=(rule, combo))


def test_overrides_patch_nested_fields_disable_and_add() -> None:
    centre = OverrideLayer(
        source="centre:Söder",
        overrides=(RuleOverride(id="weight_gain_3d", patch={"yellow": 1.0}, note="TELBIL"),),
    )
    patient = OverrideLayer(
        source="patient:42",
        overrides=(
            RuleOverride(id="spo2", patch={"yellow": {"low": 90}, "red": {"low": 85}}),
            RuleOverride(id="fatigue", enabled=False),
        ),
        add=(ThresholdRule(id="temperature", metric="body_temperature", yellow=Band(high=37)),),
    )
    merged = effective_rules(HEART_FAILURE, centre, patient)
    assert merged.rule("weight_gain_3d").yellow == 1.0  # type: ignore[union-attr]
    assert merged.rule("weight_gain_3d").note == "TELBIL"
    spo2 = merged.rule("spo2")
    assert isinstance(spo2, ThresholdRule)
    assert spo2.yellow is not None
    assert spo2.red is not None
    assert (spo2.yellow.low, spo2.yellow.consecutive) == (90, 2)  # unpatched field kept
    assert spo2.red.low == 85
    assert not merged.rule("fatigue").enabled
    assert merged.rule("temperature").kind == "threshold"
    assert [r.id for r in merged.rules][: len(HEART_FAILURE.rules)] == [
        r.id for r in HEART_FAILURE.rules
    ]
    assert HEART_FAILURE.rule("weight_gain_3d").yellow == 2.0  # type: ignore[union-attr]
    assert RuleSet.model_validate_json(merged.model_dump_json()) == merged


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (RuleOverride(id="nope", enabled=False), "no rule"),
        (RuleOverride(id="spo2", patch={"id": "other"}), "cannot change id"),
        (RuleOverride(id="spo2", patch={"yellow": {"low": 99}, "red": {"low": 99.5}}), "red low"),
        (RuleOverride(id="spo2", patch={"yellow": None, "red": None}), "yellow or a red"),
    ],
)
def test_bad_overrides_are_errors(override: RuleOverride, message: str) -> None:
    with pytest.raises((ValueError, ValidationError), match=message):
        effective_rules(HEART_FAILURE, OverrideLayer(source="p", overrides=(override,)))


def test_adding_an_existing_id_is_an_error() -> None:
    layer = OverrideLayer(
        source="p", add=(SymptomRule(id="fatigue", metric="symptom_fatigue", yellow_score=1),)
    )
    with pytest.raises(ValueError, match="already exists"):
        effective_rules(HEART_FAILURE, layer)


def test_findings_json_round_trip() -> None:
    every_rule = effective_rules(
        HEART_FAILURE,
        OverrideLayer(
            source="test",
            overrides=tuple(RuleOverride(id=r.id, enabled=True) for r in HEART_FAILURE.rules),
        ),
    )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    spec = CohortSpec(patients=5, days=60, start_us=epoch_us(start), seed=3)
    findings = [
        f
        for s in cohort(spec)
        for f in evaluate(
            every_rule, s, tz=ZoneInfo("Europe/Stockholm"), now=start + timedelta(days=60)
        )
    ]
    assert {f.kind for f in findings} >= {"change", "threshold", "symptom", "missing", "trend"}
    for f in findings:
        text = json.dumps(f.to_json(), allow_nan=False)
        assert Finding.from_json(json.loads(text)) == f
        assert f.fired_at.tzinfo is not None
        assert f.explanation_en.endswith(".")
        assert f.explanation_sv.endswith(".")


def test_required_history_covers_the_longest_window() -> None:
    assert required_history(HEART_FAILURE) >= timedelta(days=15)
    empty: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    assert evaluate(HEART_FAILURE, empty, tz=ZoneInfo("UTC")) == []
