"""Whom an ID token's claims sign in, pure: the member of staff, her care unit and purpose.

The claims are modelled on Inera's identity provider (HSA, SITHS): the person's HSA employee
id, and her assignments (medarbetaruppdrag), each naming a care unit by its HSA id and the
purpose of the assignment ("Vård och behandling" for care). The claim names are settings
(``HEMKOLL_OIDC_CLAIM_*``, docs/operations.md). The decision:

* no employee id, or no active member of staff with it: ``unknown_person``;
* no assignment at the member's own care unit (for a region's administrator: at any unit
  hemkoll knows): ``no_assignment``;
* assignments there, but none for an allowed purpose: ``purpose``.

Otherwise she is signed in under that assignment, with the role of her staff row (given by
the region's administrators after the needs and risk analysis) and the unit's scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

Refusal = Literal["unknown_person", "no_assignment", "purpose"]
CARE_PURPOSE = "Vård och behandling"


@dataclass(frozen=True)
class ClaimNames:
    """Where in the ID token each HSA attribute is."""

    employee_hsa_id: str = "employeeHsaId"
    assignments: str = "commissions"
    assignment_hsa_id: str = "commissionHsaId"
    unit_hsa_id: str = "healthCareUnitHsaId"
    purpose: str = "commissionPurpose"


@dataclass(frozen=True)
class Assignment:
    hsa_id: str | None
    unit_hsa_id: str
    purpose: str


@dataclass(frozen=True)
class Member:
    """The staff row the employee id found (the store's, as far as the decision needs it)."""

    id: UUID
    health_centre_id: UUID | None
    active: bool


@dataclass(frozen=True)
class Accepted:
    staff_id: UUID
    health_centre_id: UUID | None
    assignment: Assignment


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    staff_id: UUID | None
    detail: str


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def employee_hsa_id(claims: Mapping[str, object], names: ClaimNames) -> str | None:
    return _text(claims.get(names.employee_hsa_id))


def assignments(claims: Mapping[str, object], names: ClaimNames) -> list[Assignment]:
    """The assignments of the claims; one given as an object rather than a list counts too,
    and an entry without a unit is no assignment."""
    raw = claims.get(names.assignments)
    entries = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        unit = _text(entry.get(names.unit_hsa_id))
        if unit is None:
            continue
        purpose = _text(entry.get(names.purpose)) or ""
        found.append(Assignment(_text(entry.get(names.assignment_hsa_id)), unit, purpose))
    return found


def decide(
    claims: Mapping[str, object],
    names: ClaimNames,
    member: Member | None,
    units: Mapping[str, UUID],
    purposes: Sequence[str],
) -> Accepted | Refused:
    """``member``: the staff row of the claims' employee id (None if none); ``units``: the
    care units hemkoll knows among the assignments' unit HSA ids."""
    if employee_hsa_id(claims, names) is None:
        return Refused("unknown_person", None, "the ID token carries no HSA employee id")
    if member is None or not member.active:
        return Refused("unknown_person", None, "no active member of staff has that HSA id")
    at_unit = [
        a
        for a in assignments(claims, names)
        if a.unit_hsa_id in units
        and (member.health_centre_id is None or units[a.unit_hsa_id] == member.health_centre_id)
    ]
    if not at_unit:
        return Refused("no_assignment", member.id, "no assignment at the member's care unit")
    for assignment in at_unit:
        if assignment.purpose in purposes:
            return Accepted(member.id, member.health_centre_id, assignment)
    given = ", ".join(sorted({a.purpose or "(none)" for a in at_unit}))
    return Refused("purpose", member.id, f"the assignment's purpose is not care: {given}")
