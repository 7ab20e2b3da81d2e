"""Rules as data: validated, frozen, JSON-serialisable pydantic models.

A rule set is configuration, not code per patient. Every rule has a stable ``id`` (for example
``"weight_gain_3d"``) that findings, overrides and combinations refer to. The rule kinds form a
discriminated union on ``kind``:

- ``threshold``: a reading outside [low, high] with a yellow and/or a red band, each optionally
  gated by N consecutive readings and/or a minimum duration outside the band.
- ``change``: the first reading of a local day against the lowest (``rise``) or highest
  (``fall``) first-of-day value of the previous ``window_days`` local days.
- ``baseline``: the first reading of a local day against the mean of the previous
  ``baseline_days`` days, in units of their standard deviation (the patient's own variability).
- ``trend``: MACD of the first-of-day values: a short exponentially weighted average minus a
  long one (Zhang 2009, Cuba Gyllensten 2016), fired when it reaches an amount.
- ``missing``: no reading for ``after_hours`` hours, or none by ``by_local_time`` on a local day.
- ``symptom``: an ordinal answer (0-3) at or above a score, or worse by some points than the
  lowest answer within a window.
- ``combination``: findings of all (or any) of other rules within a window.
- ``index``: a personalised deterioration index (HeartLogic's idea): each signal's recent
  average against the patient's own robust baseline (median and MAD), combined into one score
  with hysteresis (opens at ``yellow``, closes only below ``recovery``).

Values are in the metric's canonical unit (see hemkoll.protocol.measurements).

What a value may be is said once: by a field's constraints (``Field(ge=..., le=...)``) or, for a
threshold's limits, by the metric's plausible range; ``field_bounds`` and ``limit_bounds`` read
them for whoever has to say the range out loud (the console's tuning form). A rule broken across
fields is refused with a ``PydanticCustomError`` whose type is a stable code and whose context
names the field it is about (``field``, a path such as ``"red.low"`` below the error's
location) and the values involved, so a form can put a message in its own words beside that
field; the English message stays the same for the API and the command line:

- ``band_order``: a band's low is not below its high (``field``: ``"high"``).
- ``red_low_above_yellow`` / ``red_high_below_yellow``: a red limit inside the yellow band.
- ``red_below_yellow``: a red amount, score or deviation below the yellow one.
- ``limit_implausible``: a limit no accepted reading of the metric can be (``low``, ``high``).
- ``needs_level``: a rule with no level left to fire.
- ``needs_deadline`` (``field``: ``"after_hours"``) / ``two_deadlines``: a missing-reading rule
  with neither hours nor a time of day, or both.
- ``recovery_above_yellow`` (``field``: ``"recovery"``): an index whose recovery level is not
  below its opening level.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import time
from functools import cached_property
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hemkoll.protocol.measurements import METRICS

Severity = Literal["yellow", "red"]
SEVERITIES: tuple[Severity, ...] = ("yellow", "red")

# Stable rule ids: lower-case snake case, short enough for a database key and a log line.
RULE_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
RuleId = Annotated[str, StringConstraints(pattern=RULE_ID_PATTERN)]

# A clinician may ask for at most a week of daily readings in a row before a band fires; more
# would silence a real deterioration for longer than any programme in references.md allows.
MAX_CONSECUTIVE = 7
# Change windows beyond a month are trends, which the baseline rule handles.
MAX_CHANGE_WINDOW_DAYS = 31
# A baseline of more than two months no longer describes the patient's current state.
MAX_BASELINE_DAYS = 60
# Trend averages: a span beyond two months no longer describes the patient's current state (as
# for the baseline); each average weighs the last TREND_MEMORY_SPANS long spans of days, where an
# exponential weight of span N has fallen to (1 - 2 / (N + 1)) ** (3 N), under 0.3 %.
MAX_TREND_DAYS = 60
TREND_MEMORY_SPANS = 3
# A standard deviation needs at least two values.
MIN_BASELINE_VALUES = 2
# Ordinal symptom answers are 0 to 3 (hemkoll.protocol.measurements).
MAX_SYMPTOM_SCORE = 3


@dataclass(frozen=True)
class Bounds:
    """The values a number may take: above (or from) ``low``, below (or up to) ``high``."""

    low: float | None = None
    high: float | None = None
    # Open ends exclude the bound itself ("greater than 0").
    low_open: bool = False
    high_open: bool = False

    def admits(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


def field_bounds(model: type[BaseModel], name: str) -> Bounds:
    """The bounds a model's numeric field declares (``Field(gt=..., le=...)``); none if none."""
    low: float | None = None
    high: float | None = None
    low_open = high_open = False
    for constraint in model.model_fields[name].metadata:
        if isinstance(constraint, annotated_types.Gt):
            low, low_open = _float(constraint.gt), True
        elif isinstance(constraint, annotated_types.Ge):
            low, low_open = _float(constraint.ge), False
        elif isinstance(constraint, annotated_types.Lt):
            high, high_open = _float(constraint.lt), True
        elif isinstance(constraint, annotated_types.Le):
            high, high_open = _float(constraint.le), False
    return Bounds(low, high, low_open, high_open)


