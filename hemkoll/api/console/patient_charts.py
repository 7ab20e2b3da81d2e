"""A patient's charts: which metrics share a chart, their threshold lines and alert markers.
Shared by the patient page and the threshold backtest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from hemkoll.api.console.charts import Chart, LineIn, MarkerIn, SeriesIn, build_chart
from hemkoll.api.console.i18n import Formatter
from hemkoll.api.console.rules_view import Limit, find, metric_label, rule_label, rule_metrics, unit
from hemkoll.rules.config import RuleSet
from hemkoll.store.alerts import AlertDetail
from hemkoll.store.readings_query import DailyAggregate


@dataclass(frozen=True)
class Group:
    """Metrics drawn on one chart. ``small``: one of a row of small multiples (same scale)."""

    key: str
    metrics: tuple[str, ...]
    decimals: int
    fixed: tuple[float, float] | None = None
    small: bool = False


# The symptom scores, 0 (none) to 3 (severe): one small chart each, on the same scale, since
# three series of the same few values on one chart hide each other.
SYMPTOM_SCALE = (0.0, 3.0)
GROUPS: tuple[Group, ...] = (
    Group("weight", ("body_weight",), 1),
    Group("blood_pressure", ("systolic_bp", "diastolic_bp"), 0),
    Group("heart_rate", ("heart_rate",), 0),
    Group("spo2", ("spo2",), 0),
    Group("breathlessness", ("symptom_breathlessness",), 0, SYMPTOM_SCALE, small=True),
    Group("ankle_swelling", ("symptom_ankle_swelling",), 0, SYMPTOM_SCALE, small=True),
    Group("fatigue", ("symptom_fatigue",), 0, SYMPTOM_SCALE, small=True),
    # Weekly, 1 (very poor) to 5 (very good), answered in the patient app.
    Group("self_rated_health", ("self_rated_health",), 0, (1.0, 5.0)),
)
METRICS: tuple[str, ...] = tuple(m for g in GROUPS for m in g.metrics)
PERIODS = (7, 30, 90)


def group_of(metric: str) -> Group | None:
    return next((g for g in GROUPS if metric in g.metrics), None)


def alert_first(groups: Sequence[Group], metrics: Iterable[str]) -> list[Group]:
    """``groups`` with those showing any of ``metrics`` (an alert's) first, each kept in order."""
    wanted = set(metrics)
    return sorted(groups, key=lambda g: not wanted & set(g.metrics))


def chart_rows(charts: Sequence[Chart]) -> list[list[Chart]]:
    """The charts as rows: a chart alone, or consecutive small multiples side by side."""
    rows: list[list[Chart]] = []
    for chart in charts:
        if chart.small and rows and rows[-1][-1].small:
            rows[-1].append(chart)
        else:
            rows.append([chart])
    return rows


def counted_days(
    days: Sequence[date], *, monitored_from: date, monitored_until: date | None, today: date
) -> tuple[date, date]:
    """The days on which no reading is a missing day: from the first day of monitoring to the
    last day that is over (yesterday, or the day monitoring ended)."""
    last = today - timedelta(days=1)
    if monitored_until is not None:
        last = min(last, monitored_until)
    return max(days[0], monitored_from) if days else monitored_from, last


def local_days(today: date, count: int) -> list[date]:
    """The ``count`` local days up to and including ``today``, oldest first."""
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


def by_metric(rows: Iterable[DailyAggregate]) -> dict[str, dict[date, DailyAggregate]]:
    found: dict[str, dict[date, DailyAggregate]] = {}
    for row in rows:
        found.setdefault(row.metric, {})[row.day] = row
    return found


def limit_lines(
    limits: Iterable[Limit], t: Mapping[str, str], fmt: Formatter, *, proposed: bool = False
) -> list[LineIn]:
    lines = []
    for limit in limits:
        words = t["limit_" + limit.side].format(
            severity=t["severity_" + limit.severity],
            value=fmt.number(limit.value, 1),
            metric=metric_label(limit.metric, t),
        )
        if proposed:
            words = f"{t['proposed']}: {words}"
        lines.append(LineIn(limit.value, limit.severity, words, proposed))
    return lines


def alert_markers(
    found: Iterable[AlertDetail],
    rule_set: RuleSet,
    *,
    metrics: Sequence[str],
    tz: ZoneInfo,
    t: Mapping[str, str],
    fmt: Formatter,
    track: str = "fired",
) -> list[MarkerIn]:
    """Markers on the day of the reading behind each alert (the day it describes, which for a
    late-arriving reading is not the day the alert opened), for the alerts whose rule watches
    ``metrics``."""
    markers = []
    for a in found:
        if not rule_metrics(rule_set, a.rule_id) & set(metrics):
            continue
        label = t["marker_label"].format(
            measured=fmt.datetime(a.first_fired_at),
            opened=fmt.datetime(a.opened_at),
            severity=t["severity_" + a.severity],
            rule=rule_label(find(rule_set, a.rule_id), a.rule_id, t),
        )
        markers.append(MarkerIn(a.first_fired_at.astimezone(tz).date(), a.severity, track, label))
    return markers


def group_chart(
    group: Group,
    days: Sequence[date],
    daily: Mapping[str, Mapping[date, DailyAggregate]],
    *,
    lines: Sequence[LineIn],
    markers: Sequence[MarkerIn],
    tracks: Sequence[tuple[str, str]],
    fmt: Formatter,
    t: Mapping[str, str],
    suffix: str = "",
    counted: tuple[date, date] | None = None,
) -> Chart:
    return build_chart(
        f"chart-{group.key}{suffix}",
        t["chart_" + group.key],
        unit(group.metrics[0]),
        days,
        [SeriesIn(m, metric_label(m, t), daily.get(m, {})) for m in group.metrics],
        lines=lines,
        markers=markers,
        tracks=tracks,
        fixed=group.fixed,
        decimals=group.decimals,
        counted=counted,
        small=group.small,
        fmt=fmt,
        t=t,
    )
