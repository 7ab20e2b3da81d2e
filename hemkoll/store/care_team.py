"""The care team across care providers (migration 0020): what the access decision needs to
know of patients (``sharing``), the patients a unit's member of staff may be shown
(``unit_related``, ``unit_sharing``), and the records of care relationships, consents, blocks
and emergency accesses. The decision itself is hemkoll/access/decision.py (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.access.decision import Block, Consent, Emergency, PatientSharing, Relationship
from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class CareProvider:
    id: UUID
    name: str
    kind: str
    hsa_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class TeamMember:
    """One care unit's care relationship with the patient."""

    id: UUID
    unit_id: UUID
    unit_name: str
    unit_kind: str
    care_provider_id: UUID
    care_provider_name: str
    care_provider_kind: str
    started_at: datetime
    ended_at: datetime | None
    recorded_by: UUID | None


@dataclass(frozen=True)
class ConsentRecord:
    id: UUID
    care_provider_id: UUID
    scope: str
    recorded_by: UUID
    recorded_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class BlockRecord:
    id: UUID
    care_provider_id: UUID
    recorded_by: UUID
    recorded_at: datetime
    lifted_at: datetime | None


@dataclass(frozen=True)
class EmergencyAccess:
    id: UUID
    staff_id: UUID
    patient_id: UUID
    reason: str
    started_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None


@dataclass(frozen=True)
class _Home:
    patient_id: UUID
    home_unit_id: UUID
    home_provider_id: UUID


@dataclass(frozen=True)
class _Relationship:
    patient_id: UUID
    unit_id: UUID
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class _Consent:
    patient_id: UUID
    provider_id: UUID
    recorded_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class _Block:
    patient_id: UUID
    provider_id: UUID
    recorded_at: datetime
    lifted_at: datetime | None


@dataclass(frozen=True)
class _Emergency:
    patient_id: UUID
    staff_id: UUID
    started_at: datetime
    expires_at: datetime


def unit_provider(conn: Conn, unit_id: UUID) -> UUID | None:
    row = conn.execute(query("unit_provider"), {"unit_id": unit_id}).fetchone()
    return None if row is None else UUID(str(row[0]))


def sharing(
    conn: Conn, patient_ids: Sequence[UUID], *, staff_id: UUID
) -> dict[UUID, PatientSharing]:
    """The decision's facts for each patient that exists (``staff_id``: the asking member of
    staff, whose own emergency accesses are the ones that count)."""
    ids = list(dict.fromkeys(patient_ids))
    args = {"patient_ids": ids, "staff_id": staff_id}
    with conn.cursor(row_factory=class_row(_Home)) as cur:
        homes = cur.execute(query("sharing_homes"), args).fetchall()
    with conn.cursor(row_factory=class_row(_Relationship)) as cur:
        relationships = cur.execute(query("sharing_relationships"), args).fetchall()
    with conn.cursor(row_factory=class_row(_Consent)) as cur:
        consents = cur.execute(query("sharing_consents_of"), args).fetchall()
    with conn.cursor(row_factory=class_row(_Block)) as cur:
        blocks = cur.execute(query("sharing_blocks_of"), args).fetchall()
    with conn.cursor(row_factory=class_row(_Emergency)) as cur:
        emergencies = cur.execute(query("sharing_emergencies_of"), args).fetchall()
    rels: dict[UUID, list[Relationship]] = {}
    for r in relationships:
        rels.setdefault(r.patient_id, []).append(Relationship(r.unit_id, r.started_at, r.ended_at))
    cons: dict[UUID, list[Consent]] = {}
    for c in consents:
        cons.setdefault(c.patient_id, []).append(
            Consent(c.provider_id, c.recorded_at, c.withdrawn_at)
        )
    blks: dict[UUID, list[Block]] = {}
    for b in blocks:
        blks.setdefault(b.patient_id, []).append(Block(b.provider_id, b.recorded_at, b.lifted_at))
    ems: dict[UUID, list[Emergency]] = {}
    for e in emergencies:
        ems.setdefault(e.patient_id, []).append(Emergency(e.staff_id, e.started_at, e.expires_at))
    return {
        h.patient_id: PatientSharing(
            h.patient_id,
            h.home_unit_id,
            h.home_provider_id,
            tuple(rels.get(h.patient_id, ())),
            tuple(cons.get(h.patient_id, ())),
            tuple(blks.get(h.patient_id, ())),
            tuple(ems.get(h.patient_id, ())),
        )
        for h in homes
    }