def _float(value: object) -> float:
    if not isinstance(value, int | float):
        raise TypeError(f"a numeric bound, not {value!r}")
    return float(value)


def limit_bounds(metric: str) -> Bounds:
    """Where a threshold's limit may be: within what an accepted reading of the metric can be.

    A limit outside would fire on every reading, or never.
    """
    found = METRICS[metric]
    return Bounds(found.plausible_low, found.plausible_high)


def refusal(code: str, message: str, **context: Any) -> PydanticCustomError:
    """A rule refused for a reason with a stable ``code`` (see the module's docstring)."""
    # The message is written out already; pydantic would fill in "{name}" for a context key,
    # which no message here holds (units like "{score}" are left as they are).
    return PydanticCustomError(code, message, context)


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    return name


MetricName = Annotated[str, AfterValidator(_known_metric)]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Rule(FrozenModel):
    id: RuleId
    enabled: bool = True
    # Where the default comes from, or why a clinician changed it; shown to staff, not evaluated.
    note: str = ""


class Band(FrozenModel):
    """Normal range of one level: a reading below ``low`` or above ``high`` is outside."""

    low: float | None = None
    high: float | None = None
    # The band fires only on the N-th consecutive reading outside it ...
    consecutive: int = Field(default=1, ge=1, le=MAX_CONSECUTIVE)
    # ... and only once the readings have been outside for at least this long (first to latest).
    min_duration_minutes: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> Band:
        if self.low is None and self.high is None:
            raise refusal("needs_level", "a band needs low, high or both")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise refusal(
                "band_order",
                f"band low {self.low} must be below high {self.high}",
                field="high",
                low=self.low,
                high=self.high,
            )
        return self


class ThresholdRule(_Rule):
    kind: Literal["threshold"] = "threshold"
    metric: MetricName
    yellow: Band | None = None
    red: Band | None = None

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        if self.yellow is None and self.red is None:
            raise refusal("needs_level", f"threshold rule {self.id}: needs a yellow or a red band")
        y, r = self.yellow, self.red
        if y is not None and r is not None:
            if y.low is not None and r.low is not None and r.low > y.low:
                raise refusal(
                    "red_low_above_yellow",
                    f"threshold rule {self.id}: red low must not exceed yellow low",
                    field="red.low",
                    yellow=y.low,
                )
            if y.high is not None and r.high is not None and r.high < y.high:
                raise refusal(
                    "red_high_below_yellow",
                    f"threshold rule {self.id}: red high must not be below yellow",
                    field="red.high",
                    yellow=y.high,
                )
        bounds = limit_bounds(self.metric)
        for name, band in (("yellow", y), ("red", r)):
            for side, limit in (("low", band.low), ("high", band.high)) if band else ():
                if limit is not None and not bounds.admits(limit):
                    raise refusal(
                        "limit_implausible",
                        f"threshold rule {self.id}: limit {limit:g} is outside what a "
                        f"{self.metric} reading can be ({bounds.low:g}-{bounds.high:g} "
                        f"{METRICS[self.metric].canonical_unit})",
                        field=f"{name}.{side}",
                        low=bounds.low,
                        high=bounds.high,
                    )
        return self


def _check_amounts(kind: str, rule_id: str, yellow: float | None, red: float | None) -> None:
    """A rule with yellow and red amounts needs one of them, and red at least yellow."""
    if yellow is None and red is None:
        raise refusal("needs_level", f"{kind} rule {rule_id}: needs a yellow or a red amount")
    if yellow is not None and red is not None and red < yellow:
        raise refusal(
            "red_below_yellow",
            f"{kind} rule {rule_id}: red amount must be >= yellow amount",
            field="red",
            yellow=yellow,
        )


class ChangeRule(_Rule):
    kind: Literal["change"] = "change"
    metric: MetricName
    direction: Literal["rise", "fall"] = "rise"
    window_days: int = Field(ge=1, le=MAX_CHANGE_WINDOW_DAYS)
    # Change (canonical units) at or beyond which the level fires.
    yellow: float | None = Field(default=None, gt=0)
    red: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> ChangeRule:
        _check_amounts("change", self.id, self.yellow, self.red)
        return self


