"""What the patient is told is derived from what was evaluated, never from silence.

Every metric x outcome (nothing, yellow, red, and for symptoms a severe answer) x the rule
enabled or disabled: the reading goes through the rules engine, its findings become the alert
news the worker would send, and the message is composed as the worker composes it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hemkoll.alerts.patient_messages import (
    AS_USUAL,
    TOLD_NOW,
    TOLD_TODAY,
    AlertNews,
    PatientMessage,
    about_readings,
    after_evaluation,
    call_back,
    if_worse,
    severe,
)
from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.config import Band, PatientAdvice, RuleSet, SymptomRule, ThresholdRule
from hemkoll.rules.engine import evaluate
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.judged import Verdict, can_judge, is_symptom, off_rule_metrics, verdict
from hemkoll.rules.preset import HEART_FAILURE

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Stockholm")
PHONE = "070-174 06 05"  # a number reserved for fiction by PTS
ADVICE = HEART_FAILURE.advice
VITALS = [m for m in METRICS if not is_symptom(m)]
SYMPTOMS = [m for m in METRICS if is_symptom(m)]


def _vital_case(metric: str, outcome: str) -> tuple[ThresholdRule, float]:
    """A threshold rule on ``metric`` and a value giving ``outcome`` (none, yellow, red)."""
    m = METRICS[metric]
    mid = (m.plausible_low + m.plausible_high) / 2
    span = m.plausible_high - m.plausible_low
    rule = ThresholdRule(
        id="limits",
        metric=metric,
        yellow=Band(low=mid - 0.2 * span, high=mid + 0.2 * span),
        red=Band(low=mid - 0.35 * span, high=mid + 0.35 * span),
    )
    return rule, {"none": mid, "yellow": mid + 0.3 * span, "red": mid + 0.45 * span}[outcome]


def _symptom_case(metric: str, outcome: str) -> tuple[SymptomRule, float]:
    """A score rule on ``metric`` and an answer giving ``outcome`` (none, yellow, red, severe)."""
    if outcome == "severe":
        return SymptomRule(id="answer", metric=metric, red_score=3), 3.0
    rule = SymptomRule(id="answer", metric=metric, yellow_score=1, red_score=2)
    return rule, {"none": 0.0, "yellow": 1.0, "red": 2.0}[outcome]


def _told(rule_set: RuleSet, metric: str, value: float, *, phone: str | None) -> PatientMessage:
    """The worker's path for one new reading: the engine, the alert news, the message."""
    at = NOW - timedelta(minutes=10)
    series = {metric: (np.array([epoch_us(at)], np.int64), np.array([value], np.float64))}
    findings = evaluate(rule_set, series, tz=TZ, now=NOW)
    news = None
    if findings:
        red = any(f.severity == "red" for f in findings)
        news = AlertNews("red" if red else "yellow", "opened")
    return after_evaluation(
        news,
        [(metric, verdict(rule_set, metric, value))],
        rule_set.advice,
        phone=phone,
        all_judged_live=True,
        followed_up=False,
    )


CASES = [(m, o) for m in VITALS for o in ("none", "yellow", "red")] + [
    (m, o) for m in SYMPTOMS for o in ("none", "yellow", "red", "severe")
]


@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
@pytest.mark.parametrize(("metric", "outcome"), CASES)
def test_every_metric_severity_and_rule_state(metric: str, outcome: str, enabled: bool) -> None:
    rule, value = (_symptom_case if is_symptom(metric) else _vital_case)(metric, outcome)
    rule_set = RuleSet(
        name="t", rules=(rule.model_copy(update={"enabled": enabled}),), advice=ADVICE
    )
    message = _told(rule_set, metric, value, phone=PHONE)
    texts = (message.text_en, message.text_sv)

    # "As usual" only for a value an enabled rule judged and found in range.
    usual = enabled and outcome == "none"
    assert (AS_USUAL.en in message.text_en) is usual
    assert (AS_USUAL.sv in message.text_sv) is usual

    # Each severity says what it promises, and nothing a lower one would.
    fired = enabled and outcome != "none"
    red = fired and outcome in ("red", "severe")
    if red:
        assert message.event == "alert.opened"
        assert TOLD_NOW.en in message.text_en
        assert TOLD_NOW.sv in message.text_sv
        assert PHONE in message.text_en
        assert PHONE in message.text_sv
        assert "today" not in message.text_en
        assert "i dag" not in message.text_sv
    elif fired:
        assert message.event == "alert.opened"
        assert TOLD_TODAY.en in message.text_en
        assert TOLD_TODAY.sv in message.text_sv
        assert TOLD_NOW.en not in message.text_en
    else:
        assert message.event.startswith("readings.")
        assert "has been told" not in message.text_en  # nobody was told: never say so
        assert "har fått" not in message.text_sv

    # A severe answer is acknowledged as such, with advice, whatever the rules.
    if outcome == "severe":
        said = severe([metric])
        assert said.en in message.text_en
        assert said.sv in message.text_sv
        assert PHONE in message.text_en
        assert PHONE in message.text_sv
    # Where to turn when much worse: in every message but "as usual".
    if not usual:
        worse = if_worse(ADVICE)
        assert worse.en in message.text_en
        assert worse.sv in message.text_sv
    # Both languages say something, with no internal names in them.
    for text in texts:
        assert text
        assert metric not in text
        assert "_" not in text


