"""Missing-measurement rules: silence for N hours and no reading by a local time, DST days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules import MissingRule, RuleSet, evaluate
from hemkoll.rules.findings import epoch_us

TZ = ZoneInfo("Europe/Stockholm")


def series(*moments: datetime) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    t = np.asarray([epoch_us(m) for m in moments], dtype=np.int64)
    return {"body_weight": (t, np.full(t.size, 80.0))}


SILENCE = RuleSet(name="t", rules=(MissingRule(id="m48", metric="body_weight", after_hours=48),))


def by(local: time) -> RuleSet:
    return RuleSet(
        name="t", rules=(MissingRule(id="mt", metric="body_weight", by_local_time=local),)
    )


def test_silence_fires_at_the_deadline_once() -> None:
    t0 = datetime(2024, 5, 1, 6, tzinfo=UTC)
    s = series(t0)
    assert evaluate(SILENCE, s, tz=TZ, now=t0 + timedelta(hours=48)) == []
    (f,) = evaluate(SILENCE, s, tz=TZ, now=t0 + timedelta(hours=49))
    assert f.fired_at == t0 + timedelta(hours=48)
    assert f.evidence["next_reading_at"] is None
    assert f.explanation_en == (
        "No body weight reading for 48 hours; the last was at 2024-05-01 08:00."
    )
    # still one finding for the same silence, however long
    assert len(evaluate(SILENCE, s, tz=TZ, now=t0 + timedelta(days=30))) == 1


def test_silence_between_readings_in_a_backtest_and_paused() -> None:
    t0 = datetime(2024, 5, 1, 6, tzinfo=UTC)
    s = series(t0, t0 + timedelta(hours=24), t0 + timedelta(hours=100))
    (f,) = evaluate(SILENCE, s, tz=TZ)
    assert f.fired_at == t0 + timedelta(hours=72)
    assert f.evidence["next_reading_at"] == (t0 + timedelta(hours=100)).isoformat()
    assert evaluate(SILENCE, s, tz=TZ, paused=True) == []
    assert evaluate(SILENCE, {}, tz=TZ, now=t0) == []


def test_by_local_time_on_an_ordinary_day() -> None:
    rules = by(time(9, 0))
    first = datetime(2024, 5, 1, 5, tzinfo=UTC)  # 07:00 CEST
    on_time = datetime(2024, 5, 2, 7, 0, tzinfo=UTC)  # exactly 09:00 CEST: on time
    late = datetime(2024, 5, 3, 7, 1, tzinfo=UTC)  # 09:01 CEST: late
    now = datetime(2024, 5, 4, 6, 59, tzinfo=UTC)  # 08:59 CEST on 4 May: not yet due
    got = evaluate(rules, series(first, on_time, late), tz=TZ, now=now)
    assert [f.evidence["local_date"] for f in got] == ["2024-05-03"]
    assert got[0].fired_at == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)
    assert got[0].evidence["first_reading_that_day_at"] == late.isoformat()
    assert got[0].explanation_sv == "Ingen mätning av kroppsvikt före kl. 09:00 den 2024-05-03."
    later = evaluate(rules, series(first, on_time, late), tz=TZ, now=now + timedelta(minutes=2))
    assert [f.evidence["local_date"] for f in later] == ["2024-05-03", "2024-05-04"]


def test_first_day_deadline_before_first_reading_is_not_missed() -> None:
    first = datetime(2024, 5, 1, 13, tzinfo=UTC)  # 15:00 local, after the 09:00 deadline
    assert evaluate(by(time(9)), series(first), tz=TZ, now=first + timedelta(hours=1)) == []


def test_spring_forward_day_stockholm() -> None:
    # 31 March 2024: clocks go from 02:00 CET to 03:00 CEST; 09:00 local is 07:00 UTC
    first = datetime(2024, 3, 30, 6, tzinfo=UTC)
    now = datetime(2024, 3, 31, 12, tzinfo=UTC)
    (f,) = evaluate(by(time(9)), series(first), tz=TZ, now=now)
    assert f.fired_at == datetime(2024, 3, 31, 7, tzinfo=UTC)
    # 02:30 does not exist that day: the deadline is 03:30 CEST = 01:30 UTC
    (g,) = evaluate(by(time(2, 30)), series(first), tz=TZ, now=now)
    assert g.fired_at == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    # a reading at 08:30 CEST (06:30 UTC) is on time
    on_time = datetime(2024, 3, 31, 6, 30, tzinfo=UTC)
    assert evaluate(by(time(9)), series(first, on_time), tz=TZ, now=now) == []


def test_fall_back_day_stockholm() -> None:
    # 27 October 2024: clocks go from 03:00 CEST back to 02:00 CET; 09:00 local is 08:00 UTC
    first = datetime(2024, 10, 26, 6, tzinfo=UTC)
    now = datetime(2024, 10, 27, 12, tzinfo=UTC)
    (f,) = evaluate(by(time(9)), series(first), tz=TZ, now=now)
    assert f.fired_at == datetime(2024, 10, 27, 8, tzinfo=UTC)
    # 02:30 happens twice: the first (CEST) one counts
    (g,) = evaluate(by(time(2, 30)), series(first), tz=TZ, now=now)
    assert g.fired_at == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    # 08:45 local on the 25-hour day is 07:45 UTC: on time
    on_time = datetime(2024, 10, 27, 7, 45, tzinfo=UTC)
    assert evaluate(by(time(9)), series(first, on_time), tz=TZ, now=now) == []


def test_paused_is_silent_and_other_metrics_do_not_count() -> None:
    first = datetime(2024, 5, 1, 5, tzinfo=UTC)
    now = datetime(2024, 5, 5, 12, tzinfo=UTC)
    assert evaluate(by(time(9)), series(first), tz=TZ, now=now, paused=True) == []
    s = series(first) | {
        "systolic_bp": (np.asarray([epoch_us(now - timedelta(hours=5))]), np.asarray([120.0]))
    }
    assert len(evaluate(by(time(9)), s, tz=TZ, now=now)) == 4
