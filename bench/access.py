"""What the access decision costs a list (issue 16): the patients a unit's member of staff may
see, as the worklist and the patient lists ask for them on every request.

    .venv/bin/python bench/access.py [--patients 2000] [--shared 300] [--repeat 20]

In a database of its own (local PostgreSQL): a health centre with --patients patients (each
with her care relationship from enrolment), a municipality's home-care unit in the care team of
--shared of them, half of those with consent and a tenth of those blocked. Measured as
hemkoll/api/care_access.visible_patients does it (the unit's candidates with their facts in
one statement, ``decide`` for each): the health centre nurse's and the home-care nurse's list,
median of --repeat, beside the goal (a list's decisions under a tenth of the worklist's 500 ms
page budget). The machine's load average is printed with them: on a shared machine it, not the
code, may set the figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from common import drop_database, fresh_database, say

from hemkoll.access.decision import Viewer, decide
from hemkoll.store import care_team, health_centres, staff
from hemkoll.store.connect import Conn, connect
from hemkoll.store.health_centres import CentreSettings

GOAL_MS = 50.0


def _load(url: str, n: int, shared: int) -> tuple[Viewer, Viewer]:
    with connect(url) as conn:
        centre = health_centres.create_centre(conn, "VC Skala", CentreSettings())
        municipality = care_team.create_provider(
            conn, name="Skala kommun", kind="municipality", hsa_id=None
        )
        home = health_centres.create_centre(
            conn,
            "Hemsjukvården Skala",
            CentreSettings(),
            care_provider_id=municipality.id,
            unit_kind="home_care",
        )
        nurse = staff.create_staff(conn, name="n", role="nurse", health_centre_id=centre.id)
        home_nurse = staff.create_staff(conn, name="h", role="nurse", health_centre_id=home.id)
        conn.execute(
            "INSERT INTO patients (health_centre_id, reference, language, timezone)"
            " SELECT %(c)s, 'P-' || g, 'sv', 'Europe/Stockholm' FROM generate_series(1, %(n)s) g",
            {"c": centre.id, "n": n},
        )
        conn.execute(
            "INSERT INTO care_relationships (patient_id, health_centre_id, started_at)"
            " SELECT id, health_centre_id, enrolled_at - interval '1 day' FROM patients"
        )
        ids = [
            r[0] for r in conn.execute("SELECT id FROM patients ORDER BY id LIMIT %s", (shared,))
        ]
        past = datetime.now(UTC) - timedelta(hours=1)
        for i, pid in enumerate(ids):
            care_team.start_relationship(
                conn, patient_id=pid, unit_id=home.id, recorded_by=nurse.id, now=past
            )
            if i % 2 == 0:
                care_team.record_consent(
                    conn,
                    patient_id=pid,
                    care_provider_id=municipality.id,
                    scope="monitoring",
                    recorded_by=nurse.id,
                    now=past,
                )
            if i % 10 == 0:
                care_team.record_block(
                    conn,
                    patient_id=pid,
                    care_provider_id=municipality.id,
                    recorded_by=nurse.id,
                    now=past,
                )
        conn.commit()
        conn.execute("ANALYZE")
        region = care_team.unit_provider(conn, centre.id)
    return (
        Viewer(nurse.id, "nurse", centre.id, region),
        Viewer(home_nurse.id, "nurse", home.id, municipality.id),
    )


def _visible(conn: Conn, viewer: Viewer) -> list[UUID]:
    now = datetime.now(UTC)
    assert viewer.unit_id is not None
    facts = care_team.unit_sharing(
        conn,
        unit_id=viewer.unit_id,
        provider_id=viewer.provider_id,
        staff_id=viewer.staff_id,
        now=now,
    )
    return [pid for pid, f in facts.items() if decide(viewer, f, now).allowed]


def _measure(url: str, viewer: Viewer, repeat: int) -> tuple[float, int]:
    times, seen = [], 0
    with connect(url) as conn:
        for _ in range(repeat):
            start = time.perf_counter()
            seen = len(_visible(conn, viewer))
            times.append((time.perf_counter() - start) * 1000)
            conn.rollback()
    return statistics.median(times), seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--shared", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = fresh_database("access")
    try:
        say(f"loading {args.patients} patients, {args.shared} in the home care's team")
        centre_nurse, home_nurse = _load(url, args.patients, args.shared)
        for label, viewer in (
            ("health centre nurse", centre_nurse),
            ("home-care nurse", home_nurse),
        ):
            ms, seen = _measure(url, viewer, args.repeat)
            figure = f"{ms:7.1f} ms median (goal < {GOAL_MS:.0f} ms)"
            print(f"{label:20s} sees {seen:5d} patients: {figure}")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
