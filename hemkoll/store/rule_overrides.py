"""Versioned rule overrides of health centres and patients (the rows; validation is the rules')."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from hemkoll.store import evaluation_queue
from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


@dataclass(frozen=True)
class OverridesVersion:
    scope: Literal["health_centre", "patient"]
    id: int
    version: int
    layer: dict[str, Any]
    changed_by: str
    reason: str
    changed_at: datetime


@dataclass(frozen=True)
class OverridesChange:
    """One version of a patient's layer with the layer it replaced (None for the first)."""

    version: int
    changed_at: datetime
    changed_by: str
    reason: str
    layer: dict[str, Any]
    previous_layer: dict[str, Any] | None


@dataclass(frozen=True)
class PatientScope:
    id: UUID
    health_centre_id: UUID


def lock_patient(conn: Conn, patient_id: UUID) -> PatientScope | None:
    """Serialise changes to one patient's overrides (the caller's transaction)."""
    with conn.cursor(row_factory=class_row(PatientScope)) as cur:
        return cur.execute(query("lock_patient_overrides"), {"patient_id": patient_id}).fetchone()


def insert_patient_overrides(
    conn: Conn, patient_id: UUID, layer: dict[str, Any], *, changed_by: str, reason: str
) -> int:
    row = conn.execute(
        query("insert_patient_overrides"),
        {
            "patient_id": patient_id,
            "layer": Jsonb(layer),
            "changed_by": changed_by,
            "reason": reason,
        },
    ).fetchone()
    if row is None:
        raise RuntimeError("insert_patient_overrides returned no row")
    evaluation_queue.reevaluate(conn, [patient_id])  # her rules changed: so may her deadline
    return int(row[1])


def current_overrides(conn: Conn, patient_id: UUID) -> list[OverridesVersion]:
    """The centre's newest layer, then the patient's newest layer (either may be missing)."""
    return current_overrides_of(conn, [patient_id]).get(patient_id, [])


@dataclass(frozen=True)
class _PatientOverridesVersion:
    patient_id: UUID
    scope: Literal["health_centre", "patient"]
    id: int
    version: int
    layer: dict[str, Any]
    changed_by: str
    reason: str
    changed_at: datetime


def current_overrides_of(
    conn: Conn, patient_ids: Sequence[UUID]
) -> dict[UUID, list[OverridesVersion]]:
    """``current_overrides`` of a batch of patients (centre layer first, then the patient's)."""
    by_patient: dict[UUID, list[OverridesVersion]] = {}
    with conn.cursor(row_factory=class_row(_PatientOverridesVersion)) as cur:
        rows = cur.execute(
            query("current_overrides_of_patients"), {"patient_ids": list(patient_ids)}
        ).fetchall()
    for r in rows:
        by_patient.setdefault(r.patient_id, []).append(
            OverridesVersion(
                r.scope, r.id, r.version, r.layer, r.changed_by, r.reason, r.changed_at
            )
        )
    return by_patient


def history(conn: Conn, patient_id: UUID) -> list[OverridesChange]:
    with conn.cursor(row_factory=class_row(OverridesChange)) as cur:
        return cur.execute(
            query("overrides_history_of_patient"), {"patient_id": patient_id}
        ).fetchall()


def lock_centre(conn: Conn, health_centre_id: UUID) -> bool:
    """Serialise changes to one health centre's overrides (the caller's transaction)."""
    row = conn.execute(
        query("lock_centre_overrides"), {"health_centre_id": health_centre_id}
    ).fetchone()
    return row is not None


def insert_centre_overrides(
    conn: Conn, health_centre_id: UUID, layer: dict[str, Any], *, changed_by: str, reason: str
) -> int:
    row = conn.execute(
        query("insert_centre_overrides"),
        {
            "health_centre_id": health_centre_id,
            "layer": Jsonb(layer),
            "changed_by": changed_by,
            "reason": reason,
        },
    ).fetchone()
    if row is None:
        raise RuntimeError("insert_centre_overrides returned no row")
    evaluation_queue.reevaluate_centre(conn, health_centre_id)
    return int(row[1])