class BaselineRule(_Rule):
    kind: Literal["baseline"] = "baseline"
    metric: MetricName
    direction: Literal["rise", "fall"] = "rise"
    baseline_days: int = Field(default=14, ge=MIN_BASELINE_VALUES, le=MAX_BASELINE_DAYS)
    # Days with a reading needed in the baseline window before the rule says anything.
    min_days: int = Field(default=7, ge=MIN_BASELINE_VALUES)
    # Deviation in standard deviations of the baseline window at which each level fires.
    yellow_sd: float | None = Field(default=None, gt=0)
    red_sd: float | None = Field(default=None, gt=0)
    # Deviation (canonical units) below which the rule never fires, however stable the patient.
    min_deviation: float = Field(default=0.0, ge=0)
    # Lower bound on the standard deviation, so a very stable week does not inflate the score.
    sd_floor: float = Field(gt=0)

    @model_validator(mode="after")
    def _check(self) -> BaselineRule:
        if self.yellow_sd is None and self.red_sd is None:
            raise refusal("needs_level", f"baseline rule {self.id}: needs yellow_sd or red_sd")
        if self.yellow_sd is not None and self.red_sd is not None and self.red_sd < self.yellow_sd:
            raise refusal(
                "red_below_yellow",
                f"baseline rule {self.id}: red_sd must be >= yellow_sd",
                field="red_sd",
                yellow=self.yellow_sd,
            )
        if self.min_days > self.baseline_days:
            raise ValueError(f"baseline rule {self.id}: min_days exceeds baseline_days")
        return self


class TrendRule(_Rule):
    """MACD: a short minus a long exponentially weighted average of the first-of-day values."""

    kind: Literal["trend"] = "trend"
    metric: MetricName
    direction: Literal["rise", "fall"] = "rise"
    # Spans N of the two averages in days: the weight of a value k days old is (1 - a) ** k with
    # a = 2 / (N + 1), the usual MACD convention.
    short_days: int = Field(ge=1, le=MAX_TREND_DAYS)
    long_days: int = Field(ge=2, le=MAX_TREND_DAYS)
    # Days with a value among the last ``long_days`` (today included) before the rule says
    # anything, so a trend is not read from two readings.
    min_days: int = Field(default=7, ge=1)
    # Short minus long average (canonical units) at or beyond which each level fires.
    yellow: float | None = Field(default=None, gt=0)
    red: float | None = Field(default=None, gt=0)

    @property
    def memory_days(self) -> int:
        """Days (today included) that each average weighs; older values are not used."""
        return TREND_MEMORY_SPANS * self.long_days

    @model_validator(mode="after")
    def _check(self) -> TrendRule:
        if self.short_days >= self.long_days:
            raise ValueError(f"trend rule {self.id}: short_days must be below long_days")
        if self.min_days > self.long_days:
            raise ValueError(f"trend rule {self.id}: min_days exceeds long_days")
        _check_amounts("trend", self.id, self.yellow, self.red)
        return self


class MissingRule(_Rule):
    kind: Literal["missing"] = "missing"
    metric: MetricName
    severity: Severity = "yellow"
    after_hours: float | None = Field(default=None, gt=0)
    # Local wall-clock time in the patient's time zone (seconds and microseconds ignored).
    by_local_time: time | None = None

    @model_validator(mode="after")
    def _check(self) -> MissingRule:
        if (self.after_hours is None) == (self.by_local_time is None):
            raise refusal(
                "needs_deadline" if self.after_hours is None else "two_deadlines",
                f"missing rule {self.id}: set exactly one of after_hours and by_local_time",
                **({"field": "after_hours"} if self.after_hours is None else {}),
            )
        if self.by_local_time is not None and self.by_local_time.tzinfo is not None:
            raise ValueError(f"missing rule {self.id}: by_local_time is a wall time, no offset")
        return self


