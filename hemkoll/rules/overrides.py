"""Effective rule set of a patient: programme defaults, then centre and patient overrides.

A health centre may adjust the programme (its own defaults) and a clinician may adjust a
patient's rules. Both are ``OverrideLayer``s applied in order by rule id: a layer can patch a
rule's fields (nested bands merge key by key; ``null`` removes an optional level), enable or
disable it, or add a rule of its own. Every result is validated again, so an override cannot
produce an invalid rule, and an override naming a rule that does not exist is an error rather
than silently doing nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, JsonValue, TypeAdapter

from hemkoll.rules.config import FrozenModel, PlainRule, Rule, RuleId, RuleSet

_RULE: TypeAdapter[PlainRule] = TypeAdapter(Rule)
# Fields that identify a rule: an override addresses them, it cannot change them.
_IDENTITY = ("id", "kind")


class RuleOverride(FrozenModel):
    id: RuleId
    enabled: bool | None = None
    patch: dict[str, JsonValue] = Field(default_factory=dict)
    # Why the rule was changed (shown to staff with the rule).
    note: str | None = None


class OverrideLayer(FrozenModel):
    # Who made the changes, e.g. "centre:Södermalm" or "patient:1234 (Dr A)".
    source: str = Field(min_length=1)
    overrides: tuple[RuleOverride, ...] = ()
    add: tuple[Rule, ...] = ()


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_override(rule: PlainRule, override: RuleOverride) -> PlainRule:
    """The rule with one override applied, validated."""
    for field in _IDENTITY:
        if field in override.patch and override.patch[field] != getattr(rule, field):
            raise ValueError(f"override of {rule.id}: cannot change {field}")
    data = _deep_merge(rule.model_dump(mode="json"), override.patch)
    if override.enabled is not None:
        data["enabled"] = override.enabled
    if override.note is not None:
        data["note"] = override.note
    return _RULE.validate_python(data)


def effective_rules(programme: RuleSet, *layers: OverrideLayer) -> RuleSet:
    """Merge programme defaults with override layers (centre first, then patient)."""
    rules: dict[str, PlainRule] = {rule.id: rule for rule in programme.rules}
    names = [programme.name]
    for layer in layers:
        seen: set[str] = set()
        for override in layer.overrides:
            if override.id in seen:
                raise ValueError(f"{layer.source}: rule {override.id} overridden twice")
            seen.add(override.id)
            if override.id not in rules:
                raise ValueError(f"{layer.source}: no rule {override.id!r} to override")
            rules[override.id] = apply_override(rules[override.id], override)
        for rule in layer.add:
            if rule.id in rules:
                raise ValueError(f"{layer.source}: rule {rule.id} already exists; override it")
            rules[rule.id] = rule
        names.append(layer.source)
    return RuleSet(name=" + ".join(names), rules=tuple(rules.values()), advice=programme.advice)
