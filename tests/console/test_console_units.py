"""The console's pure parts: chart geometry, the rule edit that becomes an override, number and
time formatting per language, and where a form may send the browser next."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from hemkoll.api.console import charts, form_errors, proposal
from hemkoll.api.console.auth import safe_next
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.rules.config import Bounds, ChangeRule, MissingRule, PlainRule, Rule, ThresholdRule
from hemkoll.rules.overrides import OverrideLayer, RuleOverride, apply_override, effective_rules
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store.readings_query import DailyAggregate

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
SV = Formatter("sv", ZoneInfo("Europe/Stockholm"), NOW)
EN = Formatter("en", ZoneInfo("Europe/Stockholm"), NOW)


def _day(day: date, low: float, high: float) -> DailyAggregate:
    at = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)
    return DailyAggregate("body_weight", day, 2, low, high, (low + high) / 2, high, at)


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    ticks = charts.nice_ticks(78.3, 84.1)
    assert ticks[0] <= 78.3
    assert ticks[-1] >= 84.1
    steps = {round(b - a, 6) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    assert steps.pop() in {1.0, 2.0, 2.5, 5.0}
    assert charts.nice_ticks(0, 3) == [0.0, 1.0, 2.0, 3.0]
    assert charts.nice_ticks(5, 5)[0] <= 5 <= charts.nice_ticks(5, 5)[-1]


def test_a_chart_marks_missing_days_breaks_its_line_and_lists_every_day() -> None:
    days = [date(2026, 11, d) for d in range(1, 8)]
    data = {d: _day(d, 80.0, 81.0) for d in days if d.day not in (3, 4)}
    chart = charts.build_chart(
        "c",
        "Vikt",
        "kg",
        days,
        [charts.SeriesIn("body_weight", "Vikt", data)],
        lines=[charts.LineIn(82.0, "yellow", "gul över 82")],
        markers=[charts.MarkerIn(date(2026, 11, 6), "yellow", "fired", "larm")],
        tracks=[("fired", "Larmade")],
        fmt=SV,
        t=CATALOGUE["sv"],
    )
    assert len(chart.missing) == 2
    (series,) = chart.series
    assert series.path.count("M") == 2  # two runs: days 1-2 and 5-7
    assert len(series.bands) == 2
    assert len(series.dots) == 5
    assert [row[1] for row in chart.rows] == [
        "80,5 (80,0\u201381,0)",
        "80,5 (80,0\u201381,0)",
        "ingen mätning",
        "ingen mätning",
        "80,5 (80,0\u201381,0)",
        "80,5 (80,0\u201381,0)",
        "80,5 (80,0\u201381,0)",
    ]
    assert [m.label for m in chart.markers] == ["larm"]
    assert chart.lines[0].y < chart.series[0].dots[0].y  # 82 kg is above the readings
    assert "mätt 5 av 7 dagar; 1 larm markerat" in chart.desc
    assert "Värden från 80,0 till 81,0 kg." in chart.desc


def test_an_empty_chart_still_draws() -> None:
    days = [date(2026, 11, d) for d in range(1, 4)]
    chart = charts.build_chart(
        "c",
        "Puls",
        "/min",
        days,
        [charts.SeriesIn("heart_rate", "Puls", {})],
        fmt=EN,
        t=CATALOGUE["en"],
    )
    assert len(chart.missing) == 3
    assert chart.series[0].path == ""


def _base(rule_id: str) -> ThresholdRule | ChangeRule | MissingRule:
    rule = HEART_FAILURE.rule(rule_id)
    assert isinstance(rule, ThresholdRule | ChangeRule | MissingRule)
    return rule


def test_an_edit_patches_only_what_differs_from_the_rule_beneath() -> None:
    spo2 = _base("spo2")  # disabled; yellow < 95, red < 90, both 2 in a row
    values = proposal.form_values(spo2)
    assert values == {
        "yellow_low": "95",
        "yellow_high": "",
        "red_low": "90",
        "red_high": "",
        "enabled": "",
    }
    assert proposal.edit(spo2, values) is None
    changed = proposal.edit(spo2, {**values, "enabled": "on", "yellow_low": "93,5"})
    assert changed == RuleOverride(id="spo2", enabled=True, patch={"yellow": {"low": 93.5}})
    removed = proposal.edit(spo2, {**values, "yellow_low": ""})
    assert removed is not None
    assert removed.patch == {"yellow": None}
    rules = effective_rules(HEART_FAILURE, OverrideLayer(source="t", overrides=(removed,)))
    assert rules.rule("spo2").yellow is None  # type: ignore[union-attr]
    urgent = _base("spo2_urgent")  # red only
    added = proposal.edit(urgent, {**proposal.form_values(urgent), "yellow_low": "94"})
    assert added is not None
    assert added.patch == {"yellow": {"low": 94.0, "high": None, "consecutive": 2}}


def test_an_edit_of_a_change_rule_and_bad_numbers() -> None:
    gain = _base("weight_gain_3d")
    values = proposal.form_values(gain)
    assert values["window_days"] == "3"
    assert values["yellow"] == "2"
    edit = proposal.edit(gain, {**values, "enabled": "on", "yellow": "1.5", "red": "2,5"})
    assert edit == RuleOverride(
        id="weight_gain_3d", enabled=True, patch={"yellow": 1.5, "red": 2.5}
    )
    with pytest.raises(proposal.EditError, match="whole number"):
        proposal.edit(gain, {**values, "window_days": "2.5"})
    for bad in ("abc", "nan", "inf"):
        with pytest.raises(proposal.EditError, match="not a number"):
            proposal.edit(gain, {**values, "yellow": bad})
    deadline = _base("weight_missing_by_noon")
    assert proposal.fields_for(deadline) == ()


def test_the_layer_keeps_the_other_rules_and_takes_the_reason_as_note() -> None:
    other = RuleOverride(id="heart_rate", enabled=True)
    current = OverrideLayer(source="old", overrides=(other, RuleOverride(id="spo2", enabled=True)))
    new = RuleOverride(id="spo2", patch={"yellow": {"low": 93.0}})
    layer = proposal.layer_with(current, "spo2", new, source="patient:X", note="why")
    assert layer.source == "patient:X"
    assert layer.overrides == (other, new.model_copy(update={"note": "why"}))
    assert proposal.layer_with(current, "spo2", None, source="s").overrides == (other,)


def test_numbers_dates_and_durations_per_language() -> None:
    assert SV.number(81.25, 1) == "81,2"  # half to even, as Python rounds
    assert SV.number(-2.5, 1) == "\u22122,5"
    assert EN.number(-2.5, 1) == "-2.5"
    assert SV.share(0.956) == "96\u00a0%"
    assert EN.share(0.956) == "96%"
    assert SV.share(None) == "\u2013"
    assert SV.datetime(NOW) == "2026-11-24 10:30"  # Stockholm, UTC+1 in November
    assert SV.date(date(2026, 5, 3)) == "3 maj 2026"
    assert EN.date(date(2026, 5, 3)) == "3 May 2026"
    assert SV.duration(timedelta(days=2, hours=4, minutes=5)) == "2 d 4 tim"
    assert EN.duration(timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert EN.duration(timedelta(minutes=12)) == "12 min"
    assert SV.age(NOW - timedelta(hours=3)) == "3 tim"


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("/console/patients?days=7", True),
        ("/console/", True),
        ("/api/v1/alerts", False),
        ("https://evil.example/console/", False),
        ("//evil.example/console/", False),
        ("/console/\\evil", False),
        ("/console/../api/v1/alerts", False),
        ("/console/%2E%2E/api/v1/alerts", False),
    ],
)
def test_next_stays_in_the_console(value: str, allowed: bool) -> None:
    assert safe_next(value) == (value if allowed else None)


def _editable() -> list[PlainRule]:
    return [rule for rule in HEART_FAILURE.rules if proposal.fields_for(rule)]


# Values a clinician might type, right and wrong, for any field of any kind of rule.
TYPED = (
    "",
    "abc",
    "\u22121",
    "0",
    "0,5",
    "1",
    "2",
    "2.5",
    "3",
    "4",
    "35",
    "45",
    "55",
    "95",
    "105",
    "150",
    "400",
    "1e9",
)


@pytest.mark.parametrize("rule", _editable(), ids=lambda rule: rule.id)
def test_every_refusal_the_form_can_meet_has_a_message_beside_a_field(rule: PlainRule) -> None:
    """Each field, and each pair of fields, set to each of TYPED: the form's check agrees with
    the rule model (it passes exactly what the model accepts), never falls back to the generic
    message, and every message it gives is written in both languages."""
    values = proposal.form_values(rule)
    names = [spec.name for spec in proposal.fields_for(rule)]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i:]]
    seen: set[str] = set()
    for first, second in pairs:
        for x, y in itertools.product(TYPED, TYPED if first != second else ("",)):
            form = {**values, first: x, **({second: y} if first != second else {})}
            errors = proposal.check(rule, form)
            assert all(e.code != "unexpected" for e in errors), (form, errors)
            if not errors:
                override = proposal.edit(rule, form)
                if override is not None:
                    apply_override(rule, override)  # the model accepts it too
                continue
            for error in errors:
                seen.add(error.code)
                assert error.field in {*names, form_errors.FORM}
                for fmt, lang in ((SV, "sv"), (EN, "en")):
                    text = form_errors.message(error, "kg", fmt, CATALOGUE[lang])
                    assert text
                    assert "{" not in text
    assert "range" in seen or "not_a_number" in seen


def test_messages_state_the_range_in_each_language() -> None:
    hr = _base("heart_rate")
    [error] = proposal.check(hr, {**proposal.form_values(hr), "yellow_high": "400"})
    assert error == form_errors.FieldError(
        "yellow_high", "range", bounds=Bounds(20.0, 300.0), integer=False
    )
    assert form_errors.message(error, "slag/min", SV, CATALOGUE["sv"]) == (
        "Ange ett värde mellan 20 och 300 slag/min."
    )
    assert form_errors.message(error, "beats/min", EN, CATALOGUE["en"]) == (
        "Enter a value between 20 and 300 beats/min."
    )
    spo2 = _base("spo2")
    [low] = proposal.check(spo2, {**proposal.form_values(spo2), "red_low": "96"})
    assert form_errors.message(low, "%", SV, CATALOGUE["sv"]) == (
        "Röd nedre gräns får inte vara högre än gul nedre gräns (95 %)."
    )
    assert form_errors.message(low, "%", EN, CATALOGUE["en"]) == (
        "The red lower limit must not be above the yellow lower limit (95 %)."
    )
    score = form_errors.FieldError("red_score", "range", bounds=Bounds(1.0, 3.0), integer=True)
    assert form_errors.message(score, "", SV, CATALOGUE["sv"]) == "Ange ett heltal mellan 1 och 3."
    half = form_errors.FieldError("x", "range", bounds=Bounds(0.5, None, low_open=True))
    assert (
        form_errors.message(half, "kg", SV, CATALOGUE["sv"]) == "Ange ett värde större än 0,5 kg."
    )


def test_a_refusal_the_form_cannot_explain_is_generic_and_logged_without_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trend = HEART_FAILURE.rule("weight_trend")
    data = {**trend.model_dump(mode="json"), "short_days": 30, "long_days": 21}
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Rule).validate_python(data)
    with caplog.at_level(logging.WARNING, logger="hemkoll.api.console.proposal"):
        errors = proposal.refused(trend, refused.value, {"yellow": 0.8})
    assert errors == [form_errors.FieldError(form_errors.FORM, "unexpected")]
    assert form_errors.message(errors[0], "", SV, CATALOGUE["sv"]).startswith(
        "Ändringen gick inte att göra"
    )
    logged = " ".join(caplog.messages)
    assert "value_error" in logged
    for value in ("30", "21", "0.8", "short_days must be"):
        assert value not in logged


def test_a_yellow_level_moved_past_the_red_one_is_told_beside_the_yellow() -> None:
    gain = ChangeRule(id="gain", metric="body_weight", window_days=3, yellow=1.0, red=2.0)
    values = proposal.form_values(gain)
    [error] = proposal.check(gain, {**values, "yellow": "2,5"})
    assert error == form_errors.FieldError("yellow", "yellow_above_red", values={"red": 2.0})
    assert form_errors.message(error, "kg", SV, CATALOGUE["sv"]) == (
        "Gul nivå får inte vara högre än röd (2 kg)."
    )
    assert form_errors.message(error, "kg", EN, CATALOGUE["en"]) == (
        "The yellow level must not be above the red level (2 kg)."
    )
    [both] = proposal.check(gain, {**values, "yellow": "3", "red": "2,5"})
    assert both == form_errors.FieldError("red", "red_below_yellow", values={"yellow": 3.0})
