"""FHIR Flag (an alert with the Observations that triggered it) and Observation read: resources
validate with fhir.resources R4B, evidence references resolve, search filters and pages, other
centres' alerts are 404, and every read is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from hemkoll.store import alerts
from hemkoll.store.alerts import AlertContent
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.api.conftest import World, bearer, make_alert
from tests.fhir_profiles import vital_signs_problems

T0 = datetime(2026, 11, 9, 8, 0, 0, 123456, tzinfo=UTC)
BASE = "/fhir/R4"
FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"


def _threshold_alert(db_url: str, world: World) -> UUID:
    """Two low SpO2 readings (a run of two) open a red alert; a weight reading beside them."""
    a = world.a
    with connect(db_url) as conn:
        conn.execute("UPDATE devices SET enrolled_at = '2026-01-01' WHERE id = %s", (a.device_id,))
        conn.commit()
        ReadingWriter(conn).write(
            [
                [
                    Reading(a.patient_id, a.device_id, "spo2", 96.0, T0 - timedelta(hours=2)),
                    Reading(a.patient_id, a.device_id, "spo2", 89.0, T0 - timedelta(hours=1)),
                    Reading(a.patient_id, a.device_id, "spo2", 88.0, T0),
                    Reading(a.patient_id, a.device_id, "body_weight", 80.0, T0),
                ]
            ],
            [],
        )
        alert_id = alerts.insert_alert(
            conn,
            a.patient_id,
            "test rules",
            AlertContent(
                rule_id="spo2_low",
                rule_kind="threshold",
                severity="red",
                fired_at=T0,
                evidence={
                    "metric": "spo2",
                    "value": 88.0,
                    "readings": [
                        [(T0 - timedelta(hours=1)).isoformat(), 89.0],
                        [T0.isoformat(), 88.0],
                    ],
                },
                explanation_en="SpO2 88 % is below 90 % in 2 readings in a row.",
                explanation_sv="SpO2 88 % är under 90 % i 2 mätningar i rad.",
            ),
        )
        conn.commit()
    return alert_id


def _details(flag: Flag) -> list[str]:
    return [
        str(x.valueReference.reference)
        for x in flag.extension or []
        if x.url == FLAG_DETAIL and x.valueReference is not None
    ]


def _outcome(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    OperationOutcome.model_validate(response.json())


def test_flag_read_with_evidence_that_resolves(
    client: TestClient, world: World, db_url: str
) -> None:
    alert_id = _threshold_alert(db_url, world)
    nurse = bearer(world.a.tokens["nurse"])
    response = client.get(f"{BASE}/Flag/{alert_id}", headers=nurse)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    flag = Flag.model_validate(response.json())
    assert flag.status == "active"
    assert flag.subject.reference == f"Patient/{world.a.patient_id}"
    assert flag.code.coding is not None
    assert flag.code.coding[0].code == "spo2_low"
    assert flag.code.text == "SpO2 88 % is below 90 % in 2 readings in a row."
    assert flag.period is not None
    assert flag.period.end is None
    assert flag.author is not None
    assert flag.author.identifier is not None
    assert flag.author.identifier.value == str(world.a.id)
    # The run's two SpO2 readings, not the earlier normal one nor the weight beside it.
    references = _details(flag)
    assert len(references) == 2
    values = []
    for reference in references:
        got = client.get(f"{BASE}/{reference}", headers=nurse)
        assert got.status_code == 200, got.text
        obs = Observation.model_validate(got.json())
        assert obs.id == reference.removeprefix("Observation/")
        assert obs.subject is not None
        assert obs.subject.reference == f"Patient/{world.a.patient_id}"
        assert obs.valueQuantity is not None
        values.append(obs.valueQuantity.value)
    assert values == [89.0, 88.0]
    # Resolved: inactive, with the period's end.
    with connect(db_url) as conn:
        conn.execute(
            "UPDATE alerts SET state = 'acknowledged', acknowledged_at = now() WHERE id = %s",
            (alert_id,),
        )
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = now(),"
            " outcome = 'contacted_patient' WHERE id = %s",
            (alert_id,),
        )
        conn.commit()
    resolved = Flag.model_validate(client.get(f"{BASE}/Flag/{alert_id}", headers=nurse).json())
    assert resolved.status == "inactive"
    assert resolved.period is not None
    assert resolved.period.end is not None


def test_flag_search_filters_pages_and_scopes(
    client: TestClient, world: World, db_url: str
) -> None:
    a, b = world.a, world.b
    nurse = bearer(a.tokens["nurse"])
    threshold = _threshold_alert(db_url, world)
    with connect(db_url) as conn:
        extra = make_alert(conn, a.patient_id, "yellow", rule_id="weight_gain_2kg_3d_b")
        conn.execute(
            "UPDATE alerts SET state = 'resolved', acknowledged_at = now(), resolved_at = now(),"
            " outcome = 'false_alarm' WHERE id = %s",
            (extra,),
        )
        conn.commit()
    everything = {str(a.alert_id), str(threshold), str(extra)}

    seen: list[str] = []
    url: str | None = f"{BASE}/Flag"
    params: dict[str, Any] | None = {"patient": f"Patient/{a.patient_id}", "_count": 1}
    while url is not None:
        response = client.get(url, params=params, headers=nurse)
        assert response.status_code == 200, response.text
        bundle = Bundle.model_validate(response.json())
        assert bundle.type == "searchset"
        for entry in bundle.entry or []:
            seen.append(str(Flag.model_validate(entry.resource.model_dump()).id))
        nxt = [link.url for link in bundle.link or [] if link.relation == "next"]
        url, params = (nxt[0], None) if nxt else (None, None)
    assert sorted(seen) == sorted(everything)
    assert len(seen) == len(set(seen))

    def ids(**query: Any) -> set[str]:
        response = client.get(
            f"{BASE}/Flag", params={"patient": str(a.patient_id), **query}, headers=nurse
        )
        assert response.status_code == 200, response.text
        return {e["resource"]["id"] for e in response.json().get("entry", [])}

    assert ids(status="inactive") == {str(extra)}
    assert ids(status="active") == {str(a.alert_id), str(threshold)}
    assert ids(status="active,inactive") == everything
    assert ids(_lastUpdated="lt2000-01-01T00:00:00+00:00") == set()
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert ids(_lastUpdated=f"ge{an_hour_ago}") == everything
    _outcome(
        client.get(
            f"{BASE}/Flag", params={"patient": str(a.patient_id), "status": "x"}, headers=nurse
        ),
        422,
    )
    # Another centre's alert and patient: 404, as for one that does not exist.
    _outcome(client.get(f"{BASE}/Flag/{b.alert_id}", headers=nurse), 404)
    _outcome(client.get(f"{BASE}/Flag", params={"patient": str(b.patient_id)}, headers=nurse), 404)
    _outcome(client.get(f"{BASE}/Observation/not-an-id", headers=nurse), 404)

    with connect(db_url) as conn:
        audited = conn.execute(
            "SELECT action, status FROM audit_log WHERE patient_id = %s"
            " AND action LIKE 'GET /fhir/R4/Flag%%' ORDER BY id",
            (a.patient_id,),
        ).fetchall()
    assert ("GET /fhir/R4/Flag", 200) in audited


def test_capability_statement_lists_flag_and_observation_read(client: TestClient) -> None:
    statement = CapabilityStatement.model_validate(client.get(f"{BASE}/metadata").json())
    resources = {r.type: r for rest in statement.rest or [] for r in rest.resource or []}
    assert {i.code for i in resources["Flag"].interaction or []} == {"read", "search-type"}
    assert "read" in {i.code for i in resources["Observation"].interaction or []}
    assert {p.name for p in resources["Flag"].searchParam or []} >= {"patient", "status"}
    observation = {p.name: p.definition for p in resources["Observation"].searchParam or []}
    assert observation["component-code"] == (
        "http://hl7.org/fhir/SearchParameter/Observation-component-code"
    )
    assert "combo-code" in observation


def test_the_centres_webhook_format_is_set_by_its_administrator(
    client: TestClient, world: World
) -> None:
    admin = bearer(world.a.tokens["admin"])
    url = f"/api/v1/health-centres/{world.a.id}"
    assert client.get(url, headers=admin).json()["webhook_format"] == "hemkoll"
    changed = client.patch(url, json={"webhook_format": "fhir"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["webhook_format"] == "fhir"
    # Another setting leaves it as it is; an unknown format is refused.
    client.patch(url, json={"phone": "08-123 456 78"}, headers=admin)
    assert client.get(url, headers=admin).json()["webhook_format"] == "fhir"
    refused = client.patch(url, json={"webhook_format": "xml"}, headers=admin)
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("evidence", "kinds"),
    [
        # A systolic threshold: the systolic reading, served inside its panel.
        ({"metric": "systolic_bp", "value": 182.0}, ["blood-pressure"]),
        # A finding naming no metric (a combination): every reading of the instant, the two
        # halves named once, as their panel, and the pulse on its own.
        ({"value": 182.0}, ["blood-pressure", "heart-rate"]),
    ],
)
def test_a_blood_pressure_flag_points_at_the_panel(
    client: TestClient, world: World, db_url: str, evidence: dict[str, Any], kinds: list[str]
) -> None:
    """A blood-pressure alert's flag-detail names the panel that holds its reading (with the
    diastolic of the same cuff and instant), once."""
    a = world.a
    with connect(db_url) as conn:
        conn.execute("UPDATE devices SET enrolled_at = '2026-01-01' WHERE id = %s", (a.device_id,))
        conn.commit()
        ReadingWriter(conn).write(
            [
                [
                    Reading(a.patient_id, a.device_id, "systolic_bp", 182.0, T0),
                    Reading(a.patient_id, a.device_id, "diastolic_bp", 101.0, T0),
                    Reading(a.patient_id, a.device_id, "heart_rate", 88.0, T0),
                ]
            ],
            [],
        )
        alert_id = alerts.insert_alert(
            conn,
            a.patient_id,
            "test rules",
            AlertContent(
                rule_id="systolic_high",
                rule_kind="threshold",
                severity="red",
                fired_at=T0,
                evidence=evidence,
                explanation_en="Systolic 182 mm[Hg] is above 180.",
                explanation_sv="Systoliskt 182 mm[Hg] är över 180.",
            ),
        )
        conn.commit()
    nurse = bearer(a.tokens["nurse"])
    flag = Flag.model_validate(client.get(f"{BASE}/Flag/{alert_id}", headers=nurse).json())
    references = _details(flag)
    assert [r.rsplit(".", 1)[1] for r in references] == kinds
    reference = references[0]
    panel = client.get(f"{BASE}/{reference}", headers=nurse).json()
    assert vital_signs_problems(panel) == []
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in panel["component"]
    ] == [
        ("8480-6", 182.0),
        ("8462-4", 101.0),
    ]
    # The Flag search gives the same evidence.
    found = client.get(
        f"{BASE}/Flag", params={"patient": str(a.patient_id), "status": "active"}, headers=nurse
    ).json()
    [searched] = [e["resource"] for e in found["entry"] if e["resource"]["id"] == str(alert_id)]
    assert _details(Flag.model_validate(searched)) == references
