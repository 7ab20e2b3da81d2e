"""Reference implementation: the same rules, one patient, one reading at a time, plain Python.

This is the straightforward way to write the rules (lists, dicts, zoneinfo datetimes for every
reading). It exists to keep the vectorised engine honest: tests compare its findings with
``engine.evaluate`` on random cohorts, and bench/rules.py times it as the baseline. It shares
only the finding builders (evidence layout and sentences) with the engine; which readings fire,
and every number in the evidence, are computed independently.
"""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.protocol.measurements import FOLLOW_UP
from hemkoll.rules.baseline_index import index_reference
from hemkoll.rules.config import (
    BaselineRule,
    ChangeRule,
    CombinationRule,
    IndexRule,
    MissingRule,
    PlainRule,
    RuleSet,
    Severity,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)
from hemkoll.rules.findings import Finding, epoch_us, utc
from hemkoll.rules.kinds import (
    change,
    combination,
    missing,
    personal,
    symptom,
    threshold,
    trend,
)
from hemkoll.rules.localtime import US_PER_HOUR
from hemkoll.rules.series import Series, as_epoch_us

Reading = tuple[int, float]  # (measured_at µs, value)
Daily = dict[int, Reading]  # local day number -> first reading of that day
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_US_PER_MINUTE = 60_000_000
_RANK = {"yellow": 0, "red": 1}


def evaluate_reference(
    rule_set: RuleSet,
    series: Series,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    paused: bool = False,
) -> list[Finding]:
    """What ``engine.evaluate`` returns, computed reading by reading."""
    now_us = epoch_us(now) if now is not None else None
    readings = {metric: _readings(raw, now_us) for metric, raw in series.items()}
    if now_us is not None:
        horizon = now_us
    else:
        horizon = max((rs[-1][0] for rs in readings.values() if rs), default=0)
    found: dict[str, list[Finding]] = {}
    for rule in rule_set.enabled():
        if isinstance(rule, IndexRule):
            daily = [_daily(readings.get(m, []), tz) for m in rule.metrics]
            found[rule.id] = index_reference(rule, daily)
        elif isinstance(rule, SymptomRule):
            follow_ups = readings.get(FOLLOW_UP, []) if rule.follow_up else []
            found[rule.id] = _symptom(rule, readings.get(rule.metric, []), tz, follow_ups)
        elif not isinstance(rule, CombinationRule):
            rs = readings.get(rule.metric, [])
            found[rule.id] = _rule(rule, rs, tz, horizon, paused)
    for rule in rule_set.enabled():
        if isinstance(rule, CombinationRule):
            found[rule.id] = _combination(rule, found)
    out = [f for rule in rule_set.enabled() for f in found[rule.id]]
    out.sort(key=lambda f: f.fired_at)
    return out


def _readings(raw: tuple[object, object], now_us: int | None) -> list[Reading]:
    times = as_epoch_us(np.asarray(raw[0])).tolist()
    values = np.asarray(raw[1], dtype=np.float64).reshape(-1).tolist()
    at_instant: dict[int, list[float]] = {}
    for t, v in zip(times, values, strict=True):
        if math.isfinite(v) and (now_us is None or t <= now_us):
            at_instant.setdefault(t, []).append(v)
    out: list[Reading] = []
    for t in sorted(at_instant):
        total = 0.0
        for v in at_instant[t]:
            total += v
        out.append((t, total / len(at_instant[t])))
    return out


def _day(t: int, tz: ZoneInfo) -> int:
    return utc(t).astimezone(tz).date().toordinal() - _EPOCH_ORDINAL


def _daily(rs: list[Reading], tz: ZoneInfo) -> Daily:
    daily: Daily = {}
    for t, v in rs:
        daily.setdefault(_day(t, tz), (t, v))
    return daily


def _rule(
    rule: PlainRule, rs: list[Reading], tz: ZoneInfo, horizon: int, paused: bool
) -> list[Finding]:
    if isinstance(rule, ThresholdRule):
        return _threshold(rule, rs, tz)
    if isinstance(rule, ChangeRule):
        return _change(rule, _daily(rs, tz))
    if isinstance(rule, BaselineRule):
        return _baseline(rule, _daily(rs, tz))
    if isinstance(rule, TrendRule):
        return _trend(rule, _daily(rs, tz))
    if isinstance(rule, MissingRule):
        if paused or not rs:
            return []
        if rule.after_hours is not None:
            return _missing_after(rule, rule.after_hours, rs, tz, horizon)
        return _missing_by_time(rule, rs, tz, horizon)
    raise TypeError(f"no reference for rule kind {rule.kind!r}")


