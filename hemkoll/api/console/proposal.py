"""A clinician's edit of one rule: from the tuning form to the patient's override layer. Pure.

The form shows the rule as the patient has it and the fields its kind has (threshold bands,
change and trend amounts, baseline deviations, symptom scores, hours before a missing
measurement counts). An edit becomes an override of the rule *beneath* the patient's layer
(the programme with the health centre's overrides): only what differs from it is patched, so
putting the values back removes the patient's override of that rule altogether. The other
rules of the patient's layer stay as they are.

``check`` says everything wrong with a form before it becomes an override, each beside its
field: a value that is not a number, or outside what the field may be (``bounds_for``: the
metric's plausible range for a threshold's limits, the rule model's own constraints for the
rest, the same bounds the model validates with), and then whatever the rule model refuses of the
edited rule (a red limit inside the yellow band, a low limit above the high one, no level left),
read from its error codes (hemkoll.rules.config) rather than its English text.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue, ValidationError

from hemkoll.api.console.form_errors import FORM, FieldError
from hemkoll.rules.config import (
    Bounds,
    MissingRule,
    PlainRule,
    ThresholdRule,
    field_bounds,
    limit_bounds,
)
from hemkoll.rules.overrides import OverrideLayer, RuleOverride, apply_override

log = logging.getLogger(__name__)

BANDS = ("yellow", "red")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    path: tuple[str, ...]
    integer: bool = False
    # Whether the value is in the metric's unit (limits, amounts) or a count of its own
    # (days, hours, standard deviations, a score).
    in_metric_unit: bool = True

    @property
    def step(self) -> str:
        return "1" if self.integer else "any"


def _band_fields() -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(f"{band}_{side}", (band, side)) for band in BANDS for side in ("low", "high")
    )


FIELDS: Mapping[str, tuple[FieldSpec, ...]] = {
    "threshold": _band_fields(),
    "change": (
        FieldSpec("window_days", ("window_days",), integer=True, in_metric_unit=False),
        FieldSpec("yellow", ("yellow",)),
        FieldSpec("red", ("red",)),
    ),
    "trend": (FieldSpec("yellow", ("yellow",)), FieldSpec("red", ("red",))),
    "baseline": (
        FieldSpec("yellow_sd", ("yellow_sd",), in_metric_unit=False),
        FieldSpec("red_sd", ("red_sd",), in_metric_unit=False),
    ),
    "symptom": (
        FieldSpec("yellow_score", ("yellow_score",), integer=True, in_metric_unit=False),
        FieldSpec("red_score", ("red_score",), integer=True, in_metric_unit=False),
    ),
    "missing": (FieldSpec("after_hours", ("after_hours",), in_metric_unit=False),),
    # The deterioration index's levels (scores): it opens at ``yellow``, closes below recovery.
    "index": (
        FieldSpec("opening", ("yellow",), in_metric_unit=False),
        FieldSpec("recovery", ("recovery",), in_metric_unit=False),
    ),
}


def fields_for(rule: PlainRule) -> tuple[FieldSpec, ...]:
    if isinstance(rule, MissingRule) and rule.after_hours is None:
        return ()  # a deadline rule: on or off only
    return FIELDS.get(rule.kind, ())


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def form_values(rule: PlainRule) -> dict[str, str]:
    """The form's fields for a rule as it is (numbers with a decimal point, as inputs want)."""
    data = rule.model_dump(mode="json")
    values = {spec.name: _text(_get(data, spec.path)) for spec in fields_for(rule)}
    values["enabled"] = "on" if rule.enabled else ""
    return values


def bounds_for(rule: PlainRule, spec: FieldSpec) -> Bounds:
    """What a field of the rule's form may be: the bounds the rule model validates it with."""
    if isinstance(rule, ThresholdRule):
        return limit_bounds(rule.metric)
    return field_bounds(type(rule), spec.path[0])


class EditError(ValueError):
    """A field of the form that is not a number it could be."""

    def __init__(self, error: FieldError, detail: str) -> None:
        super().__init__(f"{error.field}: {detail}")
        self.error = error