def create_provider(conn: Conn, *, name: str, kind: str, hsa_id: str | None) -> CareProvider:
    with conn.cursor(row_factory=class_row(CareProvider)) as cur:
        row = cur.execute(
            query("insert_care_provider"), {"name": name, "kind": kind, "hsa_id": hsa_id}
        ).fetchone()
    if row is None:
        raise RuntimeError("insert_care_provider returned no row")
    return row


def list_providers(conn: Conn) -> list[CareProvider]:
    with conn.cursor(row_factory=class_row(CareProvider)) as cur:
        return cur.execute(query("list_care_providers")).fetchall()


def provider_by_id(conn: Conn, care_provider_id: UUID) -> CareProvider | None:
    with conn.cursor(row_factory=class_row(CareProvider)) as cur:
        return cur.execute(
            query("care_provider_by_id"), {"care_provider_id": care_provider_id}
        ).fetchone()


def start_relationship(
    conn: Conn, *, patient_id: UUID, unit_id: UUID, recorded_by: UUID, now: datetime
) -> bool:
    """The unit joins her care team; False if it already had an open relationship."""
    args = {"patient_id": patient_id, "unit_id": unit_id, "recorded_by": recorded_by, "now": now}
    return conn.execute(query("start_care_relationship"), args).fetchone() is not None


def end_relationship(conn: Conn, *, patient_id: UUID, unit_id: UUID, now: datetime) -> bool:
    args = {"patient_id": patient_id, "unit_id": unit_id, "now": now}
    return conn.execute(query("end_care_relationship"), args).fetchone() is not None


def team(conn: Conn, patient_id: UUID) -> list[TeamMember]:
    with conn.cursor(row_factory=class_row(TeamMember)) as cur:
        return cur.execute(query("care_team_of"), {"patient_id": patient_id}).fetchall()


def record_consent(
    conn: Conn,
    *,
    patient_id: UUID,
    care_provider_id: UUID,
    scope: str,
    recorded_by: UUID,
    now: datetime,
) -> bool:
    """False if a consent to that provider is already in force."""
    args = {
        "patient_id": patient_id,
        "care_provider_id": care_provider_id,
        "scope": scope,
        "recorded_by": recorded_by,
        "now": now,
    }
    return conn.execute(query("record_consent"), args).fetchone() is not None


def withdraw_consent(
    conn: Conn, *, patient_id: UUID, care_provider_id: UUID, now: datetime
) -> bool:
    args = {"patient_id": patient_id, "care_provider_id": care_provider_id, "now": now}
    return conn.execute(query("withdraw_consent"), args).fetchone() is not None


def consents(conn: Conn, patient_id: UUID) -> list[ConsentRecord]:
    with conn.cursor(row_factory=class_row(ConsentRecord)) as cur:
        return cur.execute(query("consents_of"), {"patient_id": patient_id}).fetchall()


def record_block(
    conn: Conn, *, patient_id: UUID, care_provider_id: UUID, recorded_by: UUID, now: datetime
) -> bool:
    """False if a block against that provider is already in force."""
    args = {
        "patient_id": patient_id,
        "care_provider_id": care_provider_id,
        "recorded_by": recorded_by,
        "now": now,
    }
    return conn.execute(query("record_block"), args).fetchone() is not None


def lift_block(conn: Conn, *, patient_id: UUID, care_provider_id: UUID, now: datetime) -> bool:
    args = {"patient_id": patient_id, "care_provider_id": care_provider_id, "now": now}
    return conn.execute(query("lift_block"), args).fetchone() is not None


def blocks(conn: Conn, patient_id: UUID) -> list[BlockRecord]:
    with conn.cursor(row_factory=class_row(BlockRecord)) as cur:
        return cur.execute(query("blocks_of"), {"patient_id": patient_id}).fetchall()


def start_emergency(
    conn: Conn,
    *,
    staff_id: UUID,
    patient_id: UUID,
    reason: str,
    now: datetime,
    expires_at: datetime,
) -> EmergencyAccess:
    args = {
        "staff_id": staff_id,
        "patient_id": patient_id,
        "reason": reason,
        "now": now,
        "expires_at": expires_at,
    }
    with conn.cursor(row_factory=class_row(EmergencyAccess)) as cur:
        row = cur.execute(query("start_emergency_access"), args).fetchone()
    if row is None:
        raise RuntimeError("start_emergency_access returned no row")
    return row