class SymptomRule(_Rule):
    kind: Literal["symptom"] = "symptom"
    metric: MetricName
    yellow_score: int | None = Field(default=None, ge=1, le=MAX_SYMPTOM_SCORE)
    red_score: int | None = Field(default=None, ge=1, le=MAX_SYMPTOM_SCORE)
    # Yellow when the answer is this many points above the lowest answer of the window before it.
    worsening_points: int | None = Field(default=None, ge=1, le=MAX_SYMPTOM_SCORE)
    worsening_window_hours: float = Field(default=72.0, gt=0)
    # Score levels judged against the patient's usual answer: with ``usual_days`` set, an answer
    # at a score fires only if it is also above the median of her answers of the ``usual_days``
    # days before it (once there are ``usual_min_answers`` of them; until then on the score
    # alone, so a new patient is not left unjudged). For a patient whose usual state is what
    # the score describes (breathless on light exertion every day), the score says nothing new.
    usual_days: int | None = Field(default=None, ge=7, le=MAX_BASELINE_DAYS)
    usual_min_answers: int = Field(default=7, ge=MIN_BASELINE_VALUES)
    # With ``follow_up``, an answer at a score whose questionnaire's follow-up ("Is this worse
    # than usual for you?", metric ``worse_than_usual``, hemkoll.protocol.measurements) says
    # "no" fires no score level: she says it is her usual state. "Yes", or no follow-up (not
    # asked, not answered, or more than ``symptom.FOLLOW_UP_TOLERANCE_S`` from
    # the answer), fires as
    # without it. Worsening (``worsening_points``) is a change she did not judge: unaffected.
    follow_up: bool = False

    @model_validator(mode="after")
    def _check(self) -> SymptomRule:
        if not self.metric.startswith("symptom_"):
            raise ValueError(f"symptom rule {self.id}: {self.metric} is not a symptom answer")
        if self.yellow_score is None and self.red_score is None and self.worsening_points is None:
            raise refusal(
                "needs_level", f"symptom rule {self.id}: needs a score or worsening_points"
            )
        y, r = self.yellow_score, self.red_score
        if y is not None and r is not None and r < y:
            raise refusal(
                "red_below_yellow",
                f"symptom rule {self.id}: red_score must be >= yellow_score",
                field="red_score",
                yellow=y,
            )
        return self


class CombinationRule(_Rule):
    kind: Literal["combination"] = "combination"
    mode: Literal["all", "any"]
    rules: tuple[RuleId, ...] = Field(min_length=1)
    window_hours: float = Field(gt=0)
    severity: Severity = "red"
    # Component findings below this severity do not count.
    min_severity: Severity = "yellow"
    label_en: str = Field(min_length=1)
    label_sv: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> CombinationRule:
        if len(set(self.rules)) != len(self.rules):
            raise ValueError(f"combination rule {self.id}: a component is listed twice")
        if self.mode == "all" and len(self.rules) < 2:
            raise ValueError(f"combination rule {self.id}: all-of needs two or more rules")
        if self.id in self.rules:
            raise ValueError(f"combination rule {self.id}: refers to itself")
        return self


# The deterioration index: a baseline of at most a month, since ``memory_days`` doubles it (the
# alert periods left out of the baseline are found against a baseline of their own); a latch of
# at most a month; a recent average of at most a week (it should react within days).
MAX_INDEX_BASELINE_DAYS = 31
MAX_INDEX_GUARD_DAYS = 14
MAX_INDEX_OPEN_DAYS = 31
MAX_INDEX_SHORT_DAYS = 7
MAX_INDEX_AFTER_DISCHARGE_DAYS = 42
# A single signal counts at most this many usual variations, so one wild value cannot open an
# index alert on its own unless its weight says so.
MAX_INDEX_CAP = 10.0


class IndexSignal(FrozenModel):
    """One signal of a deterioration index: its metric, the direction that is worse, how much
    it counts, the smallest usual variation assumed (canonical unit) and its cap (in usual
    variations)."""

    metric: MetricName
    direction: Literal["rise", "fall"] = "rise"
    weight: float = Field(default=1.0, gt=0, le=10)
    sd_floor: float = Field(gt=0)
    cap: float = Field(default=3.0, gt=0, le=MAX_INDEX_CAP)


