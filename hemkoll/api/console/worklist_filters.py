"""The worklist's filters and its grouping by patient.

Filters come as query parameters of a GET form (``assigned``: me / nobody, ``severity``: red /
yellow, ``rule``: ``kind:<kind>`` or ``rule:<id>``), so they work without JavaScript, go into
the list's periodic refresh, and can be bookmarked. The rule filter offers the rules and kinds
of the centre's unresolved alerts, by their plain names (two rules of the same name told apart
by their levels), never by id. The cards are grouped under their patient, the groups in the
order of their first card (the list's order: red first, then oldest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from hemkoll.api.console.i18n import Formatter
from hemkoll.api.console.rules_view import find, rule_label, rule_summary
from hemkoll.api.problems import invalid
from hemkoll.rules.config import RuleSet
from hemkoll.store.alerts import WorklistAlert
from hemkoll.store.worklist_filters import RuleCount

ASSIGNED = ("me", "nobody")
SEVERITIES = ("red", "yellow")
# Rule kinds in the order the filter offers them: reminders first, the most asked for.
KINDS = (
    "missing",
    "threshold",
    "change",
    "baseline",
    "trend",
    "index",
    "symptom",
    "combination",
)
# The rule kind of missing-measurement reminders (hemkoll.rules.config.MissingRule).
REMINDER_KIND = "missing"
_MAX_RULE_ID = 100


@dataclass(frozen=True)
class Filters:
    assigned: str = ""
    severity: str = ""
    rule: str = ""

    @property
    def active(self) -> bool:
        return bool(self.assigned or self.severity or self.rule)

    def pairs(self) -> list[tuple[str, str]]:
        """The filters set, as query or form fields."""
        named = (("assigned", self.assigned), ("severity", self.severity), ("rule", self.rule))
        return [(name, value) for name, value in named if value]

    @property
    def query(self) -> str:
        return urlencode(self.pairs())

    def worklist_args(self, me: UUID) -> dict[str, Any]:
        """The keyword arguments of ``alerts.worklist`` (and ``worklist_filters.matching``)."""
        kind, _, value = self.rule.partition(":")
        return {
            "severity": self.severity or None,
            "assigned_to": me if self.assigned == "me" else None,
            "unassigned": self.assigned == "nobody",
            "rule_id": value if kind == "rule" else None,
            "rule_kind": value if kind == "kind" else None,
        }


def filters_from(values: Mapping[str, str]) -> Filters:
    """The filters of a query or form (missing or empty: not filtered); 422 for a value no
    form of the console sends."""
    assigned = values.get("assigned", "")
    severity = values.get("severity", "")
    rule = values.get("rule", "")
    if assigned and assigned not in ASSIGNED:
        raise invalid("assigned: me or nobody")
    if severity and severity not in SEVERITIES:
        raise invalid("severity: red or yellow")
    if rule:
        kind, _, value = rule.partition(":")
        ok = (kind == "kind" and value in KINDS) or (
            kind == "rule" and 0 < len(value) <= _MAX_RULE_ID
        )
        if not ok:
            raise invalid("rule: kind:<kind> or rule:<rule id>")
    return Filters(assigned, severity, rule)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


def rule_choices(
    counts: Sequence[RuleCount],
    programme: RuleSet,
    chosen: Filters,
    t: Mapping[str, str],
    fmt: Formatter,
) -> tuple[list[Choice], list[Choice]]:
    """The rule filter's kinds and rules (those of the centre's unresolved alerts, and the
    one chosen), each with its count of alerts."""
    per_kind: dict[str, int] = {}
    per_rule: dict[str, int] = {}
    for c in counts:
        per_kind[c.rule_kind] = per_kind.get(c.rule_kind, 0) + c.alerts
        per_rule[c.rule_id] = per_rule.get(c.rule_id, 0) + c.alerts
    kind, _, value = chosen.rule.partition(":")
    if kind == "kind":
        per_kind.setdefault(value, 0)
    elif kind == "rule":
        per_rule.setdefault(value, 0)
    kinds = [
        Choice(f"kind:{k}", f"{t['filter_kind_' + k]} ({per_kind[k]})", chosen.rule == f"kind:{k}")
        for k in KINDS
        if k in per_kind
    ]
    labels = {rule_id: _rule_name(programme, rule_id, t) for rule_id in per_rule}
    repeated = {name for name in labels.values() if list(labels.values()).count(name) > 1}
    rules = []
    for rule_id, name in labels.items():
        rule = find(programme, rule_id)
        full = name
        if name in repeated and rule is not None:
            full = f"{name}, {rule_summary(rule, fmt, t, programme)}"
        label = f"{full} ({per_rule[rule_id]})"
        rules.append(Choice(f"rule:{rule_id}", label, chosen.rule == f"rule:{rule_id}"))
    rules.sort(key=lambda c: c.label)
    return kinds, rules


def _rule_name(programme: RuleSet, rule_id: str, t: Mapping[str, str]) -> str:
    rule = find(programme, rule_id)
    if rule is None:
        unknown = t["unknown_rule"]
        return unknown[:1].upper() + unknown[1:]
    return rule_label(rule, rule_id, t)


@dataclass
class PatientGroup:
    patient_id: UUID
    reference: str
    alerts: list[WorklistAlert] = field(default_factory=list)

    @property
    def reminders(self) -> list[WorklistAlert]:
        """Her open missing-measurement reminders (acknowledged together)."""
        return [a for a in self.alerts if a.rule_kind == REMINDER_KIND and a.state == "open"]


def by_patient(shown: Iterable[WorklistAlert]) -> list[PatientGroup]:
    """The alerts under their patients: each group in the order of its first alert, its
    alerts in the list's order (most severe, then oldest, first)."""
    groups: dict[UUID, PatientGroup] = {}
    for a in shown:
        groups.setdefault(a.patient_id, PatientGroup(a.patient_id, a.patient_reference))
        groups[a.patient_id].alerts.append(a)
    return list(groups.values())
