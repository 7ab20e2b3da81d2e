"""Reference implementation of the deterioration index: one patient, event by event, plain
Python (``statistics.median``, loops), to keep the vectorised kernel
(``hemkoll.rules.kinds.index``) honest. It shares only the finding builder with it.
"""

from __future__ import annotations

import statistics

from hemkoll.rules.config import IndexRule, IndexSignal
from hemkoll.rules.findings import Finding
from hemkoll.rules.kinds import index
from hemkoll.rules.localtime import US_PER_DAY

Daily = dict[int, tuple[int, float]]  # local day number -> first reading (µs, value) that day


def _recent(daily: Daily, day: int, short_days: int, with_today: bool) -> float | None:
    last = day if with_today else day - 1
    values = [daily[d][1] for d in range(day - short_days + 1, last + 1) if d in daily]
    return sum(values) / len(values) if values else None


def _baseline(
    rule: IndexRule, daily: Daily, day: int, excluded: set[int]
) -> tuple[float | None, float | None, int]:
    """(median, usual variation before the floor, values in the window)."""
    first = day - rule.guard_days - rule.baseline_days
    values = [
        daily[d][1] for d in range(first, day - rule.guard_days) if d in daily and d not in excluded
    ]
    if len(values) < rule.min_days:
        return None, None, len(values)
    med = statistics.median(values)
    mad = statistics.median([abs(v - med) for v in values])
    return med, index.MAD_TO_SD * mad, len(values)


def _state(
    rule: IndexRule, signal: IndexSignal, daily: Daily, *, day: int, at: int, excluded: set[int]
) -> index.SignalState:
    measured = day in daily and daily[day][0] <= at
    recent = _recent(daily, day, rule.short_days, measured)
    med, sd, n = _baseline(rule, daily, day, excluded)
    z: float | None = None
    points = 0.0
    usual = None if sd is None else max(sd, signal.sd_floor)
    if recent is not None and med is not None and usual is not None:
        sign = 1.0 if signal.direction == "rise" else -1.0
        z = sign * (recent - med) / usual
        points = signal.weight * min(max(z, 0.0), signal.cap)
    return index.SignalState(
        metric=signal.metric,
        direction=signal.direction,
        recent=recent,
        median=med,
        usual_sd=usual,
        baseline_values=n,
        z=z,
        points=points,
    )


def _events(
    rule: IndexRule, daily: list[Daily], excluded: set[int]
) -> list[tuple[int, int, float, list[index.SignalState], bool]]:
    """(time, day, score, signal states, open) of every event, in time order."""
    instants = sorted({(t, day) for d in daily for day, (t, _) in d.items()})
    out = []
    last_open_at: int | None = None
    was_open = False
    for at, day in instants:
        states = [
            _state(rule, s, d, day=day, at=at, excluded=excluded)
            for s, d in zip(rule.signals, daily, strict=True)
        ]
        score = sum(s.points for s in states)
        if score >= rule.yellow:
            last_open_at = at
            is_open = True
        else:
            is_open = (
                was_open
                and score >= rule.recovery
                and last_open_at is not None
                and at - last_open_at <= rule.max_open_days * US_PER_DAY
            )
        was_open = is_open
        out.append((at, day, score, states, is_open))
    return out


def index_reference(rule: IndexRule, daily: list[Daily]) -> list[Finding]:
    """The index's findings for one patient from each signal's first-of-day readings."""
    alert_days = {day for _, day, _, _, is_open in _events(rule, daily, set()) if is_open}
    out: list[Finding] = []
    fired_days: set[int] = set()
    for at, day, score, states, is_open in _events(rule, daily, alert_days):
        if not is_open or day in fired_days:
            continue
        fired_days.add(day)
        red = rule.red is not None and score >= rule.red
        out.append(index.finding(rule, red=red, at=at, day=day, score=score, signals=states))
    return out
