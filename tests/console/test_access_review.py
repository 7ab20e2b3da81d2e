"""The access-log review (HSLF-FS 2016:40 ch. 4 §9): the review page finds an access planted
without a care relationship (and not those with one, or made while an alert was open), a
user's accesses and the emergency accesses; a review is recorded and can be neither changed
nor removed by the API's role, nor can the audit log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from hemkoll.api.console.auth import SESSION_COOKIE
from hemkoll.store import health_centres, patients, staff
from hemkoll.store.connect import connect
from hemkoll.store.health_centres import CentreSettings
from tests.api.conftest import World
from tests.conftest import as_api_role
from tests.console.conftest import ORIGIN

__all__ = ["World"]


def plant(db_url: str, staff_id: UUID, centre: UUID, patient: UUID, at: datetime) -> int:
    """An access as the API writes it: staff, from her unit, to a patient's readings."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO audit_log (at, staff_id, role, action, status, health_centre_id, "
            "patient_id, object_type, object_id) VALUES (%s, %s, 'nurse', "
            "'GET /api/v1/patients/{patient_id}/readings', 200, %s, %s, 'readings', %s) "
            "RETURNING id",
            (at, staff_id, centre, patient, str(patient)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def get(client: TestClient, token: str, **params: str) -> Any:
    return client.get(
        "/console/access-review",
        params=params,
        headers={"Cookie": f"{SESSION_COOKIE}={token}"},
        follow_redirects=False,
    )


def shown(page: Any) -> set[int]:
    return {int(i) for i in re.findall(r'id="audit-(\d+)"', page.text)}


@pytest.fixture
def planted(world: World, db_url: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    with connect(db_url) as conn, conn.transaction():
        quiet = patients.create_patient(
            conn,
            health_centre_id=world.a.id,
            reference="PA-0002",
            language="sv",
            timezone="Europe/Stockholm",
        )
    just_now = datetime.now(UTC)  # after the patient's enrolment and her alert's opening
    b_nurse, a_nurse = world.b.staff_ids["nurse"], world.a.staff_ids["nurse"]
    return {
        "quiet": quiet.id,
        # Centre B's nurse reads centre A's patient: no care relationship, no open alert.
        "planted": plant(db_url, b_nurse, world.b.id, quiet.id, just_now),
        # Her own centre's nurse: the care relationship covers it.
        "related": plant(db_url, a_nurse, world.a.id, quiet.id, just_now),
        # B's nurse on A's patient whose red alert is open: looked at for the alert.
        "alerted": plant(db_url, b_nurse, world.b.id, world.a.patient_id, just_now),
        # Before the period asked for.
        "old": plant(db_url, b_nurse, world.b.id, quiet.id, now - timedelta(days=60)),
    }


def test_the_review_page_finds_a_planted_access_without_a_care_relationship(
    client: TestClient, world: World, db_url: str, planted: dict[str, Any]
) -> None:
    page = get(client, world.region_admin, kind="no_care_relationship")
    assert page.status_code == 200
    assert shown(page) == {planted["planted"]}
    assert "PA-0002" in page.text
    assert "nurse Vårdcentral B" in page.text
    # Both centres' administrators see it: made from B, to A's own patient.
    for centre in (world.a, world.b):
        mine = get(client, centre.tokens["admin"], kind="no_care_relationship")
        assert shown(mine) == {planted["planted"]}
    # A third centre's administrator does not.
    with connect(db_url) as conn, conn.transaction():
        third = health_centres.create_centre(conn, "Vårdcentral C", CentreSettings())
        admin = staff.create_staff(conn, name="admin C", role="admin", health_centre_id=third.id)
        token = staff.issue_token(conn, admin.id, now=datetime.now(UTC)).token
    assert shown(get(client, token, kind="no_care_relationship")) == set()
    # A longer period reaches the old one too.
    since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
    longer = get(client, world.region_admin, kind="no_care_relationship", **{"from": since})
    assert shown(longer) == {planted["planted"], planted["old"]}
    # Nurses do not review the log.
    assert get(client, world.b.tokens["nurse"], kind="no_care_relationship").status_code == 403
    # Showing the selection is itself recorded.
    with psycopg.connect(db_url) as conn:
        recorded = conn.execute(
            "SELECT object_id FROM audit_log WHERE action = 'GET /console/access-review' "
            "AND staff_id = %s AND status = 200",
            (world.region_admin_id,),
        ).fetchall()
    assert ("review:no_care_relationship",) in recorded


def test_a_users_accesses_and_a_random_sample(
    client: TestClient, world: World, planted: dict[str, Any]
) -> None:
    b_nurse = str(world.b.staff_ids["nurse"])
    user = get(client, world.region_admin, kind="user", staff=b_nurse)
    assert {planted["planted"], planted["alerted"]} <= shown(user)
    assert planted["related"] not in shown(user)
    sample = get(client, world.region_admin, kind="random", seed="s1")
    assert {planted["planted"], planted["related"], planted["alerted"]} <= shown(sample)
    assert shown(get(client, world.region_admin, kind="random", seed="s1")) == shown(sample)


def test_a_review_is_recorded_and_emergency_accesses_are_marked_reviewed(
    client: TestClient, world: World, db_url: str, planted: dict[str, Any]
) -> None:
    b_nurse = world.b.staff_ids["nurse"]
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        emergency = conn.execute(
            "INSERT INTO emergency_accesses (staff_id, patient_id, reason, started_at, "
            "expires_at) VALUES (%s, %s, 'the patient called from home, worse breathing', "
            "%s, %s) RETURNING id",
            (b_nurse, planted["quiet"], now - timedelta(hours=2), now),
        ).fetchone()
    assert emergency is not None
    page = get(client, world.region_admin, kind="emergency")
    assert "worse breathing" in page.text
    answer = client.post(
        "/console/access-review",
        data={
            "kind": "emergency",
            "audit_ids": str(planted["planted"]),
            "emergency_ids": str(emergency[0]),
            "finding": "remark",
            "note": "Emergency access justified by the call; the nurse was reminded to document.",
        },
        headers={"Cookie": f"{SESSION_COOKIE}={world.region_admin}", "Origin": ORIGIN},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with psycopg.connect(db_url) as conn:
        review = conn.execute(
            "SELECT reviewed_by, kind, audit_ids, finding FROM access_reviews"
        ).fetchall()
        reviewed_at = conn.execute(
            "SELECT reviewed_at FROM emergency_accesses WHERE id = %s", (emergency[0],)
        ).fetchone()
    assert review == [(world.region_admin_id, "emergency", [planted["planted"]], "remark")]
    assert reviewed_at is not None
    assert reviewed_at[0] is not None
    # A remark says what it is.
    refused = client.post(
        "/console/access-review",
        data={"kind": "random", "finding": "misuse_suspected", "note": ""},
        headers={"Cookie": f"{SESSION_COOKIE}={world.region_admin}", "Origin": ORIGIN},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    # Neither the reviews nor the audit log can be changed or removed by the API's role.
    with psycopg.connect(as_api_role(db_url), autocommit=True) as api:
        for statement in (
            "UPDATE access_reviews SET finding = 'no_remark'",
            "DELETE FROM access_reviews",
            "UPDATE audit_log SET status = 200",
            "DELETE FROM audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                api.execute(statement)


def test_the_audit_review_command_prints_the_selection_and_records_its_review(
    db_url: str,
    planted: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hemkoll.cli import main  # noqa: PLC0415

    monkeypatch.setenv("HEMKOLL_DATABASE_URL", db_url)
    assert main(["audit", "review", "no-care-relationship", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [row["audit_id"] for row in printed["rows"]] == [planted["planted"]]
    assert printed["rows"][0]["patient_reference"] == "PA-0002"
    assert main(["audit", "review", "no-care-relationship", "--record", "remark"]) == 2
    assert "--by" in capsys.readouterr().err
    argv = ["audit", "review", "no-care-relationship", "--record", "misuse_suspected"]
    note = ["--note", "Centre B has no care of PA-0002; asked its manager.", "--by", "Granskare"]
    assert main([*argv, *note]) == 0
    assert "recorded (misuse_suspected)" in capsys.readouterr().out
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT reviewer_name, kind, audit_ids, finding FROM access_reviews"
        ).fetchall() == [
            ("Granskare", "no_care_relationship", [planted["planted"]], "misuse_suspected")
        ]
