"""Charts of daily readings as geometry for an inline SVG (templates/_chart.html). Pure.

Per local day: the day's range (min to max) as a band and its mean as a line with a dot, gaps
where a day has no reading (each such day of monitoring is drawn as a hatched strip, so missing
days show; days before monitoring started and the day not yet over are not missing days),
threshold lines, and alert markers on tracks beneath the plot (e.g. "did fire", "current rules",
"proposed"). Every chart also gives its words: a title, a description for screen readers, and
the rows of the data table shown beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from hemkoll.api.console.i18n import Formatter

WIDTH = 720
# Room on the left for the y axis's figures and the marker tracks' names.
LEFT = 96
RIGHT = 12
TOP = 10
PLOT_HEIGHT = 170
# The plot of a small multiple (one of several charts of the same scale side by side): a
# 0-3 symptom score needs no more height to be read.
SMALL_PLOT_HEIGHT = 70
# Its width in the SVG's units: half, so that its text keeps its size where two fit a row.
SMALL_WIDTH = 360
# Dates written under the x axis, at most: as many as fit the width without touching.
X_LABELS = 6
X_LABELS_SMALL = 3
AXIS_HEIGHT = 22
TRACK_HEIGHT = 20
Y_TICKS = 5


class DayValues(Protocol):
    """A series' values of one day: a day's readings (``readings_query.DailyAggregate``), or
    one figure computed for the day (``Figure``)."""

    @property
    def n(self) -> int: ...
    @property
    def min(self) -> float: ...
    @property
    def max(self) -> float: ...
    @property
    def mean(self) -> float: ...


@dataclass(frozen=True)
class Figure:
    """One value for a day (e.g. the deterioration index's score): no range to draw."""

    value: float

    @property
    def n(self) -> int:
        return 1

    @property
    def min(self) -> float:
        return self.value

    @property
    def max(self) -> float:
        return self.value

    @property
    def mean(self) -> float:
        return self.value


@dataclass(frozen=True)
class SeriesIn:
    metric: str
    label: str
    days: Mapping[date, DayValues]


@dataclass(frozen=True)
class LineIn:
    value: float
    severity: str
    label: str
    proposed: bool = False


@dataclass(frozen=True)
class MarkerIn:
    day: date
    severity: str
    track: str
    label: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class SeriesOut:
    index: int
    label: str
    path: str
    bands: tuple[str, ...]
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class LineOut:
    y: float
    css: str
    label: str


@dataclass(frozen=True)
class Strip:
    x: float
    width: float


@dataclass(frozen=True)
class Track:
    y: float
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    css: str
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    unit: str
    width: int
    height: int
    left: int
    right: int
    top: int
    plot_bottom: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    missing: tuple[Strip, ...]
    series: tuple[SeriesOut, ...]
    lines: tuple[LineOut, ...]
    tracks: tuple[Track, ...]
    markers: tuple[Marker, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    small: bool = False
    # What a series' line is, in the legend: the day's mean unless the chart says otherwise.
    value_note: str = ""


def nice_ticks(low: float, high: float, count: int = Y_TICKS) -> list[float]:
    """Round values from ``low`` to ``high``, about ``count`` of them (1, 2, 2.5 or 5 x 10^k)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _runs(present: Sequence[bool]) -> list[tuple[int, int]]:
    """(start, end) index ranges, end excluded, of consecutive days with a value."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, here in enumerate([*present, False]):
        if here and start is None:
            start = i
        elif not here and start is not None:
            runs.append((start, i))
            start = None
    return runs


def build_chart(
    chart_id: str,
    title: str,
    unit: str,
    days: Sequence[date],
    series: Sequence[SeriesIn],
    *,
    lines: Sequence[LineIn] = (),
    markers: Sequence[MarkerIn] = (),
    tracks: Sequence[tuple[str, str]] = (),
    fixed: tuple[float, float] | None = None,
    decimals: int = 1,
    counted: tuple[date, date] | None = None,
    small: bool = False,
    value_note: str | None = None,
    fmt: Formatter,
    t: Mapping[str, str],
) -> Chart:
    """The chart of ``series`` over ``days`` (oldest first); ``tracks`` are (key, label).

    ``counted``: the first and last day on which a missing reading is a missing day (monitoring
    had started, and the day is over); None counts every day. ``small``: a small multiple.
    """
    n = max(1, len(days))
    width = SMALL_WIDTH if small else WIDTH
    slot = (width - LEFT - RIGHT) / n
    readings = [v for s in series for a in s.days.values() for v in (a.min, a.max)]
    values = readings + [line.value for line in lines]
    low, high = fixed or ((min(values), max(values)) if values else (0.0, 1.0))
    if fixed is None:
        pad = max((high - low) * 0.08, 0.5)
        low, high = low - pad, high + pad
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    plot_height = SMALL_PLOT_HEIGHT if small else PLOT_HEIGHT
    bottom = TOP + plot_height

    def x(i: int) -> float:
        return round(LEFT + (i + 0.5) * slot, 1)

    def y(value: float) -> float:
        return round(bottom - (value - low) / (high - low) * plot_height, 1)

    index = {day: i for i, day in enumerate(days)}
    out: list[SeriesOut] = []
    for k, s in enumerate(series):
        present = [day in s.days for day in days]
        path, bands = [], []
        for start, end in _runs(present):
            aggs = [s.days[days[i]] for i in range(start, end)]
            points = [f"{x(i)},{y(a.mean)}" for i, a in zip(range(start, end), aggs, strict=True)]
            path.append("M" + " L".join(points))
            top = [f"{x(i)},{y(a.max)}" for i, a in zip(range(start, end), aggs, strict=True)]
            low_side = [f"{x(i)},{y(a.min)}" for i, a in zip(range(start, end), aggs, strict=True)]
            bands.append(" ".join(top + low_side[::-1]))
        dots = tuple(
            Dot(x(index[d]), y(a.mean), f"{fmt.short_date(d)}: {fmt.number(a.mean, decimals)}")
            for d, a in sorted(s.days.items())
            if d in index
        )
        out.append(SeriesOut(k, s.label, " ".join(path), tuple(bands), dots))
    any_reading = [any(day in s.days for s in series) for day in days]
    first, last = counted if counted is not None else (date.min, date.max)
    missing = tuple(
        Strip(round(LEFT + i * slot, 1), round(slot, 1))
        for i, has in enumerate(any_reading)
        if not has and first <= days[i] <= last
    )
    track_y = {
        key: bottom + AXIS_HEIGHT + (j + 0.5) * TRACK_HEIGHT for j, (key, _) in enumerate(tracks)
    }
    placed = tuple(
        Marker(x(index[m.day]), track_y[m.track], f"marker-{m.severity} track-{m.track}", m.label)
        for m in markers
        if m.day in index and m.track in track_y
    )
    step = max(1, math.ceil(n / (X_LABELS_SMALL if small else X_LABELS)))
    measured = sum(any_reading)
    desc = t["chart_desc"].format(
        title=title,
        period=fmt.count("n_days", len(days)),
        measured=measured,
        marked=fmt.count("alerts_marked", len(placed)),
    )
    if readings:
        desc += " " + t["chart_range"].format(
            low=fmt.number(min(readings), decimals),
            high=fmt.number(max(readings), decimals),
            unit=unit,
        )
    rows = tuple(
        (
            fmt.short_date(day),
            *(_cell(s.days.get(day), fmt, decimals, t["no_reading"]) for s in series),
        )
        for day in days
    )
    return Chart(
        id=chart_id,
        title=title,
        desc=desc.strip(),
        unit=unit,
        width=width,
        left=LEFT,
        right=width - RIGHT,
        top=TOP,
        height=int(bottom + AXIS_HEIGHT + TRACK_HEIGHT * len(tracks) + 4),
        plot_bottom=bottom,
        y_ticks=tuple(Tick(y(v), fmt.number(v, 0 if float(v).is_integer() else 1)) for v in ticks),
        x_ticks=tuple(Tick(x(i), fmt.short_date(days[i])) for i in range(0, len(days), step)),
        missing=missing,
        series=tuple(out),
        lines=tuple(
            LineOut(
                y(line.value),
                f"limit-{line.severity}{' proposed' if line.proposed else ''}",
                line.label,
            )
            for line in lines
            if low <= line.value <= high
        ),
        tracks=tuple(Track(track_y[key], label) for key, label in tracks),
        markers=placed,
        columns=(t["day"], *(s.label for s in series)),
        rows=rows,
        small=small,
        value_note=t["legend_mean"] if value_note is None else value_note,
    )


def _cell(agg: DayValues | None, fmt: Formatter, decimals: int, none: str) -> str:
    if agg is None:
        return none
    if agg.n == 1 or agg.min == agg.max:
        return fmt.number(agg.mean, decimals)
    low, high = fmt.number(agg.min, decimals), fmt.number(agg.max, decimals)
    return f"{fmt.number(agg.mean, decimals)} ({low}\u2013{high})"
