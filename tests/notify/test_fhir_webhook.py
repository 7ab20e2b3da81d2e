"""FHIR-shaped webhooks (docs/fhir.md): a centre that chose ``fhir`` gets, for an alert, a FHIR
Bundle of the Flag and the Observations that triggered it, signed with Standard Webhooks as
ever; the default format is hemkoll's JSON, unchanged. The alert is opened by the real rules
worker from stored readings, delivered by the real dispatcher to a real HTTP receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from standardwebhooks import Webhook

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.notify.channels import DeliveryBug
from hemkoll.notify.dispatcher import Dispatcher
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.store.connect import connect
from hemkoll.store.devices import Enrolment
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.fhir_profiles import vital_signs_problems
from tests.helpers import scalar
from tests.notify.receiver import Receiver
from tests.notify.support import (
    attempts,
    committed_alert,
    dispatcher_config,
    drain,
    new_secret,
    set_endpoint,
)

SPO2 = RuleSet(
    name="fhir spo2 v1",
    rules=(ThresholdRule(id="spo2_low", metric="spo2", yellow=Band(low=94), red=Band(low=90)),),
)


def _alert_from_readings(db_url: str, e: Enrolment, values: list[float]) -> datetime:
    """Store SpO2 readings an hour apart and evaluate them; the last reading's time."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=len(values) + 1)
    readings = [
        Reading(e.patient.id, e.device.id, "spo2", v, start + timedelta(hours=i))
        for i, v in enumerate(values)
    ]
    with connect(db_url) as conn:
        ReadingWriter(conn).write([readings], [])
    worker = RulesWorker(RulesConfig(db_url, SPO2))
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert (worker.evaluated, worker.failed) == (1, 0)
    return readings[-1].measured_at


def _deliver(db_url: str) -> None:
    dispatcher = Dispatcher(dispatcher_config(db_url))
    try:
        drain(
            dispatcher,
            db_url,
            lambda: (
                scalar(
                    db_url,
                    "SELECT count(*) FROM notifications WHERE channel = 'care_team'"
                    " AND state <> 'delivered'",
                )
                == 0
            ),
        )
    finally:
        dispatcher.close()


def test_a_fhir_centre_gets_a_signed_bundle_of_the_flag_and_its_observations(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    secret = new_secret()
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, secret)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE health_centres SET webhook_format = 'fhir' WHERE id = %s",
            (enrolment.health_centre.id,),
        )
    fired_at = _alert_from_readings(db_url, enrolment, [97, 96, 93])
    _deliver(db_url)

    [request] = receiver.requests
    assert request.headers["content-type"] == "application/fhir+json"
    # Signed as every webhook is: the receiver's library verifies it with the centre's secret.
    Webhook(secret).verify(request.body, request.headers)
    bundle = Bundle.model_validate_json(request.body)
    assert bundle.type == "collection"
    resources = [entry.resource for entry in bundle.entry or []]
    flag = Flag.model_validate(resources[0].model_dump())
    observations = [Observation.model_validate(r.model_dump()) for r in resources[1:]]
    assert flag.status == "active"
    assert flag.subject.reference == f"Patient/{enrolment.patient.id}"
    assert flag.code.coding is not None
    assert flag.code.coding[0].code == "spo2_low"
    assert flag.code.text  # the alert's explanation, in words
    assert flag.author is not None
    assert flag.author.display == enrolment.health_centre.name
    assert flag.period is not None
    assert flag.period.start is not None
    # The reading that fired it, as an Observation in the Bundle and referenced by the Flag.
    assert [o.effectiveDateTime for o in observations] == [fired_at]
    assert observations[0].valueQuantity is not None
    assert observations[0].valueQuantity.value == 93
    details = [
        x.valueReference.reference
        for x in flag.extension or []
        if x.url == "http://hl7.org/fhir/StructureDefinition/flag-detail" and x.valueReference
    ]
    assert details == [f"Observation/{observations[0].id}"]
    full_urls = [entry.fullUrl for entry in bundle.entry or []]
    assert full_urls[0] == f"https://hemkoll.example.se/fhir/R4/Flag/{flag.id}"