def _threshold(rule: ThresholdRule, rs: list[Reading], tz: ZoneInfo) -> list[Finding]:
    levels = [(s, b) for s, b in (("red", rule.red), ("yellow", rule.yellow)) if b is not None]
    run_start: dict[str, int | None] = {s: None for s, _ in levels}
    was_met = {s: False for s, _ in levels}
    out: list[Finding] = []
    previous_day: int | None = None
    for i, (t, v) in enumerate(rs):
        today = _day(t, tz)
        new_day, previous_day = today != previous_day, today
        red_met = False
        for severity, band in levels:
            low_out = band.low is not None and v < band.low
            high_out = band.high is not None and v > band.high
            start = run_start[severity]
            if low_out or high_out:
                if start is None:
                    start = i
            else:
                start = None
            run_start[severity] = start
            met = (
                start is not None
                and i - start + 1 >= band.consecutive
                and t - rs[start][0] >= band.min_duration_minutes * _US_PER_MINUTE
            )
            # A run fires where it starts, and again at its first reading of each later day.
            fires = met and (not was_met[severity] or new_day)
            was_met[severity] = met
            if severity == "red":
                red_met = met
            if fires and start is not None and not (severity == "yellow" and red_met):
                first_shown = max(start, i - threshold.MAX_EVIDENCE_READINGS + 1)
                out.append(
                    threshold.finding(
                        rule,
                        severity="red" if severity == "red" else "yellow",
                        band=band,
                        run_started_at=rs[start][0],
                        run_readings=i - start + 1,
                        shown=rs[first_shown : i + 1],
                    )
                )
    return out


class _DailyLevels:
    """Day by day, which of a rule's two levels fire: each day its condition holds, red first,
    yellow not on a day red holds (the day-by-day twin of ``kinds.context.daily_level_cells``)."""

    def __init__(self, red: float | None, yellow: float | None) -> None:
        self.limits: list[tuple[Severity, float]] = []
        if red is not None:
            self.limits.append(("red", red))
        if yellow is not None:
            self.limits.append(("yellow", yellow))

    def step(self, measure: float | None) -> list[tuple[Severity, float]]:
        """The levels that fire today; ``measure`` is None on a day the rule cannot judge (too
        little history)."""
        fired: list[tuple[Severity, float]] = []
        red_now = False
        for severity, limit in self.limits:
            cond = measure is not None and measure >= limit
            if severity == "red":
                red_now = cond
            if cond and not (severity == "yellow" and red_now):
                fired.append((severity, limit))
        return fired


def _change(rule: ChangeRule, daily: Daily) -> list[Finding]:
    sign = 1.0 if rule.direction == "rise" else -1.0
    levels = _DailyLevels(rule.red, rule.yellow)
    out: list[Finding] = []
    for day in sorted(daily):
        t, value = daily[day]
        ref: float | None = None
        ref_day = day
        for lag in range(1, rule.window_days + 1):
            earlier = daily.get(day - lag)
            if earlier is not None and (ref is None or sign * earlier[1] < ref):
                ref, ref_day = sign * earlier[1], day - lag
        delta = sign * value - ref if ref is not None else None
        for severity, amount in levels.step(delta):
            if delta is not None:
                ref_t, ref_value = daily[ref_day]
                out.append(
                    change.finding(
                        rule,
                        severity=severity,
                        amount=amount,
                        today=(t, value, day),
                        reference=(ref_t, ref_value, ref_day),
                        delta=delta,
                    )
                )
    return out


def _baseline(rule: BaselineRule, daily: Daily) -> list[Finding]:
    sign = 1.0 if rule.direction == "rise" else -1.0
    levels = _DailyLevels(rule.red_sd, rule.yellow_sd)
    out: list[Finding] = []
    for day in sorted(daily):
        t, value = daily[day]
        window = [daily[day - k][1] for k in range(1, rule.baseline_days + 1) if day - k in daily]
        stats: personal.Stats | None = None
        if len(window) >= rule.min_days:
            mean = statistics.fmean(window)
            sd = statistics.stdev(window)
            sd_used = max(sd, rule.sd_floor)
            deviation = sign * (value - mean)
            stats = personal.Stats(mean, sd, sd_used, len(window), deviation, deviation / sd_used)
        judged = stats is not None and stats.deviation >= rule.min_deviation
        for severity, limit in levels.step(stats.score if stats is not None and judged else None):
            if stats is not None:
                out.append(
                    personal.finding(
                        rule,
                        severity=severity,
                        score_limit=limit,
                        today=(t, value, day),
                        stats=stats,
                    )
                )
    return out


def _ewma(daily: Daily, day: int, span_days: int, memory: int) -> float:
    """Weighted average of the values of days day - memory + 1 .. day (today has one)."""
    r = 1.0 - trend.smoothing(span_days)
    num = den = 0.0
    for k in range(memory):
        earlier = daily.get(day - k)
        if earlier is not None:
            num += r**k * earlier[1]
            den += r**k
    return num / den


def _trend(rule: TrendRule, daily: Daily) -> list[Finding]:
    sign = 1.0 if rule.direction == "rise" else -1.0
    levels = _DailyLevels(rule.red, rule.yellow)
    out: list[Finding] = []
    for day in sorted(daily):
        t, value = daily[day]
        days = sum(1 for k in range(rule.long_days) if day - k in daily)
        short = _ewma(daily, day, rule.short_days, rule.memory_days)
        long = _ewma(daily, day, rule.long_days, rule.memory_days)
        averages = trend.Averages(short, long, sign * (short - long), days)
        for severity, amount in levels.step(averages.trend if days >= rule.min_days else None):
            out.append(
                trend.finding(
                    rule,
                    severity=severity,
                    amount=amount,
                    today=(t, value, day),
                    averages=averages,
                )
            )
    return out


