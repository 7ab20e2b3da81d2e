"""A grid of sharing states (care relationship, consent, block, a sister centre's relationship)
between a health centre's patients and the other units of a region and a municipality: the
tests that check a SQL shortcut of the access decision against ``decide`` build it here."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hemkoll.store import care_team, health_centres, patients
from hemkoll.store.connect import Conn
from hemkoll.store.health_centres import CentreSettings

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=3)
ENDED = NOW - timedelta(hours=1)
AFTER = timedelta(minutes=30)

# Each patient's sharing with the municipality's home care (H), and with another health centre
# of her own region (B): every combination, each on a patient of her own.
RELATIONSHIP = ("none", "open", "ended")
CONSENT = ("none", "in_force", "withdrawn")
BLOCK = ("none", "in_force", "lifted")
SAME_PROVIDER = ("none", "open")
STATES = list(itertools.product(RELATIONSHIP, CONSENT, BLOCK, SAME_PROVIDER))


def units(conn: Conn) -> tuple[UUID, UUID, UUID, UUID, UUID]:
    """(home centre, its provider, a sister centre, home care, the municipality)."""
    home = health_centres.create_centre(
        conn, "VC Tuna", CentreSettings(escalate_after_minutes=int(AFTER.total_seconds() // 60))
    )
    sister = health_centres.create_centre(conn, "VC Norr", CentreSettings())
    municipality = care_team.create_provider(
        conn, name="Tuna kommun", kind="municipality", hsa_id=None
    )
    home_care = health_centres.create_centre(
        conn,
        "Hemsjukvården Tuna",
        CentreSettings(),
        care_provider_id=municipality.id,
        unit_kind="home_care",
    )
    region = care_team.unit_provider(conn, home.id)
    assert region is not None
    return home.id, region, sister.id, home_care.id, municipality.id


def share(
    conn: Conn,
    patient_id: UUID,
    state: tuple[str, str, str, str],
    *,
    home_care: UUID,
    municipality: UUID,
    sister: UUID,
    by: UUID,
) -> None:
    relationship, consent, block, same_provider = state
    who = {"patient_id": patient_id}
    if relationship != "none":
        care_team.start_relationship(conn, **who, unit_id=home_care, recorded_by=by, now=EARLIER)
    if relationship == "ended":
        care_team.end_relationship(conn, **who, unit_id=home_care, now=ENDED)
    if consent != "none":
        care_team.record_consent(
            conn,
            **who,
            care_provider_id=municipality,
            scope="monitoring",
            recorded_by=by,
            now=EARLIER,
        )
    if consent == "withdrawn":
        care_team.withdraw_consent(conn, **who, care_provider_id=municipality, now=ENDED)
    if block != "none":
        care_team.record_block(
            conn, **who, care_provider_id=municipality, recorded_by=by, now=EARLIER
        )
    if block == "lifted":
        care_team.lift_block(conn, **who, care_provider_id=municipality, now=ENDED)
    if same_provider == "open":
        care_team.start_relationship(conn, **who, unit_id=sister, recorded_by=by, now=EARLIER)


def patients_in_every_state(
    conn: Conn, *, home: UUID, home_care: UUID, municipality: UUID, sister: UUID, by: UUID
) -> list[UUID]:
    """One patient of ``home`` per entry of ``STATES``, in that order, shared as it says."""
    ids = []
    for n, state in enumerate(STATES):
        patient = patients.create_patient(
            conn,
            health_centre_id=home,
            reference=f"TUNA-{n:04d}",
            language="sv",
            timezone="Europe/Stockholm",
        )
        share(
            conn,
            patient.id,
            state,
            home_care=home_care,
            municipality=municipality,
            sister=sister,
            by=by,
        )
        ids.append(patient.id)
    return ids
