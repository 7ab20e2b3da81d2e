"""The access decision: may this member of staff see this patient's data now, and on what basis.

Pure: it is given the caller (role, care unit, care provider), the patient's sharing facts
(her own care unit and provider, the care relationships of her care team, her consents, her
blocks, the emergency accesses to her data) and the time, and answers ``Decision``. The API
loads the facts (hemkoll/store/care_team.py), asks, and answers a refusal as 404, exactly as
for a patient who does not exist; every decision goes into the audit log with its basis.

The rules, in the order they are applied (docs/access.md says why):

1. A region administrator (role admin, no care unit) administers every unit: ``administration``.
2. A caller of another care provider than the patient's own (the one that documents her
   monitoring) whom she has blocked (spärr) sees nothing: ``blocked``, whatever her consent
   and even in an emergency; only lifting the block opens it.
3. A caller whose care unit has a care relationship with her at ``now``:
   - of her own care provider: ``care_relationship``;
   - of another provider: only with her consent to that provider, not withdrawn: ``consent``.
4. Otherwise the caller's own emergency access to her, unexpired: ``emergency``.
5. Otherwise refused: ``no_consent`` (a relationship but no consent) or
   ``no_care_relationship``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

Basis = Literal["care_relationship", "consent", "emergency", "administration"]
Refusal = Literal["no_care_relationship", "no_consent", "blocked"]


@dataclass(frozen=True)
class Viewer:
    """The member of staff asking: role, care unit (None: a region administrator) and the
    unit's care provider."""

    staff_id: UUID
    role: str
    unit_id: UUID | None
    provider_id: UUID | None


@dataclass(frozen=True)
class Relationship:
    """A care unit's care relationship with the patient, from ``started_at`` until
    ``ended_at`` (None: open)."""

    unit_id: UUID
    started_at: datetime
    ended_at: datetime | None

    def holds_at(self, now: datetime) -> bool:
        return self.started_at <= now and (self.ended_at is None or now < self.ended_at)


@dataclass(frozen=True)
class Consent:
    """Her consent that ``provider_id``'s units see her data, until withdrawn."""

    provider_id: UUID
    recorded_at: datetime
    withdrawn_at: datetime | None

    def holds_at(self, now: datetime) -> bool:
        return self.recorded_at <= now and (self.withdrawn_at is None or now < self.withdrawn_at)


@dataclass(frozen=True)
class Block:
    """Her block (spärr) against ``provider_id``, until lifted."""

    provider_id: UUID
    recorded_at: datetime
    lifted_at: datetime | None

    def holds_at(self, now: datetime) -> bool:
        return self.recorded_at <= now and (self.lifted_at is None or now < self.lifted_at)


@dataclass(frozen=True)
class Emergency:
    """One member of staff's emergency access to her, from ``started_at`` until ``expires_at``."""

    staff_id: UUID
    started_at: datetime
    expires_at: datetime

    def holds_at(self, now: datetime) -> bool:
        return self.started_at <= now < self.expires_at


@dataclass(frozen=True)
class PatientSharing:
    """What the decision needs to know of one patient."""

    patient_id: UUID
    # Her own care unit (the health centre that enrolled her) and its care provider: the one
    # that documents her monitoring.
    home_unit_id: UUID
    home_provider_id: UUID
    relationships: Sequence[Relationship] = ()
    consents: Sequence[Consent] = ()
    blocks: Sequence[Block] = ()
    emergencies: Sequence[Emergency] = ()


@dataclass(frozen=True)
class Decision:
    """Allowed with a basis, or refused with the reason; ``audit_basis`` is what the audit
    log's access_basis column records either way."""

    basis: Basis | None = None
    refusal: Refusal | None = None

    def __post_init__(self) -> None:
        if (self.basis is None) == (self.refusal is None):
            raise ValueError("a decision is either allowed with a basis or refused with a reason")

    @property
    def allowed(self) -> bool:
        return self.basis is not None

    @property
    def audit_basis(self) -> str:
        return self.basis or self.refusal or ""


ADMINISTRATION = Decision(basis="administration")


def decide(viewer: Viewer, patient: PatientSharing, now: datetime) -> Decision:
    """May ``viewer`` see ``patient``'s data at ``now`` (an aware time)? See the module's doc."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware time")
    if viewer.unit_id is None:
        if viewer.role == "admin":
            return ADMINISTRATION
        return Decision(refusal="no_care_relationship")
    other_provider = viewer.provider_id != patient.home_provider_id
    if other_provider and any(
        b.provider_id == viewer.provider_id and b.holds_at(now) for b in patient.blocks
    ):
        return Decision(refusal="blocked")
    related = any(r.unit_id == viewer.unit_id and r.holds_at(now) for r in patient.relationships)
    if related and not other_provider:
        return Decision(basis="care_relationship")
    if related and any(
        c.provider_id == viewer.provider_id and c.holds_at(now) for c in patient.consents
    ):
        return Decision(basis="consent")
    if any(e.staff_id == viewer.staff_id and e.holds_at(now) for e in patient.emergencies):
        return Decision(basis="emergency")
    return Decision(refusal="no_consent" if related else "no_care_relationship")
