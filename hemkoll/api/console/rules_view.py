"""Rules as staff read them: a name in their language, their levels in a line, what the rule
does in a sentence (from its kind and parameters, so a rule a centre adds reads as well as the
programme's), the metrics they watch, and the threshold lines a chart draws for a metric.

Nothing here shows a rule's id or the programme's developer notes (``Rule.note`` of the preset,
English and about tuning, which docs/programme.md explains): those are for machines and the
programme's authors, not for the care team."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hemkoll.api.console.i18n import Formatter
from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.config import (
    Band,
    BaselineRule,
    ChangeRule,
    CombinationRule,
    IndexRule,
    MissingRule,
    PlainRule,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)

Catalogue = Mapping[str, str]


@dataclass(frozen=True)
class Limit:
    """A horizontal line on a chart: a level's limit (the side outside which it fires)."""

    metric: str
    value: float
    severity: str
    side: str  # "low": fires below; "high": fires above; "score": fires at or above
    rule_id: str


def unit(metric: str, t: Catalogue | None = None) -> str:
    """The unit as staff write it (the canonical UCUM unit, made readable); with a catalogue,
    in its language where words read better ("slag/min" rather than "/min")."""
    if t is not None and f"unit_{metric}" in t:
        return t[f"unit_{metric}"]
    canonical = METRICS[metric].canonical_unit if metric in METRICS else ""
    return {"mm[Hg]": "mmHg", "{score}": "", "Cel": "°C"}.get(canonical, canonical)


def metric_label(metric: str, t: Catalogue) -> str:
    return t.get(f"metric_{metric}", metric)


def rule_label(rule: PlainRule | None, rule_id: str, t: Catalogue) -> str:
    """A rule's name, e.g. "Weight: rise over 3 days"; its id when the rule is unknown."""
    if rule is None:
        return rule_id
    if isinstance(rule, CombinationRule):
        label = rule.label_sv if t["lang_code"] == "sv" else rule.label_en
        return label[:1].upper() + label[1:]
    if isinstance(rule, IndexRule):
        return t["kind_index"].format(short=rule.short_days, baseline=rule.baseline_days)
    name = metric_label(rule.metric, t)
    if isinstance(rule, ChangeRule):
        return t[f"kind_change_{rule.direction}"].format(metric=name, days=rule.window_days)
    if isinstance(rule, (TrendRule, BaselineRule)):
        return t[f"kind_{rule.kind}_{rule.direction}"].format(metric=name)
    return t[f"kind_{rule.kind}"].format(metric=name)


def find(rule_set: RuleSet, rule_id: str) -> PlainRule | None:
    try:
        return rule_set.rule(rule_id)
    except KeyError:
        return None


def rule_metrics(rule_set: RuleSet, rule_id: str) -> frozenset[str]:
    """The metrics a rule watches (a combination: those of its parts); none if unknown."""
    rule = find(rule_set, rule_id)
    if rule is None:
        return frozenset()
    if isinstance(rule, CombinationRule):
        return frozenset().union(*(rule_metrics(rule_set, part) for part in rule.rules))
    if isinstance(rule, IndexRule):
        return frozenset(rule.metrics)
    return frozenset({rule.metric})


def _band(band: Band | None, severity: str, fmt: Formatter, t: Catalogue, u: str) -> list[str]:
    if band is None:
        return []
    parts = []
    if band.low is not None:
        parts.append(f"< {fmt.number(band.low, 1)}")
    if band.high is not None:
        parts.append(f"> {fmt.number(band.high, 1)}")
    text = f"{t['severity_' + severity]} {t['or'].join(parts)} {u}".rstrip()
    if band.consecutive > 1:
        text += " " + t["in_a_row"].format(n=band.consecutive)
    return [text]


def _amounts(
    yellow: float | None, red: float | None, fmt: Formatter, t: Catalogue, suffix: str
) -> list[str]:
    return [
        f"{t['severity_' + severity]} ≥ {fmt.number(amount, 1)} {suffix}".rstrip()
        for severity, amount in (("yellow", yellow), ("red", red))
        if amount is not None
    ]