@dataclass(frozen=True)
class StaffIdentity:
    id: UUID
    name: str
    role: str
    unit_name: str | None
    care_provider_name: str | None


def staff_identities(conn: Conn, staff_ids: Sequence[UUID]) -> dict[UUID, StaffIdentity]:
    """Name, role, care unit and provider of each member of staff (an alert's history names
    who acted, whichever unit of the care team they are of)."""
    with conn.cursor(row_factory=class_row(StaffIdentity)) as cur:
        rows = cur.execute(
            query("staff_identities"), {"staff_ids": list(dict.fromkeys(staff_ids))}
        ).fetchall()
    return {r.id: r for r in rows}


@dataclass(frozen=True)
class Handover:
    """An acknowledgement (its note) or a comment on an escalated alert, and who made it."""

    alert_id: UUID
    at: datetime
    kind: str
    staff_name: str
    unit_name: str | None
    text: str


def handovers(conn: Conn, alert_ids: Sequence[UUID]) -> dict[UUID, list[Handover]]:
    """By alert: what the care team's staff said on those of ``alert_ids`` escalated."""
    found: dict[UUID, list[Handover]] = {}
    with conn.cursor(row_factory=class_row(Handover)) as cur:
        for h in cur.execute(query("handovers_of"), {"alert_ids": list(alert_ids)}):
            found.setdefault(h.alert_id, []).append(h)
    return found


@dataclass(frozen=True)
class _UnitRow:
    patient_id: UUID
    home_unit_id: UUID
    home_provider_id: UUID
    relationship_starts: list[datetime]
    relationship_ends: list[datetime | None]
    consent_recorded: list[datetime]
    consent_withdrawn: list[datetime | None]
    block_recorded: list[datetime]
    block_lifted: list[datetime | None]
    emergency_starts: list[datetime]
    emergency_expires: list[datetime]


def unit_related(conn: Conn, *, unit_id: UUID, provider_id: UUID, now: datetime) -> list[UUID]:
    """The patients of the unit's own care provider it has a care relationship with at
    ``now``: the access decision allows each to the unit's staff as ``care_relationship``
    whatever her other facts (tests/access/test_unit_visibility.py checks it against
    ``decide``), so a list need not load them."""
    row = conn.execute(
        query("unit_related_patients"),
        {"unit_id": unit_id, "provider_id": provider_id, "now": now},
        binary=True,
    ).fetchone()
    return [] if row is None else list(row[0])


def unit_sharing(
    conn: Conn, *, unit_id: UUID, provider_id: UUID | None, staff_id: UUID, now: datetime
) -> dict[UUID, PatientSharing]:
    """The facts of the other patients a unit's member of staff might see (her unit's care
    relationships in force with patients of another provider, her own emergency accesses in
    force; some of these may be among ``unit_related``'s too), in one statement, limited to
    what the decision consults for her: her unit's relationships, her provider's consents and
    blocks, her own emergency accesses. The decision for her is the same as on every fact of
    the patient; for anyone else these facts are not the patient's."""
    args = {"unit_id": unit_id, "provider_id": provider_id, "staff_id": staff_id, "now": now}
    with conn.cursor(row_factory=class_row(_UnitRow), binary=True) as cur:
        rows = cur.execute(query("unit_sharing"), args).fetchall()
    return {
        r.patient_id: PatientSharing(
            r.patient_id,
            r.home_unit_id,
            r.home_provider_id,
            tuple(
                Relationship(unit_id, s, e)
                for s, e in zip(r.relationship_starts, r.relationship_ends, strict=True)
            ),
            tuple(
                Consent(provider_id, s, e)
                for s, e in zip(r.consent_recorded, r.consent_withdrawn, strict=True)
                if provider_id is not None
            ),
            tuple(
                Block(provider_id, s, e)
                for s, e in zip(r.block_recorded, r.block_lifted, strict=True)
                if provider_id is not None
            ),
            tuple(
                Emergency(staff_id, s, e)
                for s, e in zip(r.emergency_starts, r.emergency_expires, strict=True)
            ),
        )
        for r in rows
    }
