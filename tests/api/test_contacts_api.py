"""The contact log through the API: nurses and clinicians of the patient's centre add entries
and read them newest first, each read and write audited; entries are never changed (a
correction is a new entry); a resolve note lands in the log with its alert, in the resolve's
transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from hemkoll.store.connect import connect
from tests.api.conftest import World, bearer, make_alert


def _path(world: World) -> str:
    return f"/api/v1/patients/{world.a.patient_id}/contacts"


def test_a_nurse_logs_a_call_and_reads_the_log_newest_first_each_step_audited(
    client: TestClient, world: World, db_url: str
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    earlier = datetime.now(UTC) - timedelta(hours=5)
    made = client.post(
        _path(world),
        json={
            "kind": "call_in",
            "text": "Dottern ringde: svullna fötter.",
            "occurred_at": earlier.isoformat(),
        },
        headers=nurse,
    )
    assert made.status_code == 201, made.text
    entry = made.json()
    assert entry["kind"] == "call_in"
    assert entry["author"] == str(world.a.staff_ids["nurse"])
    assert entry["author_name"] == "nurse Vårdcentral A"
    assert datetime.fromisoformat(entry["occurred_at"]) == earlier
    assert datetime.fromisoformat(entry["written_at"]) > earlier
    second = client.post(
        _path(world), json={"kind": "call_out", "text": "Ringde upp."}, headers=nurse
    )
    assert second.status_code == 201
    listed = client.get(_path(world), headers=bearer(world.a.tokens["clinician"]))
    assert listed.status_code == 200
    assert [c["kind"] for c in listed.json()["contacts"]] == ["call_out", "call_in"]
    assert listed.json()["next_cursor"] is None
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT action, status, object_type, object_id, patient_id FROM audit_log ORDER BY id"
        ).fetchall()
    assert rows == [
        (
            "POST /api/v1/patients/{patient_id}/contacts",
            201,
            "contact",
            entry["id"],
            world.a.patient_id,
        ),
        (
            "POST /api/v1/patients/{patient_id}/contacts",
            201,
            "contact",
            second.json()["id"],
            world.a.patient_id,
        ),
        (
            "GET /api/v1/patients/{patient_id}/contacts",
            200,
            "contact_log",
            str(world.a.patient_id),
            world.a.patient_id,
        ),
    ]


def test_another_centres_patient_is_not_found_and_administrators_are_refused(
    client: TestClient, world: World
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    other = f"/api/v1/patients/{world.b.patient_id}/contacts"
    assert client.get(other, headers=nurse).status_code == 404
    assert client.post(other, json={"kind": "note", "text": "x"}, headers=nurse).status_code == 404
    admin = bearer(world.a.tokens["admin"])
    assert client.get(_path(world), headers=admin).status_code == 403
    assert client.get(_path(world), headers=bearer(world.region_admin)).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "note", "text": ""}, "text"),
        ({"kind": "note", "text": "   "}, "text"),
        ({"kind": "note", "text": "x" * 2001}, "text"),
        ({"kind": "email", "text": "x"}, "kind"),
        ({"kind": "note", "text": "x", "occurred_at": "2026-01-01T08:00:00"}, "occurred_at"),
        (
            {
                "kind": "note",
                "text": "x",
                "occurred_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            },
            "occurred_at",
        ),
        ({"kind": "note", "text": "x", "corrects": str(uuid4())}, "corrects"),
        ({"kind": "note", "text": "x", "updated": True}, "updated"),
    ],
)
def test_an_entry_that_is_not_one_is_refused_as_problem_details(
    client: TestClient, world: World, body: dict[str, object], field: str
) -> None:
    answer = client.post(_path(world), json=body, headers=bearer(world.a.tokens["nurse"]))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.json()["detail"]


def test_an_alert_of_another_patient_cannot_be_linked(client: TestClient, world: World) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    body = {"kind": "note", "text": "x", "alert_id": str(world.b.alert_id)}
    assert client.post(_path(world), json=body, headers=nurse).status_code == 404
    body["alert_id"] = str(world.a.alert_id)
    assert client.post(_path(world), json=body, headers=nurse).json()["alert_id"] == str(
        world.a.alert_id
    )


def test_a_correction_is_a_new_entry_and_the_first_says_it_was_corrected(
    client: TestClient, world: World
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    first = client.post(
        _path(world), json={"kind": "call_out", "text": "Ringde 10.00"}, headers=nurse
    ).json()
    fix = client.post(
        _path(world),
        json={"kind": "call_out", "text": "Rättelse: ringde 11.00", "corrects": first["id"]},
        headers=nurse,
    ).json()
    contacts = {c["id"]: c for c in client.get(_path(world), headers=nurse).json()["contacts"]}
    assert contacts[first["id"]]["text"] == "Ringde 10.00"
    assert contacts[first["id"]]["corrected_by"] == fix["id"]
    assert contacts[fix["id"]]["corrects"] == first["id"]
    # Another patient's entry cannot be corrected from here.
    other = f"/api/v1/patients/{world.b.patient_id}/contacts"
    b_entry = client.post(
        other, json={"kind": "note", "text": "B"}, headers=bearer(world.b.tokens["nurse"])
    ).json()
    body = {"kind": "note", "text": "x", "corrects": b_entry["id"]}
    assert client.post(_path(world), json=body, headers=nurse).status_code == 422


def test_pages_follow_the_cursor_without_gaps_or_repeats(client: TestClient, world: World) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    start = datetime.now(UTC) - timedelta(days=3)
    for i in range(5):
        at = (start + timedelta(hours=i // 2)).isoformat()  # ties on occurred_at too
        body = {"kind": "note", "text": f"n{i}", "occurred_at": at}
        assert client.post(_path(world), json=body, headers=nurse).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(_path(world), params=params, headers=nurse).json()
        seen += [c["text"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"n{i}" for i in range(5)]
    assert seen[0] == "n4"
    assert client.get(_path(world), params={"cursor": "nope"}, headers=nurse).status_code == 422


def test_a_resolve_note_is_logged_with_its_alert_and_kind_by_outcome(
    client: TestClient, world: World, db_url: str
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    with connect(db_url) as conn, conn.transaction():
        referred = make_alert(conn, world.a.patient_id, "yellow", rule_id="spo2_low")
        quiet = make_alert(conn, world.a.patient_id, "yellow", rule_id="hr_high")
    resolve = f"/api/v1/alerts/{world.a.alert_id}/resolve"
    body = {"outcome": "contacted_patient", "note": "Ringde, mår bra."}
    assert client.post(resolve, json=body, headers=nurse).status_code == 200
    body = {"outcome": "referred", "note": "Till hjärtmottagningen."}
    assert (
        client.post(f"/api/v1/alerts/{referred}/resolve", json=body, headers=nurse).status_code
        == 200
    )
    body = {"outcome": "no_action_needed", "note": ""}  # no note: nothing to log
    assert (
        client.post(f"/api/v1/alerts/{quiet}/resolve", json=body, headers=nurse).status_code == 200
    )
    contacts = client.get(_path(world), headers=nurse).json()["contacts"]
    assert [(c["kind"], c["alert_id"], c["text"]) for c in contacts] == [
        ("hand_over", str(referred), "Till hjärtmottagningen."),
        ("call_out", str(world.a.alert_id), "Ringde, mår bra."),
    ]
    assert contacts[0]["author"] == str(world.a.staff_ids["nurse"])


def test_a_resolve_refused_logs_nothing(client: TestClient, world: World) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    resolve = f"/api/v1/alerts/{world.a.alert_id}/resolve"
    body = {"outcome": "contacted_patient", "note": "Ringde."}
    assert client.post(resolve, json=body, headers=nurse).status_code == 200
    assert client.post(resolve, json=body, headers=nurse).status_code == 409
    assert len(client.get(_path(world), headers=nurse).json()["contacts"]) == 1
