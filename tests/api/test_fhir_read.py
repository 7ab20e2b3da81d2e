"""The FHIR R4 read API: resources that validate against fhir.resources R4B and carry the
vital-signs profile's required elements, keyset paging through `next` links, date and code
searches, and OperationOutcome for 401/403/404/422 with scoping like the API's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.device import Device as FhirDevice
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.api.conftest import World, bearer

T0 = datetime(2026, 11, 9, 8, tzinfo=UTC)
BASE = "/fhir/R4"


def _store(db_url: str, world: World) -> None:
    a = world.a
    readings = [
        Reading(a.patient_id, a.device_id, "body_weight", 80.0 + i / 10, T0 + timedelta(hours=i))
        for i in range(5)
    ] + [
        Reading(a.patient_id, a.device_id, "spo2", 95.0, T0 + timedelta(minutes=30)),
        Reading(a.patient_id, a.device_id, "symptom_fatigue", 2.0, T0 + timedelta(minutes=40)),
    ]
    with connect(db_url) as conn:
        conn.execute("UPDATE devices SET enrolled_at = '2026-01-01' WHERE id = %s", (a.device_id,))
        conn.commit()
        ReadingWriter(conn).write([readings], [])


def _outcome(response: Any, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/fhir+json")
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].severity == "error"


def _assert_vital_signs(obs: Observation) -> None:
    # The vital-signs profile's required elements.
    assert obs.status in {"final", "amended", "corrected", "registered", "preliminary"}
    assert any(c.code == "vital-signs" for cat in obs.category or [] for c in cat.coding or [])
    assert obs.code.coding
    assert obs.subject is not None
    assert obs.effectiveDateTime is not None
    assert obs.valueQuantity is not None or obs.component or obs.dataAbsentReason
    q = obs.valueQuantity
    assert q is not None
    assert q.system == "http://unitsofmeasure.org"
    assert q.code


def test_search_pages_validate_and_filter(client: TestClient, world: World, db_url: str) -> None:
    _store(db_url, world)
    a = world.a
    nurse = bearer(a.tokens["nurse"])
    params: dict[str, Any] | None = {
        "patient": f"Patient/{a.patient_id}",
        "code": "http://loinc.org|29463-7",
        "date": ["ge2026-11-09T00:00:00Z", "lt2026-11-10T00:00:00Z"],
        "_count": 2,
    }
    url: str | None = f"{BASE}/Observation"
    weights: list[float] = []
    while url is not None:
        response = client.get(url, params=params, headers=nurse)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate(response.json())
        assert bundle.type == "searchset"
        for entry in bundle.entry or []:
            obs = Observation.model_validate(entry.resource.model_dump())
            _assert_vital_signs(obs)
            codes = {(c.system, c.code) for c in obs.code.coding or []}
            assert ("urn:iso:std:iso:11073:10101", "188736") in codes
            assert obs.valueQuantity is not None
            assert obs.valueQuantity.code == "kg"
            weights.append(float(obs.valueQuantity.value or 0))
        nxt = [link.url for link in bundle.link or [] if link.relation == "next"]
        url, params = (nxt[0], None) if nxt else (None, None)
    assert weights == [80.0, 80.1, 80.2, 80.3, 80.4]

    # gt/le bounds, and SpO2 carries 2708-6 beside 59408-5.
    spo2 = client.get(
        f"{BASE}/Observation",
        params={"patient": str(a.patient_id), "code": "2708-6"},
        headers=nurse,
    ).json()
    obs = Observation.model_validate(spo2["entry"][0]["resource"])
    _assert_vital_signs(obs)
    assert {"59408-5", "2708-6"} <= {c.code for c in obs.code.coding or []}
    later = client.get(
        f"{BASE}/Observation",
        params={
            "patient": str(a.patient_id),
            "code": "29463-7",
            "date": ["gt2026-11-09T08:00:00Z", "le2026-11-09T10:00:00Z"],
        },
        headers=nurse,
    ).json()
    assert [e["resource"]["valueQuantity"]["value"] for e in later["entry"]] == [80.1, 80.2]
    fatigue = client.get(
        f"{BASE}/Observation",
        params={"patient": str(a.patient_id), "code": "urn:hemkoll:metric|symptom_fatigue"},
        headers=nurse,
    ).json()
    symptom = Observation.model_validate(fatigue["entry"][0]["resource"])
    assert symptom.valueQuantity is not None
    assert symptom.valueQuantity.code == "{score}"


def test_metadata_patient_and_errors(client: TestClient, world: World, db_url: str) -> None:
    meta = client.get(f"{BASE}/metadata")
    assert meta.status_code == 200
    assert CapabilityStatement.model_validate(meta.json()).fhirVersion == "4.0.1"
    a, b = world.a, world.b
    nurse = bearer(a.tokens["nurse"])
    patient = Patient.model_validate(
        client.get(f"{BASE}/Patient/{a.patient_id}", headers=nurse).json()
    )
    assert patient.id == str(a.patient_id)
    assert patient.name is None
    assert patient.birthDate is None
    assert patient.telecom is None
    device = FhirDevice.model_validate(
        client.get(f"{BASE}/Device/{a.device_id}", headers=nurse).json()
    )
    assert device.status == "active"
    assert device.patient is not None
    assert device.patient.reference == f"Patient/{a.patient_id}"
    _outcome(client.get(f"{BASE}/Device/{b.device_id}", headers=nurse), 404)
    _outcome(client.get(f"{BASE}/Patient/{a.patient_id}"), 401)
    _outcome(client.get(f"{BASE}/Patient/{a.patient_id}", headers=bearer(a.tokens["admin"])), 403)
    _outcome(client.get(f"{BASE}/Patient/{b.patient_id}", headers=nurse), 404)
    _outcome(
        client.get(f"{BASE}/Observation", params={"patient": str(b.patient_id)}, headers=nurse),
        404,
    )
    _outcome(
        client.get(
            f"{BASE}/Observation",
            params={"patient": str(a.patient_id), "date": "2026-11-09"},
            headers=nurse,
        ),
        422,
    )
    with connect(db_url) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = %s AND patient_id = %s AND status = 200",
            (f"GET {BASE}/Patient/{{patient_id}}", a.patient_id),
        ).fetchone()
    assert audited is not None
    assert audited[0] == 1