def _number(spec: FieldSpec, raw: str) -> float | int | None:
    text = raw.strip().replace(",", ".").replace("\u2212", "-")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        error = FieldError(spec.name, "not_a_number", integer=spec.integer)
        raise EditError(error, f"{raw!r} is not a number")
    if spec.integer:
        if not value.is_integer():
            error = FieldError(spec.name, "whole_number", integer=True)
            raise EditError(error, f"a whole number is needed, not {raw!r}")
        return int(value)
    return value


def edit(base: PlainRule, form: Mapping[str, str]) -> RuleOverride | None:
    """The override that makes ``base`` what the form says; None if the form changes nothing."""
    data = base.model_dump(mode="json")
    patch: dict[str, JsonValue] = {}
    bands: dict[str, dict[str, float | int | None]] = {}
    for spec in fields_for(base):
        value = _number(spec, form.get(spec.name, ""))
        if len(spec.path) == 2:
            bands.setdefault(spec.path[0], {})[spec.path[1]] = value
        elif value != data.get(spec.path[0]):
            patch[spec.path[0]] = value
    for band, limits in bands.items():
        current = data.get(band)
        if limits.get("low") is None and limits.get("high") is None:
            if current is not None:
                patch[band] = None
        elif current is None:
            other = next((data[b] for b in BANDS if b != band and data.get(b)), None)
            consecutive = other["consecutive"] if other else 1
            patch[band] = {**limits, "consecutive": consecutive}
        else:
            changed = {k: v for k, v in limits.items() if v != current.get(k)}
            if changed:
                patch[band] = dict(changed)
    enabled = form.get("enabled") == "on"
    if not patch and enabled == base.enabled:
        return None
    return RuleOverride(
        id=base.id, enabled=None if enabled == base.enabled else enabled, patch=patch
    )


def check(base: PlainRule, form: Mapping[str, str]) -> list[FieldError]:
    """Everything wrong with the form as an edit of ``base``; empty if it can be proposed."""
    errors = []
    values: dict[str, float | int | None] = {}
    for spec in fields_for(base):
        bounds = bounds_for(base, spec)
        try:
            value = values[spec.name] = _number(spec, form.get(spec.name, ""))
        except EditError as exc:
            code = exc.error.code
            errors.append(FieldError(spec.name, code, bounds=bounds, integer=spec.integer))
            continue
        if value is not None and not bounds.admits(value):
            errors.append(FieldError(spec.name, "range", bounds=bounds, integer=spec.integer))
    if errors:
        return errors
    override = edit(base, form)
    if override is None:
        return []
    try:
        apply_override(base, override)
    except ValidationError as exc:
        return refused(base, exc, values)
    return []


# What the rule model refuses across two fields, by its error code (hemkoll.rules.config): the
# field the model names, the other one, and the code of the message beside the other one.
# A message quotes the other field's value ("... the yellow lower limit (50 /min)").
_ACROSS_FIELDS: Mapping[str, tuple[str, str, str]] = {
    "band_order": ("high", "low", "band_order_low"),
    "red_low_above_yellow": ("red", "yellow", "yellow_low_below_red"),
    "red_high_below_yellow": ("red", "yellow", "yellow_high_above_red"),
    "red_below_yellow": ("red", "yellow", "yellow_above_red"),
    "recovery_above_yellow": ("recovery", "yellow", "opening_below_recovery"),
}
# The name each message gives the figure it quotes.
_ACROSS_FIELDS_QUOTES: Mapping[str, str] = {
    "band_order": "low",
    "band_order_low": "high",
    "red_low_above_yellow": "yellow",
    "red_high_below_yellow": "yellow",
    "red_below_yellow": "yellow",
    "yellow_low_below_red": "red",
    "yellow_high_above_red": "red",
    "yellow_above_red": "red",
    "recovery_above_yellow": "opening",
    "opening_below_recovery": "recovery",
}


