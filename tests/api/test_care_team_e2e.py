"""Issue 16 end to end: a red alert nobody at the health centre acknowledged escalates to the
municipality's home care, which sees it in its console worklist (the patient consented), takes
it with a hand-over note, and the health centre sees who did it; her block then shuts the home
care out again. Everything through the API and the console, as the deployed API role."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from hemkoll.notify.escalation import escalate_due
from hemkoll.store.connect import connect
from tests.api.conftest import World, bearer
from tests.notify.support import open_alert

ORIGIN = "http://testserver"
COOKIE = "hemkoll_console"
AFTER = timedelta(minutes=30)
NOTE = "Hemsjukvården åker ut kl 14, ringer vårdcentralen efteråt."


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _console(client: TestClient, token: str, method: str, path: str, **kw: Any) -> Any:
    headers = {"Origin": ORIGIN, "Cookie": f"{COOKIE}={token}"}
    return client.request(method, path, headers=headers, follow_redirects=False, **kw)


def test_an_escalated_alert_is_taken_by_the_home_care_and_the_centre_sees_who(
    client: TestClient, world: World, db_url: str
) -> None:
    region, a = bearer(world.region_admin), world.a
    patient = a.patient_id
    # The region sets up the municipality, its home-care unit and a nurse there.
    municipality = _ok(
        client.post(
            "/api/v1/care-providers",
            json={"name": "Tuna kommun", "kind": "municipality"},
            headers=region,
        ),
        201,
    )
    unit = _ok(
        client.post(
            "/api/v1/health-centres",
            json={
                "name": "Hemsjukvården Tuna",
                "care_provider_id": municipality["id"],
                "unit_kind": "home_care",
            },
            headers=region,
        ),
        201,
    )
    assert unit["care_provider_id"] == municipality["id"]
    nurse_h = _ok(
        client.post(
            "/api/v1/staff",
            json={"name": "Hanna Hemsjukvård", "role": "nurse", "health_centre_id": unit["id"]},
            headers=region,
        ),
        201,
    )
    home = _ok(client.post(f"/api/v1/staff/{nurse_h['id']}/tokens", json={}, headers=region), 201)
    home_token = home["token"]
    # Her health centre's nurse adds the home care to her care team, with her consent; the
    # centre escalates red alerts after 30 minutes.
    centre_nurse = bearer(a.tokens["nurse"])
    path = f"/api/v1/patients/{patient}"
    # In the care team without her consent the home care sees nothing of her yet.
    _ok(
        client.post(
            f"{path}/care-team", json={"health_centre_id": unit["id"]}, headers=centre_nurse
        ),
        201,
    )
    assert client.get(path, headers=bearer(home_token)).status_code == 404
    team = _ok(
        client.post(
            f"{path}/sharing-consents",
            json={"care_provider_id": municipality["id"]},
            headers=centre_nurse,
        ),
        201,
    )
    assert [c["recorded_by"] for c in team["consents"]] == [str(a.staff_ids["nurse"])]
    assert {m["unit_name"] for m in team["members"]} == {"Vårdcentral A", "Hemsjukvården Tuna"}
    _ok(
        client.patch(
            f"/api/v1/health-centres/{a.id}",
            json={
                "escalation_url": "https://hemsjukvard.example/hooks",
                "escalation_contact": "Hemsjukvården Tuna, jour",
                "escalate_after_minutes": int(AFTER.total_seconds() // 60),
            },
            headers=bearer(a.tokens["admin"]),
        )
    )
    # A red alert, red since t0, that nobody at the centre acknowledges.
    t0 = datetime.now(UTC) - 2 * AFTER
    with connect(db_url) as conn:
        alert_id, _ = open_alert(conn, patient, rule_id="spo2_low", severity="red", notify=False)
        conn.execute("UPDATE alerts SET severity_since = %s WHERE id = %s", (t0, alert_id))
        conn.commit()
    # Not escalated: it is the health centre's, and not in the home care's worklist.
    page = _console(client, home_token, "GET", "/console/worklist")
    assert page.status_code == 200
    assert str(alert_id) not in page.text
    with connect(db_url) as conn:
        assert escalate_due(conn, t0 + AFTER) == 1
    page = _console(client, home_token, "GET", "/console/worklist")
    assert f'id="alert-{alert_id}"' in page.text
    assert f'id="ack-note-{alert_id}"' in page.text  # the hand-over note goes with the ack
    # The home care acknowledges it there, with its hand-over note.
    done = _console(
        client, home_token, "POST", f"/console/alerts/{alert_id}/acknowledge", data={"note": NOTE}
    )
    assert done.status_code in (200, 303), done.text
    # The health centre sees who took it, of which unit and provider, and the note, in the
    # alert's history and in its own worklist.
    alert = _ok(client.get(f"/api/v1/alerts/{alert_id}", headers=centre_nurse))
    assert alert["state"] == "acknowledged"
    [ack] = [e for e in alert["history"] if e["kind"] == "acknowledged"]
    assert (ack["actor_name"], ack["actor_unit"], ack["actor_care_provider"]) == (
        "Hanna Hemsjukvård",
        "Hemsjukvården Tuna",
        "Tuna kommun",
    )
    assert ack["details"]["note"] == NOTE
    centre_page = _console(client, a.tokens["nurse"], "GET", "/console/worklist").text
    shown = re.sub(r"\s+", " ", centre_page)
    assert "Hanna Hemsjukvård (Hemsjukvården Tuna)" in shown
    assert NOTE in shown
    # The audit log names the home care's unit and provider and the basis: her consent.
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT health_centre_id, care_provider_id, access_basis FROM audit_log"
            " WHERE action = 'POST /console/alerts/{alert_id}/acknowledge' AND staff_id = %s",
            (nurse_h["id"],),
        ).fetchall()
    assert {(str(r[0]), str(r[1]), r[2]) for r in rows} == {
        (unit["id"], municipality["id"], "consent")
    }
    # She blocks sharing with the municipality: the home care is shut out at once, even
    # where it had her consent, and asking for emergency access does not open it.
    _ok(
        client.post(
            f"{path}/sharing-blocks",
            json={"care_provider_id": municipality["id"]},
            headers=centre_nurse,
        ),
        201,
    )
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=bearer(home_token)).status_code == 404
    assert str(alert_id) not in _console(client, home_token, "GET", "/console/worklist").text
    refused = client.post(
        f"{path}/emergency-access",
        json={"reason": "patient does not answer, escalated alert"},
        headers=bearer(home_token),
    )
    assert refused.status_code == 403
    # Every refusal is in the log with its reason; it names her only where the home care is
    # in her care team and lacks her consent (before it), not once she blocked it.
    with psycopg.connect(db_url) as conn:
        refusals = conn.execute(
            "SELECT action, patient_id, access_basis FROM audit_log"
            " WHERE staff_id = %s AND status = 404 ORDER BY id",
            (nurse_h["id"],),
        ).fetchall()
    assert [(r[1], r[2]) for r in refusals] == [
        (patient, "no_consent"),
        (None, "blocked"),
    ]
    # Lifted, her consent holds again.
    _ok(client.post(f"{path}/sharing-blocks/{municipality['id']}/lift", headers=centre_nurse))
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=bearer(home_token)).status_code == 200


def test_emergency_access_is_time_limited_reasoned_and_audited(
    client: TestClient, world: World, db_url: str
) -> None:
    """Centre B's nurse has no care relationship with A's patient: 404, until she states a
    reason for emergency access; it lasts four hours and is flagged for review."""
    other = bearer(world.b.tokens["nurse"])
    path = f"/api/v1/patients/{world.a.patient_id}"
    assert client.get(f"{path}/readings", headers=other).status_code == 404
    short = client.post(f"{path}/emergency-access", json={"reason": "   brief   "}, headers=other)
    assert short.status_code == 422
    granted = _ok(
        client.post(
            f"{path}/emergency-access",
            json={"reason": "the patient called our centre in distress"},
            headers=other,
        ),
        201,
    )
    started = datetime.fromisoformat(granted["started_at"])
    assert datetime.fromisoformat(granted["expires_at"]) - started == timedelta(hours=4)
    assert client.get(f"{path}/readings", headers=other).status_code == 200
    with psycopg.connect(db_url) as conn:
        bases = conn.execute(
            "SELECT action, access_basis FROM audit_log WHERE staff_id = %s ORDER BY id",
            (world.b.staff_ids["nurse"],),
        ).fetchall()
        unreviewed = conn.execute(
            "SELECT count(*) FROM emergency_accesses WHERE reviewed_at IS NULL"
        ).fetchone()
        # Expired, it is over (the time limit is the table's: moved back here).
        conn.execute(
            "UPDATE emergency_accesses SET started_at = started_at - interval '5 hours',"
            " expires_at = expires_at - interval '5 hours'"
        )
    assert bases == [
        ("GET /api/v1/patients/{patient_id}/readings", "no_care_relationship"),
        ("POST /api/v1/patients/{patient_id}/emergency-access", None),
        ("POST /api/v1/patients/{patient_id}/emergency-access", "emergency"),
        ("GET /api/v1/patients/{patient_id}/readings", "emergency"),
    ]
    assert unreviewed == (1,)
    assert client.get(f"{path}/readings", headers=other).status_code == 404
