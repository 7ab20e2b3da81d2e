"""The FHIR R4 read API: resources that validate against fhir.resources R4B and carry the
vital-signs profile's required elements, keyset paging through `next` links, date and code
searches, and OperationOutcome for 401/403/404/422 with scoping like the API's; a cuff's systolic
and diastolic served as one blood-pressure panel, found by code, component-code and combo-code,
read by its id, and never split across pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.device import Device as FhirDevice
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from hemkoll.store import devices
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.api.conftest import World, bearer
from tests.fhir_profiles import vital_signs_problems

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
    # The vital-signs profile's required elements (and the specific profile's).
    assert vital_signs_problems(obs.model_dump(mode="json", exclude_none=True)) == []


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


def _store_blood_pressure(
    db_url: str, world: World
) -> list[tuple[datetime, str, float | None, float | None]]:
    """Two cuffs measuring at one instant (with a pulse and a weight beside), then a lone
    systolic, a lone diastolic and a pair: (measured at, cuff, systolic, diastolic) of each."""
    a = world.a
    cuff_a = str(a.device_id)
    with connect(db_url) as conn:
        conn.execute("UPDATE devices SET enrolled_at = '2026-01-01' WHERE id = %s", (a.device_id,))
        cuff_b = devices.add_device(
            conn, a.patient_id, "blood_pressure_monitor", enrolled_at=T0 - timedelta(days=9)
        ).device.id
        conn.commit()
        b = str(cuff_b)
        pairs = [
            (T0, cuff_a, 128.0, 82.0),
            (T0, b, 135.0, 85.0),
            (T0 + timedelta(hours=1), cuff_a, 150.0, None),
            (T0 + timedelta(hours=2), cuff_a, None, 95.0),
            (T0 + timedelta(hours=3), cuff_a, 120.0, 80.0),
        ]
        readings = [
            Reading(a.patient_id, a.device_id, "heart_rate", 71.0, T0),
            Reading(a.patient_id, a.device_id, "body_weight", 80.0, T0),
        ]
        for at, device, systolic, diastolic in pairs:
            for metric, value in (("systolic_bp", systolic), ("diastolic_bp", diastolic)):
                if value is not None:
                    readings.append(Reading(a.patient_id, UUID(device), metric, value, at))
        ReadingWriter(conn).write([readings], [])
    return sorted(pairs)


def _search(client: TestClient, world: World, **params: Any) -> list[dict[str, Any]]:
    """Every page's entries, following `next` links; each page at most `_count` entries."""
    url: str | None = f"{BASE}/Observation"
    query: dict[str, Any] | None = {"patient": str(world.a.patient_id), **params}
    found: list[dict[str, Any]] = []
    while url is not None:
        response = client.get(url, params=query, headers=bearer(world.a.tokens["nurse"]))
        assert response.status_code == 200, response.text
        bundle = Bundle.model_validate(response.json())
        page = [e["resource"] for e in response.json().get("entry", [])]
        assert len(page) <= int(params.get("_count", 100))
        found += page
        nxt = [link.url for link in bundle.link or [] if link.relation == "next"]
        url, query = (nxt[0], None) if nxt else (None, None)
    return found


def _panel_values(obs: dict[str, Any]) -> tuple[float | None, float | None]:
    values = {
        c["code"]["coding"][0]["code"]: c.get("valueQuantity", {}).get("value")
        for c in obs["component"]
    }
    return values["8480-6"], values["8462-4"]


def test_blood_pressure_is_one_panel_found_read_and_paged_whole(
    client: TestClient, world: World, db_url: str
) -> None:
    pairs = _store_blood_pressure(db_url, world)
    nurse = bearer(world.a.tokens["nurse"])
    everything = _search(client, world)
    for obs in everything:
        _assert_vital_signs(Observation.model_validate(obs))
    panels = [o for o in everything if o["code"]["coding"][0]["code"] == "85354-9"]
    # One panel per cuff and instant, halves never stored on their own: none is 8480-6/8462-4.
    assert [
        (
            datetime.fromisoformat(o["effectiveDateTime"]),
            o["device"]["reference"],
            *_panel_values(o),
        )
        for o in panels
    ] == [(at, f"Device/{d}", s, d_) for at, d, s, d_ in pairs]
    assert {o["code"]["coding"][0]["code"] for o in everything} == {"85354-9", "8867-4", "29463-7"}
    assert len(everything) == len(pairs) + 2
    # Paged by 1, 2 or 3: the same entries in the same order, each panel whole on its page.
    for count in (1, 2, 3):
        assert _search(client, world, _count=count) == everything

    def ids(**params: Any) -> list[str]:
        return [o["id"] for o in _search(client, world, **params)]

    panel_ids = [o["id"] for o in panels]
    assert ids(code="http://loinc.org|85354-9") == panel_ids
    assert ids(code="urn:iso:std:iso:11073:10101|150020", _count=2) == panel_ids
    # code matches Observation.code only: the halves are components, found by component-code.
    assert ids(code="8480-6") == []
    assert ids(**{"component-code": "http://loinc.org|8480-6"}) == panel_ids
    assert (
        ids(**{"component-code": "8462-4", "date": f"ge{T0 + timedelta(hours=1)}"})
        == (panel_ids[2:])
    )
    assert ids(**{"combo-code": "8462-4,8867-4"}) == [
        o["id"] for o in everything if o["code"]["coding"][0]["code"] != "29463-7"
    ]
    assert ids(**{"code": "8867-4", "component-code": "8480-6"}) == []  # ANDed
    # Read by id: the panel the search served; a half's own id is not an Observation.
    for obs in panels:
        read = client.get(f"{BASE}/Observation/{obs['id']}", headers=nurse)
        assert read.status_code == 200, read.text
        assert read.json() == obs
    half = panel_ids[0].replace(".blood-pressure", ".systolic-bp")
    _outcome(client.get(f"{BASE}/Observation/{half}", headers=nurse), 404)
    # Another centre's nurse: the panel is 404 as one that does not exist.
    other = bearer(world.b.tokens["nurse"])
    _outcome(client.get(f"{BASE}/Observation/{panel_ids[0]}", headers=other), 404)
    with connect(db_url) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = %s AND patient_id = %s AND status = 200",
            (f"GET {BASE}/Observation/{{observation_id}}", world.a.patient_id),
        ).fetchone()
    assert audited == (len(panels),)
