"""An alert's evidence as staff read it: the finding's sentence, a small table of labelled
figures in the reader's language (units, decimal comma in Swedish, dates and times in the
patient's time zone) and the stored JSON itself, for a "technical details" toggle.

One renderer per rule kind (hemkoll.rules.kinds.*) knows the keys its kind writes. A key it does
not know (one a later version adds, or a kind this console has never heard of) is still shown,
labelled with its key in plain words; evidence of the wrong shape falls back the same way. Pure:
no I/O, and nothing raised for odd evidence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hemkoll.api.console.i18n import DASH, Formatter
from hemkoll.api.console.rules_view import metric_label, unit
from hemkoll.rules.explain import METRIC_TEXT

Catalogue = Mapping[str, str]
NBSP = "\u00a0"
# Numbers beyond this are not figures of a finding; shown as they are stored.
LARGEST = 1e15
DIRECTIONS = ("rise", "fall")


@dataclass(frozen=True)
class Row:
    """One labelled figure; ``listed``: the values are the items of a list (maybe none)."""

    label: str
    values: tuple[str, ...]
    listed: bool = False


@dataclass(frozen=True)
class Evidence:
    sentence: str
    rows: tuple[Row, ...]
    details: str  # the stored evidence, pretty-printed JSON


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if abs(value) < LARGEST else None
    return number if number is not None and math.isfinite(number) else None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Far from the ends of the calendar, so that any time zone can take it.
    return found if found.tzinfo is not None and 1 < found.year < 9999 else None


def _span(**size: float) -> timedelta | None:
    try:
        return timedelta(**size)
    except OverflowError:
        return None


def _day(value: object) -> date | None:
    if not isinstance(value, str) or len(value) != len("2026-10-16"):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class _Reader:
    """The evidence of one finding, read key by key into rows; remembers what it has shown."""

    def __init__(
        self, evidence: Mapping[str, Any], fmt: Formatter, t: Catalogue, name: Callable[[str], str]
    ) -> None:
        self.ev, self.fmt, self.t, self.name = evidence, fmt, t, name
        self.rows: list[Row] = []
        self.used: set[str] = set()
        metric = evidence.get("metric")
        self.metric = metric if isinstance(metric, str) else None
        direction = evidence.get("direction")
        self.direction = direction if direction in DIRECTIONS else None

    # Rows. A row marks its keys as shown; a row without text marks only the keys whose value
    # is null (not applicable: nothing to show), so a value it could not read is shown plainly.
    def row(self, label: str, text: str | None, *keys: str, **fields: object) -> None:
        """A row labelled by catalogue entry ``label`` (formatted with ``fields``)."""
        if text is None:
            self.used.update(k for k in keys if k in self.ev and self.ev[k] is None)
            return
        self.rows.append(Row(self.t[label].format(**fields), (text,)))
        self.used.update(keys)

    def items(self, label: str, texts: Sequence[str] | None, key: str) -> None:
        if texts is not None:
            self.rows.append(Row(self.t[label], tuple(texts), listed=True))
            self.used.add(key)

    def rest(self) -> None:
        for key, value in self.ev.items():
            if key not in self.used:
                label = key.replace("_", " ").strip().capitalize() or key
                if isinstance(value, list):
                    self.rows.append(Row(label, tuple(self.plain(v) for v in value), listed=True))
                else:
                    self.rows.append(Row(label, (self.plain(value),)))

    # Values.
    def quantity(self, key: str, *, sign: float = 0.0) -> str | None:
        """A value of the finding's metric with its unit; ``sign`` != 0: signed, times sign."""
        value = _number(self.ev.get(key))
        return None if value is None else self.amount(value, sign=sign)

    def amount(self, value: float, *, sign: float = 0.0, bare: bool = False) -> str:
        """``value`` in the metric's decimals and unit (``bare``: without the unit)."""
        text = METRIC_TEXT.get(self.metric or "")
        if text:
            suffix = text.unit_sv if self.fmt.lang == "sv" else text.unit_en
        else:
            suffix = unit(self.metric) if self.metric else ""
        value = value * sign if sign else value
        shown = self.fmt.number(value, text.decimals if text else 1)
        if sign and value > 0 and any(c in "123456789" for c in shown):
            shown = "+" + shown
        return f"{shown}{NBSP}{suffix}" if suffix and not bare else shown

    def count_text(self, key: str) -> str | None:
        n = self.count(key)
        return None if n is None else str(n)

    def count(self, key: str) -> int | None:
        value = self.ev.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def when(self, key: str) -> str | None:
        at = _moment(self.ev.get(key))
        return None if at is None else self.at(at)

    def at(self, at: datetime) -> str:
        return f"{self.fmt.date(self.fmt.local(at).date())} {self.fmt.time(at)}"

    def day(self, key: str) -> str | None:
        found = _day(self.ev.get(key))
        return None if found is None else self.fmt.date(found)

    def hours(self, key: str) -> str | None:
        value = _number(self.ev.get(key))
        span = None if value is None else _span(hours=value)
        return None if span is None else self.fmt.duration(span)

    def days_of(self, key: str, of_key: str) -> str | None:
        n, of = self.count(key), self.count(of_key)
        if n is None or of is None:
            return None
        return self.t["ev_days_of"].format(n=n, of=of)

    def beyond(self, key: str) -> str | None:
        """An amount in the rule's direction: "a rise of at least 2.0 kg"."""
        amount = self.quantity(key)
        if amount is None or self.direction is None:
            return amount
        return self.t[f"ev_{self.direction}_by"].format(value=amount)

    @property
    def sign(self) -> float:
        """Evidence signs changes by the rule's direction; staff read them as they happened."""
        return -1.0 if self.direction == "fall" else 1.0

    def plain(self, value: object) -> str:
        """Any JSON value, for a key no renderer knows."""
        if value is None:
            return DASH
        if isinstance(value, bool):
            return self.t["ev_yes" if value else "ev_no"]
        if isinstance(value, int | float) and _number(value) is None:
            return str(value)  # too large, or not finite: as stored
        if isinstance(value, int):
            return self.fmt.number(value, 0)
        if isinstance(value, float):
            return self.fmt.number(value, 2).rstrip("0").rstrip(",.") or "0"
        if isinstance(value, str):
            at, day = _moment(value), _day(value)
            return self.at(at) if at else self.fmt.date(day) if day else value
        if isinstance(value, list):
            return ", ".join(self.plain(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k}: {self.plain(v)}" for k, v in value.items())
        return str(value)


def _measured(r: _Reader) -> None:
    r.row("ev_metric", metric_label(r.metric, r.t) if r.metric else None, "metric")


def _morning(r: _Reader) -> None:
    """The day's first value, shared by the daily kinds (change, baseline, trend)."""
    _measured(r)
    r.row("ev_morning_value", r.quantity("value"), "value")
    r.row("day", r.day("local_date"), "local_date")


def _threshold(r: _Reader) -> None:
    _measured(r)
    r.row("ev_value", r.quantity("value"), "value")
    side, limit = r.ev.get("side"), r.quantity("limit")
    if side in ("above", "below") and limit is not None:
        r.row("ev_limit", r.t[f"ev_{side}"].format(value=limit), "side", "limit")
    low, high = _number(r.ev.get("low")), _number(r.ev.get("high"))
    if low is not None and high is not None:
        band: str | None = f"{r.amount(low, bare=True)}\u2013{r.amount(high)}"
    elif low is not None or high is not None:
        band = r.t["ev_at_least" if low is not None else "ev_at_most"].format(
            value=r.amount(low if low is not None else high or 0.0)
        )
    else:
        band = None
    r.row("ev_range", band, "low", "high")
    r.row("ev_run_readings", r.count_text("run_readings"), "run_readings")
    minutes = r.count("run_minutes")
    span = None if minutes is None else _span(minutes=minutes)
    r.row("ev_run_time", None if span is None else r.fmt.duration(span), "run_minutes")
    readings = r.ev.get("readings")
    if isinstance(readings, list):
        shown = []
        for pair in readings:
            at = _moment(pair[0]) if isinstance(pair, list) and len(pair) == 2 else None
            value = _number(pair[1]) if at is not None else None
            if at is None or value is None:
                return  # not the layout this kind writes: shown plainly by rest()
            shown.append(f"{r.at(at)}: {r.amount(value)}")
        r.items("ev_readings", shown, "readings")


def _change(r: _Reader) -> None:
    _morning(r)
    reference, at = r.quantity("reference_value"), r.when("reference_at")
    if reference is not None and at is not None:
        label = f"ev_reference_{r.direction or 'rise'}"
        keys = ("reference_value", "reference_at", "reference_local_date")
        r.row(label, f"{reference}, {at}", *keys)
    r.row("ev_change", r.quantity("change", sign=r.sign), "change")
    r.row("ev_limit", r.beyond("amount"), "amount", "direction")
    days = r.count("window_days")
    r.row("ev_window", None if days is None else r.fmt.count("ev_days", days), "window_days")


def _baseline(r: _Reader) -> None:
    _morning(r)
    r.row("ev_baseline_mean", r.quantity("baseline_mean"), "baseline_mean")
    days = r.days_of("baseline_days_with_value", "baseline_days")
    r.row("ev_baseline_days", days, "baseline_days_with_value", "baseline_days")
    sd, used = _number(r.ev.get("baseline_sd")), _number(r.ev.get("sd_used"))
    if sd is not None and used is not None:
        text = r.amount(sd)
        if used > sd:
            text += f" ({r.t['ev_sd_floor'].format(value=r.amount(used))})"
        r.row("ev_baseline_sd", text, "baseline_sd", "sd_used")
    r.row("ev_deviation", r.quantity("deviation", sign=r.sign), "deviation")
    score, limit = _number(r.ev.get("score")), _number(r.ev.get("score_limit"))
    if score is not None:
        r.row("ev_score", f"{r.fmt.number(score, 1)}{NBSP}SD", "score")
    if limit is not None:
        r.row("ev_limit", f"\u2265 {r.fmt.number(limit, 1)}{NBSP}SD", "score_limit", "direction")


def _trend(r: _Reader) -> None:
    _morning(r)
    for span in ("short", "long"):
        days, average = r.count(f"{span}_days"), r.quantity(f"{span}_average")
        if days is not None:
            r.row("ev_average", average, f"{span}_days", f"{span}_average", days=days)
    r.row("ev_difference", r.quantity("trend", sign=r.sign), "trend")
    r.row("ev_limit", r.beyond("amount"), "amount", "direction")
    r.row("ev_days_with_value", r.days_of("days_with_value", "long_days"), "days_with_value")


def _missing(r: _Reader) -> None:
    _measured(r)
    if "after_hours" in r.ev:
        r.row("ev_last_reading", r.when("last_reading_at"), "last_reading_at")
        r.row("ev_last_value", r.quantity("last_value"), "last_value")
        r.row("ev_after", r.hours("after_hours"), "after_hours")
        r.row("ev_deadline", r.when("deadline"), "deadline")
        silent = r.ev.get("next_reading_at") is None
        nxt = r.t["ev_none_yet"] if silent else r.when("next_reading_at")
        r.row("ev_next_reading", nxt, "next_reading_at")
        return
    r.row("ev_deadline", r.when("deadline"), "deadline", "local_date", "local_time")
    first = r.ev.get("first_reading_that_day_at")
    text = r.t["ev_none"] if first is None else r.when("first_reading_that_day_at")
    r.row("ev_first_that_day", text, "first_reading_that_day_at")


# The follow-up's answers (1 yes, 0 no); anything else is shown as it is.
_YES_NO: dict[float | None, str] = {1.0: "ev_yes", 0.0: "ev_no"}


def _symptom(r: _Reader) -> None:
    _measured(r)
    r.row("ev_answer", r.quantity("score"), "score")
    r.row("ev_yellow_from", r.quantity("yellow_score"), "yellow_score")
    r.row("ev_red_from", r.quantity("red_score"), "red_score")
    points = r.count("worsening_points")
    worse = None if points is None else r.fmt.count("ev_points", points)
    r.row("ev_worsening", worse, "worsening_points")
    lowest, at = r.quantity("window_lowest"), r.when("window_lowest_at")
    text = None if lowest is None or at is None else f"{lowest}, {at}"
    r.row("ev_window_lowest", text, "window_lowest", "window_lowest_at")
    days = r.count("usual_days")
    usual = r.quantity("usual_answer") if days is not None else None
    r.row("ev_usual_answer", usual, "usual_answer", "usual_days", days=days)
    if "worse_than_usual" in r.ev:  # a rule reading the questionnaire's follow-up
        answer = r.ev["worse_than_usual"]
        said = "ev_not_answered" if answer is None else _YES_NO.get(_number(answer))
        r.row("ev_worse_than_usual", None if said is None else r.t[said], "worse_than_usual")


def _combination(r: _Reader) -> None:
    mode = r.ev.get("mode")
    r.row("ev_mode", r.t[f"ev_mode_{mode}"] if mode in ("all", "any") else None, "mode")
    r.row("ev_window_hours", r.hours("window_hours"), "window_hours")
    parts = r.ev.get("components")
    if not isinstance(parts, list):
        return
    shown = []
    for part in parts:
        rule_id = part.get("rule_id") if isinstance(part, dict) else None
        severity = part.get("severity") if isinstance(part, dict) else None
        at = _moment(part.get("fired_at")) if isinstance(part, dict) else None
        if not isinstance(rule_id, str) or severity not in ("red", "yellow") or at is None:
            return  # not the layout this kind writes: shown plainly by rest()
        shown.append(f"{r.name(rule_id)} ({r.t['severity_' + severity]}, {r.at(at)})")
    r.items("ev_components", shown, "components")


def _index(r: _Reader) -> None:
    r.row("day", r.day("local_date"), "local_date")
    score, limit = _number(r.ev.get("score")), _number(r.ev.get("score_limit"))
    if score is not None and limit is not None:
        text = r.t["ev_index_of"].format(score=r.fmt.number(score, 1), limit=r.fmt.number(limit, 1))
        r.row("ev_index_score", text, "score", "score_limit")
    recovery = _number(r.ev.get("recovery"))
    r.row("ev_index_recovery", None if recovery is None else r.fmt.number(recovery, 1), "recovery")
    signals = r.ev.get("signals")
    if not isinstance(signals, list):
        return
    shown = []
    for s in signals:
        metric = s.get("metric") if isinstance(s, dict) else None
        if not isinstance(s, dict) or not isinstance(metric, str) or metric not in METRIC_TEXT:
            return  # not the layout this kind writes: shown plainly by rest()
        points, z = _number(s.get("points")), _number(s.get("z"))
        recent, median = _number(s.get("recent")), _number(s.get("baseline_median"))
        if points is None or points <= 0 or recent is None or median is None or z is None:
            continue
        if metric.startswith("symptom_"):  # an average of answers: steps, to a tenth
            steps = r.fmt.number(recent - median, 1)
            deviation = r.t["ev_steps"].format(value=("+" if recent > median else "") + steps)
        else:
            own = _Reader({"metric": metric}, r.fmt, r.t, r.name)
            deviation = own.amount(recent - median, sign=1.0)
        shown.append(
            r.t["ev_index_signal"].format(
                metric=metric_label(metric, r.t),
                deviation=deviation,
                z=r.fmt.number(z, 1),
                points=r.fmt.number(points, 1),
            )
        )
    r.items("ev_index_signals", shown, "signals")


KINDS: Mapping[str, Callable[[_Reader], None]] = {
    "threshold": _threshold,
    "change": _change,
    "baseline": _baseline,
    "trend": _trend,
    "missing": _missing,
    "symptom": _symptom,
    "combination": _combination,
    "index": _index,
}


def evidence_view(
    kind: str,
    evidence: Mapping[str, Any],
    *,
    explanation_sv: str,
    explanation_en: str,
    fmt: Formatter,
    t: Catalogue,
    rule_name: Callable[[str], str],
) -> Evidence:
    """The evidence of a finding of ``kind``; ``fmt`` in the patient's time zone, ``rule_name``
    a rule's label by id (for the components of a combination)."""
    reader = _Reader(evidence, fmt, t, rule_name)
    KINDS.get(kind, _measured)(reader)
    reader.rest()
    return Evidence(
        sentence=explanation_sv if fmt.lang == "sv" else explanation_en,
        rows=tuple(reader.rows),
        details=json.dumps(dict(evidence), indent=2, ensure_ascii=False, default=str),
    )