class IndexRule(_Rule):
    """A personalised deterioration index over several signals, with hysteresis.

    Per patient and local day each signal's average of the last ``short_days`` days (today's
    first value included once measured) is compared with the median of the signal's first-of-
    day values over ``baseline_days`` days ending ``guard_days`` before today, in usual
    variations (1.4826 x the median absolute deviation, at least ``sd_floor``); days of a
    hospital stay and ``after_discharge_days`` after it, and days of an index alert, are left
    out of the baseline. The score adds each signal's ``weight`` x its deviation in the worse
    direction (0 to ``cap``). An alert opens at ``yellow`` and stays while the score is at
    least ``recovery``, for at most ``max_open_days`` after the score was last at ``yellow``.
    """

    kind: Literal["index"] = "index"
    signals: tuple[IndexSignal, ...] = Field(min_length=1)
    baseline_days: int = Field(default=21, ge=7, le=MAX_INDEX_BASELINE_DAYS)
    guard_days: int = Field(default=4, ge=0, le=MAX_INDEX_GUARD_DAYS)
    min_days: int = Field(default=7, ge=MIN_BASELINE_VALUES)
    short_days: int = Field(default=3, ge=1, le=MAX_INDEX_SHORT_DAYS)
    after_discharge_days: int = Field(default=14, ge=0, le=MAX_INDEX_AFTER_DISCHARGE_DAYS)
    max_open_days: int = Field(default=14, ge=1, le=MAX_INDEX_OPEN_DAYS)
    yellow: float = Field(gt=0)
    recovery: float = Field(gt=0)
    red: float | None = Field(default=None, gt=0)

    @property
    def metric(self) -> str:
        """The first signal's metric (where one metric names the rule: labels, filters)."""
        return self.signals[0].metric

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(s.metric for s in self.signals)

    @property
    def memory_days(self) -> int:
        """Days before today the score depends on: the baseline of the baseline's alert days."""
        reach = self.baseline_days + self.guard_days
        return 2 * reach + self.max_open_days + 2 * self.short_days

    @model_validator(mode="after")
    def _check(self) -> IndexRule:
        if len(set(self.metrics)) != len(self.metrics):
            raise ValueError(f"index rule {self.id}: a metric is listed twice")
        if self.min_days > self.baseline_days:
            raise ValueError(f"index rule {self.id}: min_days exceeds baseline_days")
        if self.recovery >= self.yellow:
            raise refusal(
                "recovery_above_yellow",
                f"index rule {self.id}: recovery must be below yellow",
                field="recovery",
                yellow=self.yellow,
            )
        _check_amounts("index", self.id, self.yellow, self.red)
        return self


Rule = Annotated[
    ThresholdRule
    | ChangeRule
    | BaselineRule
    | TrendRule
    | MissingRule
    | SymptomRule
    | CombinationRule
    | IndexRule,
    Field(discriminator="kind"),
]
PlainRule = (
    ThresholdRule
    | ChangeRule
    | BaselineRule
    | TrendRule
    | MissingRule
    | SymptomRule
    | CombinationRule
    | IndexRule
)


ContactWhen = Literal["now", "today"]


class PatientAdvice(FrozenModel):
    """What the programme tells the patient to do, on her devices (docs/patient-messages.md).

    The severities promise: red, the health centre contacts the patient now; yellow, today.
    """

    # A symptom answer at or above ``severe_score`` is acknowledged as severe, with advice,
    # whether or not a rule judges it; one at or above ``notable_score`` never gets "your
    # measurements look as usual". On the 0-3 scales: 3 severe (at rest), 2 moderate.
    severe_score: int = Field(default=3, ge=1, le=MAX_SYMPTOM_SCORE)
    notable_score: int = Field(default=2, ge=1, le=MAX_SYMPTOM_SCORE)
    # When a severe answer asks the patient to call her health centre: "now" for the symptoms
    # named here, "today" for the others.
    severe_call_now: frozenset[MetricName] = frozenset({"symptom_breathlessness"})
    # A red alert promises contact now; if the centre has not called the patient back within
    # this long, she is asked to call it (its number, when the centre has one).
    red_call_back_minutes: int = Field(default=60, ge=5, le=240)
    # The healthcare advice line and the emergency number the messages name (None: not named).
    advice_line: str | None = Field(default="1177", min_length=1, max_length=20)
    emergency_number: str | None = Field(default="112", min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> PatientAdvice:
        if self.notable_score > self.severe_score:
            raise ValueError("advice: notable_score must not be above severe_score")
        for metric in self.severe_call_now:
            if not metric.startswith("symptom_"):
                raise ValueError(f"advice: {metric} is not a symptom answer")
        return self


class RuleSet(FrozenModel):
    name: str = Field(min_length=1)
    rules: tuple[Rule, ...]
    advice: PatientAdvice = PatientAdvice()

    @model_validator(mode="after")
    def _check(self) -> RuleSet:
        seen: dict[str, PlainRule] = {}
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen[rule.id] = rule
        for rule in self.rules:
            if isinstance(rule, CombinationRule):
                for ref in rule.rules:
                    target = seen.get(ref)
                    if target is None:
                        raise ValueError(f"combination {rule.id} refers to unknown rule {ref!r}")
                    if isinstance(target, CombinationRule):
                        raise ValueError(  # noqa: TRY004 (pydantic reports ValueError)
                            f"combination {rule.id} refers to combination {ref!r}"
                        )
        return self

    def rule(self, rule_id: str) -> PlainRule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def enabled(self) -> tuple[PlainRule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the rule set's content (its JSON): stored deadlines name the programme
        they were computed under."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]