@pytest.mark.parametrize("metric", SYMPTOMS)
def test_a_severe_answer_in_the_preset_is_always_acknowledged(metric: str) -> None:
    """The issue's case: "severe ankle swelling" (3 of 3) was told "as usual" because that
    rule is off in programme v2."""
    message = _told(HEART_FAILURE, metric, 3.0, phone=PHONE)
    assert AS_USUAL.sv not in message.text_sv
    said = severe([metric])
    assert said.sv in message.text_sv
    assert said.en in message.text_en
    if metric in ADVICE.severe_call_now:
        # Severe breathlessness (at rest): red in the preset (contact now).
        assert TOLD_NOW.sv in message.text_sv
        assert TOLD_NOW.en in message.text_en
    else:
        assert f"Ring din vårdcentral i dag på {PHONE}." in message.text_sv


def test_a_yellow_alert_with_severe_breathlessness_still_asks_to_call_now() -> None:
    message = after_evaluation(
        AlertNews("yellow", "opened"),
        [("symptom_breathlessness", "severe")],
        ADVICE,
        phone=PHONE,
        all_judged_live=True,
        followed_up=False,
    )
    assert TOLD_TODAY.en in message.text_en
    assert f"Call your health centre now on {PHONE}." in message.text_en
    assert f"Ring din vårdcentral nu på {PHONE}." in message.text_sv


def test_red_without_a_phone_number_still_asks_to_call_and_names_the_wait() -> None:
    advice = PatientAdvice(red_call_back_minutes=30)
    message = after_evaluation(
        AlertNews("red", "severity_raised"),
        [],
        advice,
        phone=None,
        all_judged_live=True,
        followed_up=True,
    )
    assert message.event == "alert.severity_raised"
    assert call_back(advice, None).en in message.text_en
    assert "within 30 minutes, call them." in message.text_en
    assert "inom 30 minuter, ring dem." in message.text_sv


def test_a_missing_measurement_alert_asks_for_the_measurement() -> None:
    message = after_evaluation(
        AlertNews("yellow", "opened", missing_metric="body_weight"),
        [],
        ADVICE,
        phone=None,
        all_judged_live=True,
        followed_up=False,
    )
    assert "We have not received a measurement of your weight" in message.text_en
    assert "Vi har inte fått någon mätning av din vikt" in message.text_sv
    assert "today" in message.text_en


def test_as_usual_needs_every_reading_judged_live_and_no_open_alert() -> None:
    usual: list[tuple[str, Verdict]] = [("heart_rate", "usual"), ("systolic_bp", "usual")]

    def told(
        judged: list[tuple[str, Verdict]],
        *,
        all_judged_live: bool = True,
        followed_up: bool = False,
    ) -> str:
        return about_readings(
            judged, ADVICE, phone=None, all_judged_live=all_judged_live, followed_up=followed_up
        ).text_en

    assert AS_USUAL.en in told(usual)
    assert AS_USUAL.en not in told([*usual, ("diastolic_bp", "unjudged")])
    assert AS_USUAL.en not in told(usual, all_judged_live=False)  # a backlog beyond the window
    assert AS_USUAL.en not in told(usual, followed_up=True)
    assert AS_USUAL.en not in told([])  # nothing new was judged
    assert AS_USUAL.en not in told([("symptom_fatigue", "notable")])
    again = told([("heart_rate", "outside"), ("systolic_bp", "outside")])
    assert "Your pulse and your blood pressure were outside your limits." in again
    assert "measure again" in again


def test_the_advice_names_only_the_numbers_the_programme_gives() -> None:
    assert "1177" not in if_worse(PatientAdvice(advice_line=None)).en
    assert "112" not in if_worse(PatientAdvice(emergency_number=None)).sv
    plain = if_worse(PatientAdvice(advice_line=None, emergency_number=None))
    assert plain.en == "If you feel much worse, contact your health centre."


