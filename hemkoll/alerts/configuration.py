"""A patient's effective rules from the stored, versioned overrides, and changing them.

The programme (hemkoll's preset) comes first, then the health centre's newest override layer,
then the patient's. A change is validated against everything beneath it before it is stored,
so a stored layer always makes a valid rule set; it is stored as a new version with who and
why, and the version it replaced stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from pydantic import ValidationError

from hemkoll.rules.config import RuleSet
from hemkoll.rules.overrides import OverrideLayer, effective_rules
from hemkoll.store import rule_overrides
from hemkoll.store.connect import Conn
from hemkoll.store.rule_overrides import OverridesVersion


class RuleConfigError(ValueError):
    """A rule change that cannot be made, with the reason."""


def effective_for(programme: RuleSet, versions: Sequence[OverridesVersion]) -> RuleSet:
    """The rule set the layers (centre first, then patient) make of the programme.

    Its name says which versions it is made of; alerts record it.
    """
    layers = [OverrideLayer.model_validate(version.layer) for version in versions]
    combined = effective_rules(programme, *layers)
    name = programme.name + "".join(
        f"; {version.scope.replace('_', ' ')} overrides v{version.version}" for version in versions
    )
    return RuleSet(name=name, rules=combined.rules, advice=combined.advice)


def _validated(programme: RuleSet, beneath: Sequence[OverrideLayer], layer: OverrideLayer) -> None:
    try:
        effective_rules(programme, *beneath, layer)
    except (ValueError, ValidationError) as exc:
        raise RuleConfigError(str(exc)) from exc


def change_patient_overrides(
    conn: Conn,
    programme: RuleSet,
    patient_id: UUID,
    layer: OverrideLayer,
    *,
    changed_by: str,
    reason: str,
) -> int:
    """Store a new version of the patient's overrides; returns its version number."""
    if not reason.strip():
        raise RuleConfigError("a change of a patient's rules needs a reason")
    with conn.transaction():
        if rule_overrides.lock_patient(conn, patient_id) is None:
            raise RuleConfigError(f"no patient {patient_id}")
        centre = [
            OverrideLayer.model_validate(version.layer)
            for version in rule_overrides.current_overrides(conn, patient_id)
            if version.scope == "health_centre"
        ]
        _validated(programme, centre, layer)
        return rule_overrides.insert_patient_overrides(
            conn,
            patient_id,
            layer.model_dump(mode="json"),
            changed_by=changed_by,
            reason=reason,
        )


def change_centre_overrides(
    conn: Conn,
    programme: RuleSet,
    health_centre_id: UUID,
    layer: OverrideLayer,
    *,
    changed_by: str,
    reason: str,
) -> int:
    """Store a new version of the health centre's programme overrides; returns its version."""
    if not reason.strip():
        raise RuleConfigError("a change of a health centre's rules needs a reason")
    with conn.transaction():
        if not rule_overrides.lock_centre(conn, health_centre_id):
            raise RuleConfigError(f"no health centre {health_centre_id}")
        _validated(programme, [], layer)
        return rule_overrides.insert_centre_overrides(
            conn,
            health_centre_id,
            layer.model_dump(mode="json"),
            changed_by=changed_by,
            reason=reason,
        )
