"""The deterioration index on the console: one patient's daily score over the chart's days,
its opening and recovery levels as lines, and the days the index was open (``index_series``:
the rule's own kernel, so a backtest of her rule) marked beneath; on the patient page whether or
not the rule is on for her, and in the backtest of a change of its levels.

``load`` reads what the index needs (her readings from ``history_needed`` before the first day
shown, her hospital stays); the rest is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from hemkoll.api.console.charts import Chart, Figure, LineIn, MarkerIn, SeriesIn, build_chart
from hemkoll.api.console.i18n import Formatter
from hemkoll.rules.config import IndexRule, RuleSet
from hemkoll.rules.index_series import IndexSeries, history_needed, index_series
from hemkoll.rules.series import series_from_rows
from hemkoll.rules.stays import DISCHARGE_GRACE
from hemkoll.store import hospital_stays
from hemkoll.store.connect import Conn
from hemkoll.store.readings import readings_between

TRACK = "index_open"
# The score axis goes at least this far above the opening level, so that the line at the
# opening level is never drawn on the frame's top edge.
HEADROOM = 1.25
DECIMALS = 1


@dataclass(frozen=True)
class IndexView:
    """What the patient page shows of one of her indexes: the chart, or why there is none yet."""

    rule: IndexRule
    series: IndexSeries
    chart: Chart | None  # None: no baseline on any day shown
    # What the page's ids of this index end with: "" for the first, "-<rule id>" for others.
    suffix: str = ""

    @property
    def enabled(self) -> bool:
        return self.rule.enabled


def index_rules(rule_set: RuleSet) -> list[IndexRule]:
    """Her index rules (the programme's fast and slow-drift indexes), switched on or not."""
    return [r for r in rule_set.rules if isinstance(r, IndexRule)]


def suffix_of(position: int, rule: IndexRule) -> str:
    """The page's ids of the index at ``position``: the first keeps the plain ids."""
    return "" if position == 0 else f"-{rule.id}"


def load(
    conn: Conn,
    patient_id: UUID,
    rules: Sequence[IndexRule],
    *,
    first_day: date,
    tz: ZoneInfo,
    now: datetime,
) -> list[IndexSeries]:
    """Her indexes up to ``now``, exact from ``first_day`` on (local days of ``tz``), one per
    rule; her readings are read once, as far back as the rule that needs the most."""
    if not rules:
        return []
    since = datetime.combine(first_day, time(), tz) - max(history_needed(r) for r in rules)
    rows = readings_between(conn, patient_id, since, now)
    stays = hospital_stays.stays_of_patients(
        conn, [patient_id], since, now, grace=DISCHARGE_GRACE
    ).get(patient_id, [])
    series = series_from_rows(rows)
    return [index_series(rule, series, tz=tz, now=now, stays=stays) for rule in rules]


def level_lines(
    rule: IndexRule, t: Mapping[str, str], fmt: Formatter, *, proposed: bool = False
) -> list[LineIn]:
    """The rule's opening, recovery (and red, if it has one) levels as chart lines."""
    levels = [
        ("index_opening", rule.yellow, "yellow"),
        ("index_recovery_line", rule.recovery, "recovery"),
    ]
    if rule.red is not None:
        levels.append(("index_red", rule.red, "red"))
    lines = []
    for key, value, css in levels:
        words = t[key].format(value=fmt.number(value, DECIMALS))
        if proposed:
            words = f"{t['proposed']}: {words}"
        lines.append(LineIn(value, css, words, proposed))
    return lines


def open_markers(
    found: IndexSeries, t: Mapping[str, str], fmt: Formatter, *, track: str = TRACK
) -> list[MarkerIn]:
    """A marker on each day the index was open, red where the day's score reached red."""
    return [
        MarkerIn(
            d.day,
            "red" if found.red is not None and d.score >= found.red else "yellow",
            track,
            t["index_open_marker"].format(
                day=fmt.short_date(d.day), score=fmt.number(d.score, DECIMALS)
            ),
        )
        for d in found.days
        if d.open
    ]


def chart(
    found: IndexSeries,
    days: Sequence[date],
    *,
    lines: Sequence[LineIn],
    markers: Sequence[MarkerIn],
    tracks: Sequence[tuple[str, str]],
    fmt: Formatter,
    t: Mapping[str, str],
    suffix: str = "",
    counted: tuple[date, date] | None = None,
) -> Chart:
    """The score over ``days`` (oldest first), one point a day with an event; ``counted`` as
    for the readings' charts (the days on which no reading is a missing day)."""
    shown = set(days)
    points = {d.day: Figure(d.score) for d in found.days if d.day in shown}
    top = max([*(p.value for p in points.values()), *(line.value for line in lines)], default=1.0)
    return build_chart(
        f"chart-index{suffix}",
        t["index_chart"],
        "",
        days,
        [SeriesIn("index", t["index_score"], points)],
        lines=lines,
        markers=markers,
        tracks=tracks,
        fixed=(0.0, top * HEADROOM),
        decimals=DECIMALS,
        counted=counted,
        value_note=t["legend_index"],
        fmt=fmt,
        t=t,
    )


def patient_view(
    rule: IndexRule,
    found: IndexSeries,
    days: Sequence[date],
    *,
    fired: Sequence[MarkerIn],
    counted: tuple[date, date],
    fmt: Formatter,
    t: Mapping[str, str],
    suffix: str = "",
) -> IndexView:
    """The patient page's index: ``fired``, markers of her index alerts that did fire."""
    shown = set(days)
    if not any(d.baseline for d in found.days if d.day in shown):
        return IndexView(rule, found, None, suffix)
    tracks = [(TRACK, t["track_index_open"])]
    if fired:
        tracks.insert(0, ("fired", t["track_fired"]))
    drawn = chart(
        found,
        days,
        lines=level_lines(rule, t, fmt),
        markers=[*fired, *open_markers(found, t, fmt)],
        tracks=tracks,
        fmt=fmt,
        t=t,
        suffix=suffix,
        counted=counted,
    )
    return IndexView(rule, found, drawn, suffix)
