"""Deadlines, not sweeps (issue 18): a patient woken only at her readings and at her stored
deadline sees every missing-measurement finding, at the moment it fires, that evaluating her
at every instant would; never later."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hemkoll.rules import MissingRule, RuleSet, evaluate
from hemkoll.rules.deadlines import next_deadline
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.stays import DISCHARGE_GRACE, Stay

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# The worker evaluates a passed deadline a moment after it (a missing rule fires strictly
# after its deadline).
AFTER = timedelta(seconds=1)
# Spring forward in Sweden: 2026-03-29 02:00 CET -> 03:00 CEST.
START = datetime(2026, 3, 24, 0, 0, tzinfo=UTC)

RULES = RuleSet(
    name="missing",
    rules=(
        MissingRule(id="weight_48h", metric="body_weight", after_hours=48),
        MissingRule(id="weight_by_0230", metric="body_weight", by_local_time=time(2, 30)),
        MissingRule(id="bp_by_noon", metric="systolic_bp", by_local_time=time(12)),
    ),
)


def _series(readings: dict[str, list[datetime]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        metric: (
            np.array([epoch_us(t) for t in times], dtype=np.int64),
            np.full(len(times), 80.0),
        )
        for metric, times in readings.items()
    }


def _upto(readings: dict[str, list[datetime]], now: datetime) -> dict[str, list[datetime]]:
    return {m: [t for t in ts if t <= now] for m, ts in readings.items()}


def _missing(rule_set: RuleSet, readings: dict[str, list[datetime]], now: datetime,
             stays: list[Stay]) -> set[tuple[str, datetime]]:  # fmt: skip
    series = _series(_upto(readings, now))
    return {
        (f.rule_id, f.fired_at)
        for f in evaluate(rule_set, series, tz=STOCKHOLM, now=now, stays=stays)
        if f.kind == "missing"
    }


def _woken(rule_set: RuleSet, readings: dict[str, list[datetime]], end: datetime,
           stays: list[Stay]) -> dict[tuple[str, datetime], datetime]:  # fmt: skip
    """Evaluate at each reading and at each stored deadline, as the worker and scheduler do;
    each finding with the wake that first saw it."""
    arrivals = sorted({t for ts in readings.values() for t in ts})
    seen: dict[tuple[str, datetime], datetime] = {}
    wake = arrivals[0]
    while wake <= end:
        for finding in _missing(rule_set, readings, wake, stays):
            seen.setdefault(finding, wake)
        due = next_deadline(
            rule_set, _series(_upto(readings, wake)), tz=STOCKHOLM, now=wake, stays=stays
        )
        later = [t for t in arrivals if t > wake]
        candidates = ([due + AFTER] if due is not None else []) + later[:1]
        if not candidates:
            break
        wake = min(candidates)
    return seen


@st.composite
def _histories(draw: st.DrawFn) -> tuple[dict[str, list[datetime]], list[Stay]]:
    days = 14
    readings: dict[str, list[datetime]] = {}
    for metric in ("body_weight", "systolic_bp"):
        measured = draw(st.lists(st.booleans(), min_size=days, max_size=days))
        minutes = draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=days, max_size=days))
        readings[metric] = [
            START + timedelta(days=d, minutes=m)
            for d, (yes, m) in enumerate(zip(measured, minutes, strict=True))
            if yes or d == 0
        ]
    stays: list[Stay] = []
    if draw(st.booleans()):
        admitted = START + timedelta(hours=draw(st.integers(12, 24 * 10)))
        length = draw(st.one_of(st.none(), st.integers(4, 24 * 5)))
        stays.append((admitted, None if length is None else admitted + timedelta(hours=length)))
    return readings, stays


@settings(max_examples=40, deadline=None)
@given(_histories())
def test_waking_at_readings_and_deadlines_sees_every_finding_when_it_fires(
    history: tuple[dict[str, list[datetime]], list[Stay]],
) -> None:
    readings, stays = history
    end = START + timedelta(days=17)
    everything = _missing(RULES, readings, end, stays)
    seen = _woken(RULES, readings, end, stays)
    assert set(seen) == everything
    for (_, fired_at), woken_at in seen.items():
        assert fired_at < woken_at <= fired_at + AFTER


def test_a_passed_silence_has_fired_and_the_next_deadline_is_the_next_silence() -> None:
    rules = RuleSet(name="r", rules=(RULES.rules[0],))
    last = START + timedelta(hours=7)
    series = _series({"body_weight": [START, last]})
    assert next_deadline(rules, series, tz=STOCKHOLM, now=last) == last + timedelta(hours=48)
    # Past it: it has fired (one finding per silence); nothing more is due until a reading.
    assert next_deadline(rules, series, tz=STOCKHOLM, now=last + timedelta(hours=49)) is None


def test_a_stay_moves_the_deadline_past_its_grace_and_an_open_one_removes_it() -> None:
    rules = RuleSet(name="r", rules=(RULES.rules[0],))
    series = _series({"body_weight": [START]})
    admitted = START + timedelta(hours=40)
    out = admitted + timedelta(hours=30)
    due = next_deadline(rules, series, tz=STOCKHOLM, now=START, stays=[(admitted, out)])
    assert due == out + DISCHARGE_GRACE
    assert next_deadline(rules, series, tz=STOCKHOLM, now=START, stays=[(admitted, None)]) is None


def test_by_local_time_on_the_spring_forward_day_and_a_day_already_measured() -> None:
    rules = RuleSet(name="r", rules=(RULES.rules[1],))
    # 2026-03-29: 02:30 does not exist in Stockholm; the deadline is 03:30 CEST = 01:30 UTC.
    evening = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    series = _series({"body_weight": [evening - timedelta(days=1)]})
    due = next_deadline(rules, series, tz=STOCKHOLM, now=evening)
    assert due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Weighed just after local midnight that day: that day cannot fire; the next day's can.
    measured = _series({"body_weight": [datetime(2026, 3, 28, 23, 10, tzinfo=UTC)]})
    after = datetime(2026, 3, 28, 23, 11, tzinfo=UTC)
    due = next_deadline(rules, measured, tz=STOCKHOLM, now=after)
    assert due == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_nothing_is_due_when_paused_or_before_the_metric_is_measured() -> None:
    series = _series({"body_weight": [START]})
    assert next_deadline(RULES, series, tz=STOCKHOLM, now=START, paused=True) is None
    assert next_deadline(RULES, {}, tz=STOCKHOLM, now=START) is None
    disabled = RuleSet(
        name="off",
        rules=tuple(r.model_copy(update={"enabled": False}) for r in RULES.rules),
    )
    assert next_deadline(disabled, series, tz=STOCKHOLM, now=START) is None
