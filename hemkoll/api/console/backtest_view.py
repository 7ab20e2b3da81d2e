"""A proposed rule change's backtest as the clinician sees it before saving: the rule's chart over
the backtest's days with its current and proposed lines, and markers of what did fire, what the
current rules give and what the proposal would have given; and the same alerts as a table.

The counts are what a nurse would have got (``rules.backtest``: each alert resolved a few hours
after it opened; one alert per deterioration, a new one after recovery or when it gets worse),
with the number of days on which the rule would have told her something (opened an alert, or
raised or added its evidence to another rule's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hemkoll.alerts.what_if import WhatIf
from hemkoll.api.console import index_chart
from hemkoll.api.console.charts import Chart, MarkerIn
from hemkoll.api.console.i18n import Formatter
from hemkoll.api.console.patient_charts import group_chart, group_of, limit_lines
from hemkoll.api.console.rules_view import find, rule_label, rule_limits, rule_metrics
from hemkoll.rules.backtest import RESOLVED_AFTER, BacktestAlert
from hemkoll.rules.config import IndexRule
from hemkoll.rules.index_series import IndexSeries
from hemkoll.store.alerts import AlertDetail
from hemkoll.store.readings_query import DailyAggregate

TRACKS = ("fired", "current", "proposed")


@dataclass(frozen=True)
class Row:
    """One rule's alerts on one local day, in each of the three sets (a severity, or None)."""

    day: date
    rule_id: str
    label: str
    fired: str | None
    current: str | None
    proposed: str | None

    @property
    def differs(self) -> bool:
        return self.current != self.proposed


@dataclass(frozen=True)
class BacktestView:
    rule_id: str
    since: datetime
    until: datetime
    readings: int
    counts: Mapping[str, int]
    rule_counts: Mapping[str, int]
    # Per track: the local days on which the rule opened at least one alert.
    rule_days: Mapping[str, int]
    # How long after opening the backtest's nurse resolves each alert.
    resolved_after_hours: int
    chart: Chart | None
    rows: tuple[Row, ...]


def _severest(severities: Sequence[str]) -> str:
    return "red" if "red" in severities else "yellow"


def build(
    report: WhatIf,
    rule_id: str,
    fired: Sequence[AlertDetail],
    daily: Mapping[str, Mapping[date, DailyAggregate]],
    days: Sequence[date],
    *,
    tz: ZoneInfo,
    fmt: Formatter,
    t: Mapping[str, str],
    index: IndexSeries | None = None,
) -> BacktestView:
    """``index``: the proposed index rule's daily scores, for a change of an index rule (its
    chart is the score with the current and proposed levels, not a metric's)."""
    proposed_set = report.proposed or report.current
    fired = [a for a in fired if a.opened_at >= report.since]
    sets: dict[str, list[tuple[str, datetime, str]]] = {
        "fired": [(a.rule_id, a.opened_at, a.severity) for a in fired],
        "current": [_of(a) for a in report.current_alerts],
        "proposed": [_of(a) for a in report.proposed_alerts],
    }
    # What each rule told the nurse: the alerts it opened, and its findings that joined
    # another rule's alert (a raise, evidence added: one alert per deterioration).
    told = {
        "fired": sets["fired"],
        "current": [n for a in report.current_alerts for n in _notices(a)],
        "proposed": [n for a in report.proposed_alerts for n in _notices(a)],
    }
    table: dict[tuple[date, str], dict[str, list[str]]] = {}
    for track, found in sets.items():
        for rid, at, severity in found:
            table.setdefault((at.astimezone(tz).date(), rid), {}).setdefault(track, []).append(
                severity
            )
    rows = tuple(
        Row(
            day,
            rid,
            rule_label(find(proposed_set, rid), rid, t),
            *(_severest(cells[track]) if track in cells else None for track in TRACKS),
        )
        for (day, rid), cells in sorted(
            table.items(), key=lambda item: (item[0][0], item[0][1]), reverse=True
        )
    )
    metrics = sorted(rule_metrics(proposed_set, rule_id))
    group = group_of(metrics[0]) if metrics else None
    current_rule = find(report.current, rule_id)
    proposed_rule = find(proposed_set, rule_id)
    markers = [
        MarkerIn(
            at.astimezone(tz).date(),
            severity,
            track,
            f"{t['track_' + track]}: {fmt.datetime(at)}, {t['severity_' + severity]}",
        )
        for track, found in sets.items()
        for rid, at, severity in found
        if rid == rule_id
    ]
    tracks = [(track, t["track_" + track]) for track in TRACKS]
    chart = None
    if isinstance(proposed_rule, IndexRule) and index is not None:
        lines = index_chart.level_lines(proposed_rule, t, fmt, proposed=True)
        if isinstance(current_rule, IndexRule) and current_rule != proposed_rule:
            lines = index_chart.level_lines(current_rule, t, fmt) + lines
        chart = index_chart.chart(
            index,
            days,
            lines=lines,
            markers=markers,
            tracks=tracks,
            fmt=fmt,
            t=t,
            suffix="-backtest",
        )
    elif group is not None:
        lines = limit_lines(rule_limits(current_rule), t, fmt) if current_rule else []
        if proposed_rule is not None and proposed_rule != current_rule:
            lines += limit_lines(rule_limits(proposed_rule), t, fmt, proposed=True)
        chart = group_chart(
            group,
            days,
            daily,
            lines=lines,
            markers=markers,
            tracks=tracks,
            fmt=fmt,
            t=t,
            suffix="-backtest",
        )
    return BacktestView(
        rule_id=rule_id,
        since=report.since,
        until=report.until,
        readings=report.readings,
        counts={track: len(found) for track, found in sets.items()},
        rule_counts={
            track: sum(1 for rid, _, _ in found if rid == rule_id) for track, found in told.items()
        },
        rule_days={
            track: len({at.astimezone(tz).date() for rid, at, _ in found if rid == rule_id})
            for track, found in told.items()
        },
        resolved_after_hours=round(RESOLVED_AFTER / timedelta(hours=1)),
        chart=chart,
        rows=rows,
    )


def _of(alert: BacktestAlert) -> tuple[str, datetime, str]:
    return (alert.rule_id, alert.opened_at, alert.final_severity)


def _notices(alert: BacktestAlert) -> list[tuple[str, datetime, str]]:
    """The alert's opening, and each other rule's finding that raised it or joined it."""
    joined = [
        (f.rule_id, f.fired_at, f.severity)
        for f in (*alert.raises, *alert.evidence_added)
        if f.rule_id != alert.rule_id
    ]
    return [(alert.rule_id, alert.opened_at, alert.severity), *joined]
