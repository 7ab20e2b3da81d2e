"""Hospital stays: missing-measurement rules are silent during a stay and DISCHARGE_GRACE after
it; baseline and trend reference windows leave the stay's readings out; live == backtest."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules import MissingRule, RuleSet, evaluate
from hemkoll.rules.config import BaselineRule
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.stays import DISCHARGE_GRACE

TZ = ZoneInfo("Europe/Stockholm")
T0 = datetime(2024, 5, 1, 6, tzinfo=UTC)
SILENCE = RuleSet(name="t", rules=(MissingRule(id="m24", metric="body_weight", after_hours=24),))


def weights(
    days: list[int], values: list[float] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    t = np.asarray([epoch_us(T0 + timedelta(days=d)) for d in days], dtype=np.int64)
    v = np.asarray(values if values is not None else [80.0] * len(days))
    return {"body_weight": (t, v)}


def test_no_missing_alert_during_an_open_stay() -> None:
    s = weights([0, 1, 2])
    now = T0 + timedelta(days=10)
    assert [f.fired_at for f in evaluate(SILENCE, s, tz=TZ, now=now)] == [T0 + timedelta(days=3)]
    admitted = T0 + timedelta(days=2, hours=12)
    assert evaluate(SILENCE, s, tz=TZ, now=now, stays=[(admitted, None)]) == []


def test_after_discharge_the_silence_counts_from_the_end_of_the_grace() -> None:
    s = weights([0, 1, 2])
    admitted, discharged = T0 + timedelta(days=2, hours=12), T0 + timedelta(days=6)
    stay = [(admitted, discharged)]
    due = discharged + DISCHARGE_GRACE
    assert evaluate(SILENCE, s, tz=TZ, now=due, stays=stay) == []
    (f,) = evaluate(SILENCE, s, tz=TZ, now=due + timedelta(hours=1), stays=stay)
    assert f.fired_at == due
    assert f.evidence["last_reading_at"] < f.evidence["deadline"]
    # A reading back home inside the grace: no silence at all.
    home = weights([0, 1, 2, 7])
    assert evaluate(SILENCE, home, tz=TZ, now=T0 + timedelta(days=7, hours=12), stays=stay) == []


def test_by_local_time_is_silent_during_the_stay() -> None:
    daily = RuleSet(
        name="t", rules=(MissingRule(id="mt", metric="body_weight", by_local_time=time(10)),)
    )
    s = weights([0, 1])
    now = T0 + timedelta(days=6)
    assert len(evaluate(daily, s, tz=TZ, now=now)) >= 4
    stay = [(T0 + timedelta(days=1, hours=6), None)]
    assert evaluate(daily, s, tz=TZ, now=now, stays=stay) == []


def test_a_baseline_ignores_readings_taken_during_the_stay() -> None:
    rule = BaselineRule(
        id="b",
        metric="body_weight",
        direction="rise",
        baseline_days=14,
        min_days=5,
        min_deviation=1.0,
        yellow_sd=2.0,
        sd_floor=0.3,
    )
    rules = RuleSet(name="t", rules=(rule,))
    # 10 days at home at 80 kg, 6 days in hospital at 85 kg (a ward scale, dressed), then home
    # again at 80.5 kg: against the home days that is no deviation; with the ward days in the
    # window it looks like a fall, and a rise afterwards looks normal.
    days = list(range(10)) + list(range(10, 16)) + [16, 17]
    values = [80.0] * 10 + [85.0] * 6 + [80.5, 82.5]
    s = weights(days, values)
    stay = [(T0 + timedelta(days=9, hours=12), T0 + timedelta(days=15, hours=12))]
    now = T0 + timedelta(days=18)
    with_stay = evaluate(rules, s, tz=TZ, now=now, stays=stay)
    # Day 17 (82.5 kg) is 2.4 kg above the home baseline of about 80 kg: it fires, judged
    # against the home days of its window only (the ward days are not counted).
    fired = {f.evidence["local_date"]: f for f in with_stay}
    day17 = (T0 + timedelta(days=17)).astimezone(TZ).date().isoformat()
    assert day17 in fired
    assert fired[day17].evidence["baseline_days_with_value"] < 14
    assert abs(float(fired[day17].evidence["baseline_mean"]) - 80.05) < 0.1
    # Without the stay the ward days raise the baseline and day 17 does not fire.
    without = evaluate(rules, s, tz=TZ, now=now)
    assert day17 not in {f.evidence["local_date"] for f in without}


def test_live_day_by_day_equals_the_backtest_with_a_stay() -> None:
    s = weights([0, 1, 2, 3, 9, 10, 11, 15])
    stay = [(T0 + timedelta(days=3, hours=12), T0 + timedelta(days=8))]
    end = T0 + timedelta(days=20)
    backtest = [f.fired_at for f in evaluate(SILENCE, s, tz=TZ, now=end, stays=stay)]
    live: set[datetime] = set()
    for d in range(1, 21):
        now = T0 + timedelta(days=d)
        cut = {m: (t[t <= epoch_us(now)], v[t <= epoch_us(now)]) for m, (t, v) in s.items()}
        live |= {f.fired_at for f in evaluate(SILENCE, cut, tz=TZ, now=now, stays=stay)}
    assert sorted(live) == backtest
    assert backtest  # the silence after day 11 fires; the one over the stay does not
    assert all(not (stay[0][0] <= t < stay[0][1] + DISCHARGE_GRACE) for t in backtest)