@pytest.mark.parametrize(
    ("metric", "value", "off_rule"),
    [
        ("systolic_bp", 165.0, "systolic_bp"),  # TELBIL's yellow 100-160; the red 80-170 is on
        ("heart_rate", 105.0, "heart_rate"),  # TELBIL's 50-100; the urgent 40-110 is on
        ("spo2", 92.0, "spo2"),  # TELBIL's 95 %; the urgent 90 % is on
    ],
)
def test_a_value_only_a_rule_that_is_off_flags_is_not_called_usual(
    metric: str, value: float, off_rule: str
) -> None:
    """Programme v2 judges these metrics by its urgent bands and leaves the guideline's bands
    off: a value outside only the latter is saved, with advice, never "as usual"."""
    assert not HEART_FAILURE.rule(off_rule).enabled
    message = _told(HEART_FAILURE, metric, value, phone=PHONE)
    assert verdict(HEART_FAILURE, metric, value) == "off_rule"
    assert message.event == "readings.received"
    assert AS_USUAL.en not in message.text_en
    assert AS_USUAL.sv not in message.text_sv
    assert if_worse(ADVICE).sv in message.text_sv
    assert "has been told" not in message.text_en  # nobody was


def test_the_esc_weight_gain_that_is_off_keeps_a_new_patients_weight_from_sounding_usual() -> None:
    """Four mornings, +2.3 kg in three days: ESC's 2 kg/3 days (off in v2) finds it; the weight
    trend (on) has too few days to judge. The engine's view of the rules that are off says so."""
    mornings = [80.0, 80.5, 81.2, 82.3]
    start = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
    times = [start + timedelta(days=d) for d in range(len(mornings))]
    series = {
        "body_weight": (
            np.array([epoch_us(t) for t in times], np.int64),
            np.array(mornings, np.float64),
        )
    }
    now = times[-1] + timedelta(minutes=5)
    assert evaluate(HEART_FAILURE, series, tz=TZ, now=now) == []  # nothing on fires
    assert verdict(HEART_FAILURE, "body_weight", 82.3) == "usual"  # by value alone
    day = times[-1].astimezone(TZ).replace(hour=0, minute=0)
    flagged = off_rule_metrics(HEART_FAILURE, series, tz=TZ, now=now, since=day)
    assert flagged == {"body_weight"}
    # The day before, +1.2 kg: no rule that is off finds anything on it.
    before = {"body_weight": (series["body_weight"][0][:3], series["body_weight"][1][:3])}
    since = (times[2].astimezone(TZ)).replace(hour=0, minute=0)
    assert off_rule_metrics(HEART_FAILURE, before, tz=TZ, now=times[2], since=since) == set()


def _weights(*days_ago: float, at: datetime = NOW) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    times = [epoch_us(at - timedelta(days=d)) for d in sorted(days_ago, reverse=True)]
    return {"body_weight": (np.array(times, np.int64), np.full(len(times), 80.0))}


def test_a_reading_counts_as_judged_only_where_a_rule_had_what_it_needs() -> None:
    at = NOW
    # Weight: only the trend (7 weighed days) is on; pulse a threshold, breathlessness a score.
    trend_only = RuleSet(
        name="trend",
        rules=tuple(
            HEART_FAILURE.rule(i).model_copy(update={"enabled": True})
            for i in ("weight_trend", "heart_rate_urgent", "breathlessness_at_rest")
        ),
    )
    assert not can_judge(trend_only, _weights(0), "body_weight", at, tz=TZ)
    assert not can_judge(trend_only, _weights(5, 4, 3, 2, 1, 0), "body_weight", at, tz=TZ)
    week = _weights(6, 5, 4, 3, 2, 1, 0)
    assert can_judge(trend_only, week, "body_weight", at, tz=TZ)
    # A second weighing on the day: the daily rules read only its first.
    twice = _weights(6, 5, 4, 3, 2, 1, 0, 1 / 24, at=at + timedelta(hours=1))
    assert not can_judge(trend_only, twice, "body_weight", at + timedelta(hours=1), tz=TZ)
    # The ESC's 3-day change, switched on: a weight two days before is enough.
    esc = RuleSet(
        name="esc",
        rules=(HEART_FAILURE.rule("weight_gain_3d").model_copy(update={"enabled": True}),),
    )
    assert can_judge(esc, _weights(2, 0), "body_weight", at, tz=TZ)
    assert not can_judge(esc, _weights(4, 0), "body_weight", at, tz=TZ)
    # A threshold and a symptom score judge every value; worsening needs an earlier answer.
    assert can_judge(trend_only, {}, "heart_rate", at, tz=TZ)
    assert can_judge(trend_only, {}, "symptom_breathlessness", at, tz=TZ)
    worse = RuleSet(
        name="worse",
        rules=(HEART_FAILURE.rule("breathlessness_worse").model_copy(update={"enabled": True}),),
    )
    answers = {"symptom_breathlessness": (np.array([epoch_us(at)], np.int64), np.zeros(1))}
    assert not can_judge(worse, answers, "symptom_breathlessness", at, tz=TZ)
    assert not can_judge(trend_only, {}, "symptom_fatigue", at, tz=TZ)  # all fatigue rules off