def rule_summary(
    rule: PlainRule, fmt: Formatter, t: Catalogue, rule_set: RuleSet | None = None
) -> str:
    """The rule's levels in one line, e.g. "yellow < 95 % · red < 90 % (2 in a row)"; a
    combination's parts by their names (from ``rule_set``)."""
    parts: list[str]
    if isinstance(rule, ThresholdRule):
        u = unit(rule.metric, t)
        parts = _band(rule.yellow, "yellow", fmt, t, u) + _band(rule.red, "red", fmt, t, u)
    elif isinstance(rule, (ChangeRule, TrendRule)):
        parts = _amounts(rule.yellow, rule.red, fmt, t, unit(rule.metric, t))
    elif isinstance(rule, BaselineRule):
        parts = _amounts(rule.yellow_sd, rule.red_sd, fmt, t, t["sd"])
    elif isinstance(rule, SymptomRule):
        parts = _amounts(rule.yellow_score, rule.red_score, fmt, t, "")
        if rule.worsening_points is not None:
            parts.append(t["worse_by"].format(points=rule.worsening_points))
        if rule.follow_up:
            parts.append(t["unless_not_worse"])
    elif isinstance(rule, IndexRule):
        parts = _amounts(rule.yellow, rule.red, fmt, t, "")
        parts.append(t["index_recovery"].format(recovery=fmt.number(rule.recovery, 1)))
    elif isinstance(rule, MissingRule):
        if rule.after_hours is not None:
            parts = [t["missing_after"].format(hours=fmt.number(rule.after_hours, 0))]
        else:
            deadline = rule.by_local_time.strftime("%H:%M") if rule.by_local_time else ""
            parts = [t["missing_by"].format(time=deadline)]
    else:
        names = ", ".join(_part_names(rule, rule_set, t))
        parts = [t["all_of" if rule.mode == "all" else "any_of"].format(rules=names)]
    return " · ".join(parts)


def _part_names(rule: CombinationRule, rule_set: RuleSet | None, t: Catalogue) -> list[str]:
    found = (None if rule_set is None else find(rule_set, part) for part in rule.rules)
    return [
        rule_label(part, part_id, t) if part is not None else t["unknown_rule"]
        for part, part_id in zip(found, rule.rules, strict=True)
    ]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def rule_description(
    rule: PlainRule, fmt: Formatter, t: Catalogue, rule_set: RuleSet | None = None
) -> str:
    """What the rule does, in a sentence of the reader's language, e.g. "Compares the day's
    first weight with the lowest of the 3 days before; alerts on a rise." """
    if isinstance(rule, CombinationRule):
        return t["desc_combination"].format(
            mode=t["ev_mode_all" if rule.mode == "all" else "ev_mode_any"],
            hours=fmt.count("n_hours", round(rule.window_hours)),
            rules=", ".join(_part_names(rule, rule_set, t)),
        )
    if isinstance(rule, IndexRule):
        names = ", ".join(_lower(metric_label(m, t)) for m in rule.metrics)
        return t["desc_index"].format(metrics=names)
    metric = _lower(metric_label(rule.metric, t))
    if isinstance(rule, ThresholdRule):
        return t["desc_threshold"].format(metric=metric)
    if isinstance(rule, ChangeRule):
        days = fmt.count("the_n_days", rule.window_days)
        return t[f"desc_change_{rule.direction}"].format(metric=metric, days=days)
    if isinstance(rule, BaselineRule):
        days = fmt.count("the_n_days", rule.baseline_days)
        return t[f"desc_baseline_{rule.direction}"].format(metric=metric, days=days)
    if isinstance(rule, TrendRule):
        return t[f"desc_trend_{rule.direction}"].format(
            metric=metric,
            short=fmt.count("the_last_n_days", rule.short_days),
            long=fmt.count("the_last_n_days", rule.long_days),
        )
    if isinstance(rule, SymptomRule):
        text = t["desc_symptom"].format(metric=metric)
        if rule.worsening_points is not None:
            text += " " + t["desc_symptom_worse"]
        if rule.follow_up:
            text += " " + t["desc_symptom_follow_up"]
        return text
    if rule.after_hours is not None:
        hours = fmt.count("n_hours", round(rule.after_hours))
        return t["desc_missing_after"].format(metric=metric, hours=hours)
    deadline = rule.by_local_time.strftime("%H:%M") if rule.by_local_time else ""
    return t["desc_missing_by"].format(metric=metric, time=deadline)


def _band_limits(rule: ThresholdRule, band: Band | None, severity: str) -> Iterable[Limit]:
    if band is None:
        return
    if band.low is not None:
        yield Limit(rule.metric, band.low, severity, "low", rule.id)
    if band.high is not None:
        yield Limit(rule.metric, band.high, severity, "high", rule.id)


def rule_limits(rule: PlainRule) -> list[Limit]:
    """The lines a rule draws on its metric's chart: threshold bands and symptom scores."""
    if isinstance(rule, ThresholdRule):
        return [*_band_limits(rule, rule.yellow, "yellow"), *_band_limits(rule, rule.red, "red")]
    if isinstance(rule, SymptomRule):
        return [
            Limit(rule.metric, float(score), severity, "score", rule.id)
            for severity, score in (("yellow", rule.yellow_score), ("red", rule.red_score))
            if score is not None
        ]
    return []


def limits_for(rule_set: RuleSet, metrics: Iterable[str]) -> list[Limit]:
    """Every enabled rule's lines on these metrics, each (metric, value, severity) once."""
    wanted = set(metrics)
    seen: dict[tuple[str, float, str], Limit] = {}
    for rule in rule_set.enabled():
        for limit in rule_limits(rule):
            if limit.metric in wanted:
                seen.setdefault((limit.metric, limit.value, limit.severity), limit)
    return list(seen.values())