SYSTOLIC = RuleSet(
    name="fhir systolic v1",
    rules=(
        ThresholdRule(
            id="systolic_high", metric="systolic_bp", yellow=Band(high=160), red=Band(high=180)
        ),
    ),
)


def test_a_blood_pressure_alerts_bundle_holds_the_panel_with_both_halves(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    """The rules snapshot the systolic reading that fired with its diastolic (the dispatcher
    may not read readings), and the Bundle serves the two as one panel the Flag points at."""
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE health_centres SET webhook_format = 'fhir' WHERE id = %s",
            (enrolment.health_centre.id,),
        )
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    p, d = enrolment.patient.id, enrolment.device.id
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [
                [
                    Reading(p, d, "systolic_bp", 186, at),
                    Reading(p, d, "diastolic_bp", 104, at),
                    Reading(p, d, "heart_rate", 90, at),
                ]
            ],
            [],
        )
    worker = RulesWorker(RulesConfig(db_url, SYSTOLIC))
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert (worker.evaluated, worker.failed) == (1, 0)
    _deliver(db_url)

    [request] = receiver.requests
    bundle = Bundle.model_validate_json(request.body)
    flag, *observations = [e.resource.model_dump(mode="json") for e in bundle.entry or []]
    assert [o["code"]["coding"][0]["code"] for o in observations] == ["85354-9"]
    [panel] = observations
    assert vital_signs_problems(panel) == []
    assert datetime.fromisoformat(panel["effectiveDateTime"]) == at
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in panel["component"]
    ] == [
        ("8480-6", 186),
        ("8462-4", 104),
    ]
    details = [
        x["valueReference"]["reference"]
        for x in flag["extension"]
        if x["url"] == "http://hl7.org/fhir/StructureDefinition/flag-detail"
    ]
    assert details == [f"Observation/{panel['id']}"]
    assert bundle.entry is not None
    assert (
        bundle.entry[1].fullUrl == f"https://hemkoll.example.se/fhir/R4/Observation/{panel['id']}"
    )


def test_the_default_format_is_hemkolls_json_without_a_snapshot(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    secret = new_secret()
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, secret)
    assert (
        scalar(
            db_url,
            "SELECT webhook_format FROM health_centres WHERE id = %s",
            (enrolment.health_centre.id,),
        )
        == "hemkoll"
    )
    _alert_from_readings(db_url, enrolment, [97, 96, 93])
    _deliver(db_url)
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"
    Webhook(secret).verify(request.body, request.headers)
    body = json.loads(request.body)
    assert body["type"] == "alert.opened"
    assert body["data"]["rule_id"] == "spo2_low"
    assert "resourceType" not in body
    # Nothing of the readings is copied into the outbox for a centre that does not need it.
    assert scalar(db_url, "SELECT count(*) FROM notifications WHERE evidence IS NOT NULL") == 0


def test_an_alert_that_does_not_render_as_fhir_is_a_bug_not_a_retry(
    db_url: str, enrolment: Enrolment, receiver: Receiver
) -> None:
    set_endpoint(db_url, enrolment.health_centre.id, receiver.url, new_secret())
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE health_centres SET webhook_format = 'fhir' WHERE id = %s",
            (enrolment.health_centre.id,),
        )
    _, notification_id = committed_alert(db_url, enrolment.patient.id)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE notifications SET payload = payload #- '{data,opened_at}'")
    dispatcher = Dispatcher(dispatcher_config(db_url))
    try:
        with connect(db_url) as conn, pytest.raises(DeliveryBug, match="render as FHIR"):
            dispatcher.process_due(conn)
    finally:
        dispatcher.close()
    assert receiver.requests == []
    assert attempts(db_url, notification_id) == []  # no retry spent on a bug
