"""A grid of sharing states (care relationship, consent, block, a sister centre's relationship)
between a health centre's patients and the other units of a region and a municipality: the
tests that check a SQL shortcut of the access decision against ``decide`` build it here."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hemkoll.store import care_team, health_centres, patients, staff
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
State = tuple[str, str, str, str]


@dataclass(frozen=True)
class Units:
    """The home centre (escalating after ``AFTER``) and its region, a sister centre of the
    region, the municipality and its home care, and a nurse of the home centre."""

    home: UUID
    region: UUID
    sister: UUID
    home_care: UUID
    municipality: UUID
    nurse: UUID

    @classmethod
    def create(cls, conn: Conn) -> Units:
        home = health_centres.create_centre(
            conn,
            "VC Tuna",
            CentreSettings(escalate_after_minutes=int(AFTER.total_seconds() // 60)),
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
        nurse = staff.create_staff(conn, name="nurse", role="nurse", health_centre_id=home.id)
        return cls(home.id, region, sister.id, home_care.id, municipality.id, nurse.id)

    def patient(self, conn: Conn, n: int, state: State) -> UUID:
        """A patient of the home centre, shared with the others as ``state`` says."""
        patient_id = patients.create_patient(
            conn,
            health_centre_id=self.home,
            reference=f"TUNA-{n:04d}",
            language="sv",
            timezone="Europe/Stockholm",
        ).id
        relationship, consent, block, same_provider = state
        who = {"patient_id": patient_id}
        by = self.nurse
        if relationship != "none":
            care_team.start_relationship(
                conn, **who, unit_id=self.home_care, recorded_by=by, now=EARLIER
            )
        if relationship == "ended":
            care_team.end_relationship(conn, **who, unit_id=self.home_care, now=ENDED)
        if consent != "none":
            care_team.record_consent(
                conn,
                **who,
                care_provider_id=self.municipality,
                scope="monitoring",
                recorded_by=by,
                now=EARLIER,
            )
        if consent == "withdrawn":
            care_team.withdraw_consent(conn, **who, care_provider_id=self.municipality, now=ENDED)
        if block != "none":
            care_team.record_block(
                conn, **who, care_provider_id=self.municipality, recorded_by=by, now=EARLIER
            )
        if block == "lifted":
            care_team.lift_block(conn, **who, care_provider_id=self.municipality, now=ENDED)
        if same_provider == "open":
            care_team.start_relationship(
                conn, **who, unit_id=self.sister, recorded_by=by, now=EARLIER
            )
        return patient_id

    def every_state(self, conn: Conn) -> list[UUID]:
        """One patient per entry of ``STATES``, in that order."""
        return [self.patient(conn, n, state) for n, state in enumerate(STATES)]