# Refusals of one field's value: the message states the field's bounds. An empty field the rule
# needs comes back as a value of the wrong type (None) or as a missing deadline.
_OUT_OF_BOUNDS = frozenset(
    {"limit_implausible", "greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)
_EMPTY = frozenset({"int_type", "float_type", "needs_deadline", "missing"})


def _path(error: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    """The rule field an error is about: its location below the rule, then its context's."""
    loc = tuple(str(part) for part in error["loc"])
    if loc[:1] == (kind,):  # the tag of the union of rule kinds
        loc = loc[1:]
    named = (error.get("ctx") or {}).get("field")
    return loc + (tuple(str(named).split(".")) if named else ())


def _other(path: tuple[str, ...], named: str, other: str) -> tuple[str, ...]:
    """The other field of a pair: "red.low" -> "yellow.low", "yellow.high" -> "yellow.low",
    "red_sd" -> "yellow_sd"."""
    if path[-1] == named:
        return (*path[:-1], other)
    return (path[0].replace(named, other, 1), *path[1:])


def _across(
    base: PlainRule,
    code: str,
    named: FieldSpec,
    other: FieldSpec,
    values: Mapping[str, float | int | None],
) -> FieldError:
    """A pair of fields at odds, beside the one of them the clinician changed (the field the
    model names, if they changed both or neither), quoting the other one's value."""
    rule = base.model_dump(mode="json")

    def changed(spec: FieldSpec) -> bool:
        return bool(values.get(spec.name) != _get(rule, spec.path))

    if changed(other) and not changed(named):
        named, other, code = other, named, _ACROSS_FIELDS[code][2]
    figure = values.get(other.name)
    quoted: dict[str, float | int | str] = {}
    if figure is not None:
        quoted[_ACROSS_FIELDS_QUOTES[code]] = float(figure)
    return FieldError(named.name, code, values=quoted)


def refused(
    base: PlainRule, exc: ValidationError, values: Mapping[str, float | int | None]
) -> list[FieldError]:
    """The rule model's refusal of an edit of ``base`` (the form's numbers ``values``), as
    errors beside the form's fields.

    A refusal no field of the form explains is one error about the whole form (``unexpected``),
    logged by its codes and fields only: the values could be a patient's.
    """
    specs = {spec.path: spec for spec in fields_for(base)}
    errors: list[FieldError] = []
    unexplained: list[str] = []
    for error in exc.errors():
        code, path = error["type"], _path(error, base.kind)
        spec = specs.get(path)
        pair = _ACROSS_FIELDS.get(code)
        other = specs.get(_other(path, pair[0], pair[1])) if pair and path else None
        if code == "needs_level":
            errors.append(FieldError(FORM, "needs_level"))
        elif spec is not None and other is not None:
            errors.append(_across(base, code, spec, other, values))
        elif spec is not None and code in _OUT_OF_BOUNDS | _EMPTY:
            kind = "range" if code in _OUT_OF_BOUNDS else "required"
            bounds = bounds_for(base, spec)
            errors.append(FieldError(spec.name, kind, bounds=bounds, integer=spec.integer))
        else:
            unexplained.append(f"{code} at {'.'.join(path) or 'the rule'}")
    if unexplained:
        log.warning(
            "a %s rule's edit was refused for a reason the form cannot show: %s",
            base.kind,
            ", ".join(unexplained),
        )
        errors.append(FieldError(FORM, "unexpected"))
    return errors


def unexpected(what: str, exc: Exception) -> FieldError:
    """An edit the form's checks let through and something later refused: logged, then one
    error about the whole form. Only the error's class and codes are logged, never its text."""
    cause = exc.__cause__ if isinstance(exc.__cause__, ValidationError) else None
    codes = _codes(cause.errors()) if cause is not None else ""
    log.warning("%s refused an edit the form allowed: %s %s", what, type(exc).__name__, codes)
    return FieldError(FORM, "unexpected")


def _codes(errors: Iterable[Mapping[str, Any]]) -> str:
    return ", ".join(sorted({str(error["type"]) for error in errors}))


def layer_with(
    current: OverrideLayer | None,
    rule_id: str,
    override: RuleOverride | None,
    *,
    source: str,
    note: str | None = None,
) -> OverrideLayer:
    """The patient's layer with ``rule_id``'s override replaced (None: removed)."""
    kept = tuple(o for o in (current.overrides if current else ()) if o.id != rule_id)
    if override is not None:
        kept += (override.model_copy(update={"note": note}) if note else override,)
    return OverrideLayer(source=source, overrides=kept, add=current.add if current else ())


def proposal_fields(rule: PlainRule, form: Mapping[str, str]) -> dict[str, str]:
    """The fields of a previewed proposal, carried as hidden inputs to the save form."""
    names = [spec.name for spec in fields_for(rule)]
    carried = {name: form.get(name, "") for name in names}
    carried["enabled"] = "on" if form.get("enabled") == "on" else ""
    carried["rule"] = rule.id
    return carried
