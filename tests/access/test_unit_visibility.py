"""A unit's list decides its own provider's related patients in SQL (``care_team.unit_related``)
and asks ``decide`` for the rest (``care_team.unit_sharing``): together they must show exactly
the patients ``decide`` lets the unit's staff see on all of each patient's facts, and every
patient the shortcut takes must be one ``decide`` allows on the basis care_relationship."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from hemkoll.access.decision import Viewer, decide
from hemkoll.store import care_team, staff
from hemkoll.store.connect import Conn, connect
from tests.sharing_states import NOW, STATES, Units

HOUR = timedelta(hours=1)


def _shown(conn: Conn, viewer: Viewer, unit: UUID, provider: UUID) -> set[UUID]:
    """What care_access.visible_patients shows ``viewer`` (of ``unit``, of ``provider``), from
    the store's two queries."""
    related = care_team.unit_related(conn, unit_id=unit, provider_id=provider, now=NOW)
    others = care_team.unit_sharing(
        conn, unit_id=unit, provider_id=provider, staff_id=viewer.staff_id, now=NOW
    )
    return set(related) | {p for p, facts in others.items() if decide(viewer, facts, NOW).allowed}


def test_a_units_list_is_the_patients_the_decision_lets_it_see(db_url: str) -> None:
    with connect(db_url) as conn, conn.transaction():
        grid = Units.create(conn)
        ids = grid.every_state(conn)
        viewers = []
        for unit, provider in (
            (grid.home, grid.region),
            (grid.sister, grid.region),
            (grid.home_care, grid.municipality),
        ):
            member = staff.create_staff(conn, name="n", role="nurse", health_centre_id=unit)
            viewers.append((Viewer(member.id, "nurse", unit, provider), unit, provider))
        # The home care's nurse has an emergency access to every third patient, in force, and
        # one that has expired to the next: the rest of the list, not the shortcut, decides them.
        carer = viewers[2][0].staff_id
        for n, patient_id in enumerate(ids):
            if n % 3 < 2:
                started = NOW - (HOUR if n % 3 == 0 else 4 * HOUR)
                care_team.start_emergency(
                    conn,
                    staff_id=carer,
                    patient_id=patient_id,
                    reason="escalated alert, home visit",
                    now=started,
                    expires_at=started + 2 * HOUR,
                )
        mismatches = []
        shortcut_bases = set()
        for viewer, unit, provider in viewers:
            facts = care_team.sharing(conn, ids, staff_id=viewer.staff_id)
            allowed = {p for p in ids if decide(viewer, facts[p], NOW).allowed}
            for p in care_team.unit_related(conn, unit_id=unit, provider_id=provider, now=NOW):
                shortcut_bases.add(decide(viewer, facts[p], NOW).basis)
            shown = _shown(conn, viewer, unit, provider)
            if shown != allowed:
                mismatches.append((unit, sorted(map(str, shown ^ allowed))))
            # Each unit sees some and not all: the grid is not trivial for it.
            if unit != grid.home:
                assert 0 < len(allowed) < len(ids)
    assert not mismatches
    assert shortcut_bases == {"care_relationship"}
    assert len(STATES) == len(ids)
