"""A rule refused says why in a stable code and names the field at fault, so a form can say it
in its own words beside that field; what a value may be is read from the models' own bounds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.config import (
    MAX_CHANGE_WINDOW_DAYS,
    MAX_SYMPTOM_SCORE,
    Bounds,
    ChangeRule,
    MissingRule,
    Rule,
    SymptomRule,
    field_bounds,
    limit_bounds,
)

RULE: TypeAdapter[Any] = TypeAdapter(Rule)
HEART_RATE = {
    "id": "hr",
    "kind": "threshold",
    "metric": "heart_rate",
    "yellow": {"low": 50, "high": 100},
    "red": {"low": 40, "high": 110},
}


def _refusal(data: dict[str, Any]) -> tuple[str, tuple[str | int, ...], dict[str, Any], str]:
    with pytest.raises(ValidationError) as refused:
        RULE.validate_python(data)
    [error] = refused.value.errors()
    return error["type"], error["loc"], error.get("ctx", {}), error["msg"]


@pytest.mark.parametrize(
    ("change", "code", "loc", "context", "words"),
    [
        (
            {"red": {"low": 55, "high": 110}},
            "red_low_above_yellow",
            ("threshold",),
            {"field": "red.low", "yellow": 50},
            "red low must not exceed yellow low",
        ),
        (
            {"red": {"low": 40, "high": 95}},
            "red_high_below_yellow",
            ("threshold",),
            {"field": "red.high", "yellow": 100},
            "red high must not be below yellow",
        ),
        (
            {"yellow": {"low": 50, "high": 400}, "red": {"low": 40, "high": 410}},
            "limit_implausible",
            ("threshold",),
            {"field": "yellow.high", "low": 20.0, "high": 300.0},
            "limit 400 is outside what a heart_rate reading can be (20-300 /min)",
        ),
        (
            {"yellow": {"low": 120, "high": 100}},
            "band_order",
            ("threshold", "yellow"),
            {"field": "high", "low": 120.0, "high": 100.0},
            "band low 120.0 must be below high 100.0",
        ),
        ({"yellow": None, "red": None}, "needs_level", ("threshold",), {}, "needs a yellow or"),
    ],
)
def test_a_threshold_refused_names_the_field_and_keeps_its_words(
    change: dict[str, Any], code: str, loc: tuple[str, ...], context: dict[str, Any], words: str
) -> None:
    found_code, found_loc, ctx, message = _refusal({**HEART_RATE, **change})
    assert (found_code, found_loc) == (code, loc)
    assert {k: ctx[k] for k in context} == context
    assert words in message  # the API's and the command line's English, as before


def test_amounts_scores_and_deadlines_refused_name_their_field() -> None:
    change = {"id": "g", "kind": "change", "metric": "body_weight", "window_days": 3}
    assert _refusal({**change, "yellow": 2, "red": 1})[:3] == (
        "red_below_yellow",
        ("change",),
        {"field": "red", "yellow": 2.0},
    )
    assert _refusal(change)[0] == "needs_level"
    symptom = {"id": "s", "kind": "symptom", "metric": "symptom_fatigue"}
    assert _refusal({**symptom, "yellow_score": 3, "red_score": 2})[2]["field"] == "red_score"
    baseline = {"id": "b", "kind": "baseline", "metric": "body_weight", "sd_floor": 0.3}
    assert _refusal({**baseline, "yellow_sd": 3, "red_sd": 2})[2]["field"] == "red_sd"
    missing = {"id": "m", "kind": "missing", "metric": "body_weight"}
    assert _refusal(missing)[:3] == ("needs_deadline", ("missing",), {"field": "after_hours"})
    both = {**missing, "after_hours": 48, "by_local_time": "12:00"}
    assert _refusal(both)[:3] == ("two_deadlines", ("missing",), {})


def test_bounds_are_read_from_the_models_and_the_metrics() -> None:
    assert field_bounds(ChangeRule, "window_days") == Bounds(1.0, float(MAX_CHANGE_WINDOW_DAYS))
    assert field_bounds(ChangeRule, "yellow") == Bounds(0.0, None, low_open=True)
    assert field_bounds(SymptomRule, "red_score") == Bounds(1.0, float(MAX_SYMPTOM_SCORE))
    assert field_bounds(MissingRule, "after_hours") == Bounds(0.0, None, low_open=True)
    assert field_bounds(MissingRule, "by_local_time") == Bounds()
    spo2 = METRICS["spo2"]
    assert limit_bounds("spo2") == Bounds(spo2.plausible_low, spo2.plausible_high)
    bounds = limit_bounds("heart_rate")
    assert bounds.admits(20.0)
    assert bounds.admits(300.0)
    assert not bounds.admits(300.5)
    assert not Bounds(0.0, None, low_open=True).admits(0.0)
    assert Bounds(0.0, 1.0, high_open=True).admits(0.5)
    assert not Bounds(0.0, 1.0, high_open=True).admits(1.0)