def _missing_after(
    rule: MissingRule, hours: float, rs: list[Reading], tz: ZoneInfo, horizon: int
) -> list[Finding]:
    silence = round(hours * US_PER_HOUR)
    out: list[Finding] = []
    for i, (t, v) in enumerate(rs):
        is_last = i == len(rs) - 1
        following = horizon if is_last else rs[i + 1][0]
        if following > t + silence:
            next_at = None if is_last else following
            out.append(missing.finding_after(rule, tz=tz, last=(t, v), next_at=next_at))
    return out


def _missing_by_time(
    rule: MissingRule, rs: list[Reading], tz: ZoneInfo, horizon: int
) -> list[Finding]:
    at = rule.by_local_time or time(0)
    wall = time(at.hour, at.minute)
    daily = _daily(rs, tz)
    out: list[Finding] = []
    for day in range(min(daily), _day(horizon, tz) + 1):
        local = date.fromordinal(day + _EPOCH_ORDINAL)
        deadline = epoch_us(datetime.combine(local, wall, tzinfo=tz))
        first = daily.get(day)
        late = first is None or first[0] > deadline
        if late and rs[0][0] < deadline < horizon:
            out.append(
                missing.finding_by_time(
                    rule,
                    day=day,
                    deadline=deadline,
                    first_that_day=None if first is None else first[0],
                )
            )
    return out


def _follow_up(follow_ups: list[Reading], t: int) -> float | None:
    """The follow-up answer nearest ``t`` within the tolerance; on a tie the higher."""
    best: tuple[int, float] | None = None
    for t_f, v in follow_ups:
        gap = abs(t_f - t)
        if gap > symptom.FOLLOW_UP_TOLERANCE_S * 1_000_000:
            continue
        if best is None or gap < best[0] or (gap == best[0] and v > best[1]):
            best = (gap, v)
    return None if best is None else best[1]


def _symptom(
    rule: SymptomRule, rs: list[Reading], tz: ZoneInfo, follow_ups: list[Reading]
) -> list[Finding]:
    window = round(rule.worsening_window_hours * US_PER_HOUR)
    was_red = was_yellow = False
    out: list[Finding] = []
    previous_day: int | None = None
    for i, (t, v) in enumerate(rs):
        today = _day(t, tz)
        new_day, previous_day = today != previous_day, today
        lowest: Reading | None = None
        for j in range(i - 1, -1, -1):
            if rs[j][0] < t - window:
                break
            if lowest is None or rs[j][1] < lowest[1]:
                lowest = rs[j]
        usual: float | None = None
        if rule.usual_days is not None:
            since = t - rule.usual_days * 24 * US_PER_HOUR
            earlier = [rs[j][1] for j in range(i) if rs[j][0] >= since]
            if len(earlier) >= rule.usual_min_answers:
                usual = statistics.median(earlier)
        follow_up = _follow_up(follow_ups, t) if rule.follow_up else None
        above = (usual is None or v > usual) and follow_up != 0
        red = rule.red_score is not None and v >= rule.red_score and above
        worse = (
            rule.worsening_points is not None
            and lowest is not None
            and v - lowest[1] >= rule.worsening_points
        )
        yellow = (rule.yellow_score is not None and v >= rule.yellow_score and above) or worse
        red_fires = red and (not was_red or new_day)
        yellow_fires = yellow and (not was_yellow or new_day) and not red
        was_red, was_yellow = red, yellow
        if red_fires or yellow_fires:
            out.append(
                symptom.finding(
                    rule,
                    red=red_fires,
                    worse=worse,
                    answer=(t, v),
                    window_lowest=None if rule.worsening_points is None else lowest,
                    usual=usual,
                    follow_up=follow_up,
                )
            )
    return out


def _combination(rule: CombinationRule, found: dict[str, list[Finding]]) -> list[Finding]:
    window = round(rule.window_hours * US_PER_HOUR)
    floor = _RANK[rule.min_severity]
    comps = [
        [(epoch_us(f.fired_at), f) for f in found.get(ref, []) if _RANK[f.severity] >= floor]
        for ref in rule.rules
    ]
    moments = sorted({t for comp in comps for t, _ in comp})
    out: list[Finding] = []
    for t in moments:
        parts: list[Finding] = []
        for comp in comps:
            latest: tuple[int, Finding] | None = None
            for t_f, f in comp:
                if t - window <= t_f <= t and (latest is None or t_f >= latest[0]):
                    latest = (t_f, f)
            if latest is not None:
                parts.append(latest[1])
        if (len(parts) == len(comps)) if rule.mode == "all" else bool(parts):
            out.append(combination.finding(rule, fired_at=t, components=parts))
    return out
