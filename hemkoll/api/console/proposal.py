"""A clinician's edit of one rule: from the tuning form to the patient's override layer. Pure.

The form shows the rule as the patient has it and the fields its kind has (threshold bands,
change and trend amounts, baseline deviations, symptom scores, hours before a missing
measurement counts). An edit becomes an override of the rule *beneath* the patient's layer
(the programme with the health centre's overrides): only what differs from it is patched, so
putting the values back removes the patient's override of that rule altogether. The other
rules of the patient's layer stay as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue

from hemkoll.rules.config import MissingRule, PlainRule
from hemkoll.rules.overrides import OverrideLayer, RuleOverride

BANDS = ("yellow", "red")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    path: tuple[str, ...]
    integer: bool = False

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
        FieldSpec("window_days", ("window_days",), integer=True),
        FieldSpec("yellow", ("yellow",)),
        FieldSpec("red", ("red",)),
    ),
    "trend": (FieldSpec("yellow", ("yellow",)), FieldSpec("red", ("red",))),
    "baseline": (FieldSpec("yellow_sd", ("yellow_sd",)), FieldSpec("red_sd", ("red_sd",))),
    "symptom": (
        FieldSpec("yellow_score", ("yellow_score",), integer=True),
        FieldSpec("red_score", ("red_score",), integer=True),
    ),
    "missing": (FieldSpec("after_hours", ("after_hours",)),),
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


class EditError(ValueError):
    """A field of the form that is not a number it could be."""


def _number(spec: FieldSpec, raw: str) -> float | int | None:
    text = raw.strip().replace(",", ".").replace("\u2212", "-")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise EditError(f"{spec.name}: {raw!r} is not a number") from exc
    if not math.isfinite(value):
        raise EditError(f"{spec.name}: {raw!r} is not a number")
    if spec.integer:
        if not value.is_integer():
            raise EditError(f"{spec.name}: a whole number is needed, not {raw!r}")
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
