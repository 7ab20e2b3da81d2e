"""FHIR ingest (POST /fhir/R4): a phone gateway's PHD-shaped Bundle, sent with the device's own
credentials, is stored once, read back through the Observation search (also with the fhirpy
client against a real uvicorn server), its bad entries answered per entry and dead-lettered, its
patient queued for the rules; whole-request errors are OperationOutcomes."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhirpy import SyncFHIRClient

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import devices, patients
from hemkoll.store.connect import connect
from tests.api.conftest import World, bearer
from tests.conftest import as_api_role
from tests.fhir_profiles import vital_signs_problems
from tests.helpers import scalar

BASE = "/fhir/R4"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MDC = "urn:iso:std:iso:11073:10101"
NOW = datetime.now(UTC).replace(microsecond=0)
T1 = NOW - timedelta(hours=3)
T2 = NOW - timedelta(hours=2)


@dataclass(frozen=True)
class Gateway:
    id: UUID
    patient_id: UUID
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.id}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}", "Content-Type": "application/fhir+json"}


@pytest.fixture
def gateway(world: World, db_url: str) -> Gateway:
    with connect(db_url) as conn, conn.transaction():
        new = devices.add_device(
            conn, world.a.patient_id, "gateway", enrolled_at=NOW - timedelta(days=2)
        )
    return Gateway(new.device.id, world.a.patient_id, new.mqtt_password)


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _obs(code: str, at: datetime | None, *, mdc: str | None = None, **rest: Any) -> dict[str, Any]:
    coding = [{"system": LOINC, "code": code}]
    if mdc is not None:
        coding.append({"system": MDC, "code": mdc})
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": coding},
        "device": {"reference": "urn:uuid:0f0e5b4a-6a3c-4bde-9d7e-2f4b1f7c0a01"},
        **rest,
    }
    if at is not None:
        resource["effectiveDateTime"] = at.isoformat()
    return {"resource": resource, "request": {"method": "POST", "url": "Observation"}}


DEVICE_ENTRY = {
    "fullUrl": "urn:uuid:0f0e5b4a-6a3c-4bde-9d7e-2f4b1f7c0a01",
    "resource": {
        "resourceType": "Device",
        "identifier": [{"system": "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680", "value": "X"}],
    },
    "request": {"method": "POST", "url": "Device"},
}


def phd_entries() -> list[dict[str, Any]]:
    """Weight in pounds, a BP panel, a heart rate and an SpO2 with MDC codes beside LOINC."""
    return [
        DEVICE_ENTRY,
        _obs("29463-7", T1, mdc="188736", valueQuantity=_quantity(180, "[lb_av]")),
        _obs(
            "85354-9",
            T1,
            mdc="150020",
            component=[
                {
                    "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": _quantity(128, "mm[Hg]"),
                },
                {
                    "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                    "valueQuantity": _quantity(82, "mm[Hg]"),
                },
                {  # mean arterial pressure: not a metric here
                    "code": {"coding": [{"system": LOINC, "code": "8478-0"}]},
                    "valueQuantity": _quantity(97, "mm[Hg]"),
                },
            ],
        ),
        _obs("8867-4", T1, mdc="149546", valueQuantity=_quantity(71, "/min")),
        _obs("59408-5", T2, mdc="150456", valueQuantity=_quantity(96, "%")),
    ]


def bundle(entries: list[dict[str, Any]], kind: str = "batch") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _statuses(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    answer = Bundle.model_validate(response.json())
    return [e.response.status for e in answer.entry or [] if e.response is not None]


def _readings(db_url: str, patient_id: UUID) -> list[tuple[str, float, datetime]]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT metric, value, measured_at FROM readings WHERE patient_id = %s"
            " ORDER BY measured_at, metric",
            (patient_id,),
        ).fetchall()
    return [(str(m), float(v), at) for m, v, at in rows]


def _dead_letters(db_url: str, device_id: UUID) -> list[tuple[int | None, str]]:
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT reading_index, reason_code FROM dead_letters WHERE device_id = %s"
            " ORDER BY reading_index",
            (device_id,),
        ).fetchall()
    return [(i, str(c)) for i, c in rows]


def _observations(client: TestClient, world: World, patient_id: UUID) -> dict[str, Any]:
    response = client.get(
        f"{BASE}/Observation",
        params={"patient": str(patient_id)},
        headers=bearer(world.a.tokens["nurse"]),
    )
    assert response.status_code == 200
    found = Bundle.model_validate(response.json())
    return {
        e.resource.code.coding[0].code: e.resource  # type: ignore[union-attr]
        for e in found.entry or []
    }


def test_a_phd_bundle_round_trips_through_the_observation_search(
    client: TestClient, world: World, gateway: Gateway, db_url: str
) -> None:
    response = client.post(BASE, json=bundle(phd_entries()), headers=gateway.auth)
    assert _statuses(response) == ["200 OK"] + ["201 Created"] * 4
    assert response.json()["type"] == "batch-response"
    by_code = _observations(client, world, gateway.patient_id)
    # The panel comes back as the panel: one Observation 85354-9 with the two components
    # (the mean pressure, not a metric here, is not kept); the pulse beside it on its own.
    assert set(by_code) == {"29463-7", "85354-9", "8867-4", "59408-5"}
    weight = by_code["29463-7"]
    assert weight.valueQuantity.code == "kg"
    assert float(weight.valueQuantity.value) == pytest.approx(180 * 0.45359237)
    assert weight.effectiveDateTime == T1
    assert weight.device.reference == f"Device/{gateway.id}"
    panel = by_code["85354-9"]
    assert panel.valueQuantity is None
    assert [
        (c.code.coding[0].code, c.valueQuantity.value, c.valueQuantity.code)
        for c in panel.component
    ] == [("8480-6", 128, "mm[Hg]"), ("8462-4", 82, "mm[Hg]")]
    assert panel.effectiveDateTime == T1
    assert panel.device.reference == f"Device/{gateway.id}"
    assert vital_signs_problems(panel.model_dump(mode="json", exclude_none=True)) == []
    assert by_code["8867-4"].valueQuantity.value == 71
    assert by_code["59408-5"].effectiveDateTime == T2
    # The location each entry was answered with is the Observation the search returns.
    locations = [e["response"].get("location") for e in response.json()["entry"]]
    assert locations[1:] == [
        f"Observation/{o.id}" for o in (weight, panel, by_code["8867-4"], by_code["59408-5"])
    ]
    # ... and what the Observation read serves at that location.
    read = client.get(f"{BASE}/Observation/{weight.id}", headers=bearer(world.a.tokens["nurse"]))
    assert read.status_code == 200
    assert read.json()["valueQuantity"]["code"] == "kg"
    assert datetime.fromisoformat(read.json()["effectiveDateTime"]) == T1
    # A diastolic posted alone is served as its panel, the systolic absent with a reason.
    lone = client.post(
        BASE,
        json=bundle([DEVICE_ENTRY, _obs("8462-4", T2, valueQuantity=_quantity(77, "mm[Hg]"))]),
        headers=gateway.auth,
    )
    location = lone.json()["entry"][1]["response"]["location"]
    assert location.endswith(".blood-pressure")
    alone = client.get(f"{BASE}/{location}", headers=bearer(world.a.tokens["nurse"])).json()
    assert vital_signs_problems(alone) == []
    assert [
        (c["code"]["coding"][0]["code"], c.get("valueQuantity", {}).get("value"))
        for c in alone["component"]
    ] == [("8480-6", None), ("8462-4", 77)]
    assert alone["component"][0]["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    # Queued for the rules in the readings' transaction, the gateway to be told the outcome.
    with connect(db_url) as conn:
        queued = conn.execute(
            "SELECT feedback_devices FROM evaluation_queue WHERE patient_id = %s",
            (gateway.patient_id,),
        ).fetchone()
    assert queued is not None
    assert gateway.id in queued[0]


def test_a_resent_bundle_adds_nothing(client: TestClient, gateway: Gateway, db_url: str) -> None:
    body = bundle(phd_entries(), kind="transaction")
    first = client.post(BASE, json=body, headers=gateway.auth)
    assert _statuses(first) == ["200 OK"] + ["201 Created"] * 4
    stored = _readings(db_url, gateway.patient_id)
    assert len(stored) == 5
    again = client.post(BASE, json=body, headers=gateway.auth)
    assert _statuses(again) == ["200 OK"] * 5
    assert again.json()["type"] == "transaction-response"
    assert _readings(db_url, gateway.patient_id) == stored


def test_a_bundle_with_a_severe_value_queues_its_patient_urgent(
    client: TestClient, gateway: Gateway, db_url: str
) -> None:
    """The API hands the programme's red limits to the writer, as ingest does
    (hemkoll.rules.urgency): an SpO2 of 86 % puts her ahead of the routine patients."""
    usual = client.post(BASE, json=bundle(phd_entries()), headers=gateway.auth)
    assert usual.status_code == 200
    priority = "SELECT priority FROM evaluation_queue WHERE patient_id = %s"
    assert scalar(db_url, priority, (gateway.patient_id,)) == 0
    severe = [DEVICE_ENTRY, _obs("59408-5", NOW, mdc="150456", valueQuantity=_quantity(86, "%"))]
    assert client.post(BASE, json=bundle(severe), headers=gateway.auth).status_code == 200
    assert scalar(db_url, priority, (gateway.patient_id,)) == 1


BAD = [
    # (entry, reason code)
    (_obs("1234-5", T1, valueQuantity=_quantity(80, "kg")), "code_unknown"),
    (_obs("29463-7", T1, valueQuantity=_quantity(80, "st")), "unit_not_allowed"),
    (_obs("29463-7", None, valueQuantity=_quantity(80, "kg")), "field_missing"),
    (_obs("59408-5", T1, valueQuantity=_quantity(130, "%")), "value_implausible"),
]


def test_bad_entries_are_answered_one_by_one_and_dead_lettered(
    client: TestClient, world: World, gateway: Gateway, db_url: str
) -> None:
    good = _obs("29463-7", T2, valueQuantity=_quantity(79.5, "kg"))
    body = bundle([DEVICE_ENTRY, *(entry for entry, _ in BAD), good])
    response = client.post(BASE, json=body, headers=gateway.auth)
    statuses = _statuses(response)
    assert statuses == ["200 OK"] + ["422 Unprocessable Entity"] * 4 + ["201 Created"]
    for i, (_, code) in enumerate(BAD, start=1):
        outcome = OperationOutcome.model_validate(
            response.json()["entry"][i]["response"]["outcome"]
        )
        issue = outcome.issue[0]
        assert issue.details.coding[0].code == code  # type: ignore[union-attr,index]
        assert issue.expression == [f"Bundle.entry[{i}]"]
        assert f"entry[{i}]" in (issue.diagnostics or "")
    assert _readings(db_url, gateway.patient_id) == [("body_weight", 79.5, T2)]
    letters = [(i, code) for i, (_, code) in enumerate(BAD, start=1)]
    assert _dead_letters(db_url, gateway.id) == letters
    # A resent Bundle is dead-lettered once, as a redelivered MQTT message is.
    client.post(BASE, json=body, headers=gateway.auth)
    assert _dead_letters(db_url, gateway.id) == letters


def test_a_transaction_with_a_bad_entry_stores_nothing(
    client: TestClient, gateway: Gateway, db_url: str
) -> None:
    body = bundle([*phd_entries(), BAD[3][0]], kind="transaction")
    response = client.post(BASE, json=body, headers=gateway.auth)
    assert response.status_code == 400
    outcome = OperationOutcome.model_validate(response.json())
    assert [i.expression for i in outcome.issue] == [["Bundle.entry[5]"]]
    assert _readings(db_url, gateway.patient_id) == []
    assert _dead_letters(db_url, gateway.id) == [(5, "value_implausible")]


def _refused(response: httpx.Response, status: int) -> OperationOutcome:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate(response.json())


def test_wrong_credentials_are_401_with_an_operation_outcome(
    client: TestClient, world: World, gateway: Gateway, db_url: str
) -> None:
    body = bundle(phd_entries())
    wrong = Gateway(gateway.id, gateway.patient_id, gateway.secret + "x")
    other = Gateway(world.a.device_id, gateway.patient_id, gateway.secret)
    for headers in (
        wrong.auth,
        other.auth,  # another device's id with this one's secret
        {"Authorization": "Basic bm90LWEtdXVpZDp4"},
        bearer(world.a.tokens["nurse"]),  # staff tokens do not post readings
        {},
    ):
        response = client.post(BASE, json=body, headers=headers)
        outcome = _refused(response, 401)
        assert outcome.issue[0].code == "login"
        assert response.headers["www-authenticate"].startswith("Basic ")
    assert _readings(db_url, gateway.patient_id) == []


def test_whole_request_errors(client: TestClient, gateway: Gateway, db_url: str) -> None:
    def post(content: bytes) -> httpx.Response:
        return client.post(BASE, content=content, headers=gateway.auth)

    assert _refused(post(b"{not json"), 400).issue[0].details.coding[0].code == "not_json"  # type: ignore[union-attr,index]
    observation = phd_entries()[1]["resource"]
    assert _refused(client.post(BASE, json=observation, headers=gateway.auth), 400)
    collection = client.post(
        BASE, json=bundle(phd_entries(), kind="collection"), headers=gateway.auth
    )
    assert "batch" in (_refused(collection, 400).issue[0].diagnostics or "")
    assert _refused(client.post(BASE, content=b"x" * (2 * 1024 * 1024), headers=gateway.auth), 413)
    text = {**gateway.auth, "Content-Type": "text/plain"}
    assert _refused(client.post(BASE, content=b"{}", headers=text), 415)
    # A discharged patient's devices are deactivated: their readings are refused.
    with connect(db_url) as conn, conn.transaction():
        patients.discharge(conn, gateway.patient_id)
    discharged = client.post(BASE, json=bundle(phd_entries()), headers=gateway.auth)
    assert _refused(discharged, 403).issue[0].code == "forbidden"
    assert _readings(db_url, gateway.patient_id) == []
    codes = {code for _, code in _dead_letters(db_url, gateway.id)}
    assert codes == {"not_json", "not_a_bundle", "bundle_type_invalid", "device_inactive"}


@pytest.fixture
def server(db_url: str) -> Iterator[str]:
    """The API on a real uvicorn server on a free local port, as its deployed role."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(ApiConfig(database_url=as_api_role(db_url), programme=HEART_FAILURE))
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def test_a_fhir_client_reads_back_what_a_gateway_posted(
    server: str, world: World, gateway: Gateway
) -> None:
    posted = httpx.post(server + BASE, json=bundle(phd_entries()), headers=gateway.auth)
    assert _statuses(posted) == ["200 OK"] + ["201 Created"] * 4
    fhir = SyncFHIRClient(server + BASE, authorization=f"Bearer {world.a.tokens['nurse']}")
    # _count=2: fetch_all follows the searchset's next links.
    found = fhir.resources("Observation").search(patient=str(gateway.patient_id)).limit(2)
    observations = found.fetch_all()
    values = sorted(
        (o["code"]["coding"][0]["code"], o.get("valueQuantity", {}).get("value"))
        for o in observations
    )
    assert values == sorted(
        [
            ("29463-7", pytest.approx(180 * 0.45359237)),
            ("85354-9", None),
            ("8867-4", 71),
            ("59408-5", 96),
        ]
    )
    [panel] = [o for o in observations if o["code"]["coding"][0]["code"] == "85354-9"]
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [128, 82]
    # The panel by its component's code, as a client searches for a systolic pressure.
    by_component = fhir.resources("Observation").search(
        patient=str(gateway.patient_id), **{"component-code": "http://loinc.org|8480-6"}
    )
    assert [o["id"] for o in by_component.fetch_all()] == [panel["id"]]
    weight = fhir.resources("Observation").search(patient=str(gateway.patient_id), code="29463-7")
    assert [o["device"]["reference"] for o in weight.fetch_all()] == [f"Device/{gateway.id}"]
