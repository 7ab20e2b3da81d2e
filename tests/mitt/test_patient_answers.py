"""Questionnaire answers in the patient app become readings (docs/patient.md): the daily
symptoms are stored as the readings a questionnaire device sends, on her app device, queued
for the rules in the same transaction; a severe answer joins her alert and gets the message a
device's would; the weekly self-rated health is a ``self_rated_health`` reading. Real API,
PostgreSQL and rules worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store import devices
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.api.conftest import World, client, world
from tests.mitt.test_patient_app import ORIGIN, code_for, rows, sign_in

__all__ = ["client", "world"]
# What a severe answer tells her when it opens no new alert (docs/patient-messages.md).
CALL_NOW = "Ring din vårdcentral nu."
SEVERE_BREATHLESSNESS = {
    "symptom_breathlessness": "3",
    "symptom_ankle_swelling": "1",
    "symptom_fatigue": "0",
    # The follow-up a severe answer calls for: worse than usual.
    "worse_than_usual": "1",
}


def _evaluate(db_url: str) -> None:
    worker = RulesWorker(RulesConfig(db_url, HEART_FAILURE))
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert worker.failed == 0


def _told(db_url: str, patient_id: UUID) -> list[dict[str, Any]]:
    """The device messages queued for the patient, with the kind of device each is for."""
    with psycopg.connect(db_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT n.event, d.kind, n.payload->>'text' AS text FROM notifications AS n"
            " JOIN devices AS d ON d.id = n.device_id"
            " WHERE n.channel = 'device' AND n.patient_id = %s ORDER BY d.kind",
            (patient_id,),
        ).fetchall()


def test_daily_symptoms_in_the_app_are_readings_the_rules_act_on_like_a_devices(
    client: TestClient, world: World, db_url: str
) -> None:
    sign_in(client, code_for(client, world, world.a.patient_id))
    assert "Andfåddhet" in client.get("/mitt/questionnaires/daily-symptoms").text
    r = client.post(
        "/mitt/questionnaires/daily-symptoms",
        data=SEVERE_BREATHLESSNESS,
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303
    # Stored once as readings of her app device, in the symptom metrics' canonical values.
    stored = rows(
        db_url,
        "SELECT d.kind, r.metric, r.value FROM readings AS r JOIN devices AS d"
        " ON d.id = r.device_id WHERE r.patient_id = %s ORDER BY r.metric",
        world.a.patient_id,
    )
    assert stored == [
        ("patient_app", "symptom_ankle_swelling", 1.0),
        ("patient_app", "symptom_breathlessness", 3.0),
        ("patient_app", "symptom_fatigue", 0.0),
        ("patient_app", "worse_than_usual", 1.0),
    ]
    # Queued for the rules in the same transaction, her app as the device to tell.
    [(feedback_devices,)] = rows(
        db_url,
        "SELECT q.feedback_devices FROM evaluation_queue AS q WHERE q.patient_id = %s",
        world.a.patient_id,
    )
    [(app_id,)] = rows(
        db_url,
        "SELECT id FROM devices WHERE patient_id = %s AND kind = 'patient_app'",
        world.a.patient_id,
    )
    assert feedback_devices == [app_id]
    # The full response is kept too (the follow-up is no part of the score).
    assert rows(db_url, "SELECT questionnaire, score FROM questionnaire_responses") == [
        ("daily-symptoms", 4.0)
    ]
    # The same answers from patient B's questionnaire device, through the ingest's writer.
    with connect(db_url) as conn:
        device = devices.add_device(conn, world.b.patient_id, "symptom_questionnaire").device
        conn.commit()
        at = datetime.now(UTC)
        ReadingWriter(conn).write(
            [
                [
                    Reading(world.b.patient_id, device.id, metric, float(value), at)
                    for metric, value in SEVERE_BREATHLESSNESS.items()
                ]
            ],
            [],
        )
    _evaluate(db_url)
    # Each joins her alert of the same deterioration (the world's open red weight-gain alert:
    # one alert per deterioration), the severe breathlessness in its history as evidence ...
    for patient_id in (world.a.patient_id, world.b.patient_id):
        assert rows(
            db_url,
            "SELECT a.severity, a.state, e.details->>'rule_id' FROM alerts AS a"
            " JOIN alert_events AS e ON e.alert_id = a.id"
            " AND e.kind IN ('severity_raised', 'evidence_added')"
            " WHERE a.patient_id = %s AND a.state <> 'resolved'",
            patient_id,
        ) == [("red", "open", "breathlessness_at_rest")]
    # ... and the message her app is given is the one B's questionnaire device is given: with
    # no new alert, what her severe answer calls for.
    hers = {m["kind"]: m for m in _told(db_url, world.a.patient_id)}
    theirs = {m["kind"]: m for m in _told(db_url, world.b.patient_id)}
    app, questionnaire = hers["patient_app"], theirs["symptom_questionnaire"]
    assert (app["event"], app["text"]) == (questionnaire["event"], questionnaire["text"])
    assert app["event"] == "readings.severe_symptom"
    assert "din andfåddhet är svår" in app["text"]
    assert CALL_NOW in app["text"]
    # She reads it in the app once the rules have evaluated her answers.
    page = client.get("/mitt/questionnaires?answered=daily-symptoms").text
    assert "Tack, dina svar har sparats." in page
    assert CALL_NOW in page
    # The app is no broker client: it has no MQTT credential.
    with connect(db_url) as conn:
        assert app_id not in {c.id for c in devices.active_device_credentials(conn)}


def test_weekly_self_rated_health_is_a_reading_of_the_same_app_device(
    client: TestClient, world: World, db_url: str
) -> None:
    sign_in(client, code_for(client, world, world.a.patient_id))
    for form in (SEVERE_BREATHLESSNESS, {"self_rated_health": "2"}):
        questionnaire = "weekly-health" if "self_rated_health" in form else "daily-symptoms"
        r = client.post(
            f"/mitt/questionnaires/{questionnaire}",
            data=form,
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert rows(
        db_url,
        "SELECT r.value, d.kind FROM readings AS r JOIN devices AS d ON d.id = r.device_id"
        " WHERE r.metric = 'self_rated_health'",
    ) == [(2.0, "patient_app")]
    assert rows(
        db_url,
        "SELECT count(*) FROM devices WHERE kind = 'patient_app' AND patient_id = %s",
        world.a.patient_id,
    ) == [(1,)]
    # An answer that is not one of the options is no reading either.
    bad = client.post(
        "/mitt/questionnaires/weekly-health", data={"self_rated_health": "6"}, headers=ORIGIN
    )
    assert bad.status_code == 422
    assert rows(db_url, "SELECT count(*) FROM readings WHERE metric = 'self_rated_health'") == [
        (1,)
    ]


FOLLOW_UP_SV = "Är det här värre än vanligt för dig?"


def test_the_follow_up_is_asked_only_after_a_high_answer_and_the_rule_reads_it(
    client: TestClient, world: World, db_url: str
) -> None:
    sign_in(client, code_for(client, world, world.a.patient_id))
    page = client.get("/mitt/questionnaires/daily-symptoms").text
    assert "Andfåddhet" in page
    assert FOLLOW_UP_SV not in page
    # Mild answers: no follow-up is asked, and one sent with them (answers changed after it was
    # asked) is left out.
    mild = {"symptom_breathlessness": "1", "symptom_ankle_swelling": "1", "symptom_fatigue": "0"}
    r = client.post(
        "/mitt/questionnaires/daily-symptoms",
        data=mild | {"worse_than_usual": "1"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert rows(db_url, "SELECT count(*) FROM readings WHERE metric = 'worse_than_usual'") == [(0,)]
    assert rows(db_url, "SELECT answers FROM questionnaire_responses") == [
        ({"symptom_breathlessness": 1, "symptom_ankle_swelling": 1, "symptom_fatigue": 0},)
    ]
    # "At rest": the page asks the follow-up, her answers kept, and stores nothing yet.
    severe = SEVERE_BREATHLESSNESS | {"worse_than_usual": ""}
    asked = client.post("/mitt/questionnaires/daily-symptoms", data=severe, headers=ORIGIN)
    assert asked.status_code == 200
    assert FOLLOW_UP_SV in asked.text
    assert "En fråga till innan svaren skickas." in asked.text
    assert 'name="symptom_breathlessness" value="3" required checked' in asked.text
    assert rows(db_url, "SELECT count(*) FROM questionnaire_responses") == [(1,)]
    # A value that is no answer offered is refused as her answer.
    bad = client.post(
        "/mitt/questionnaires/daily-symptoms",
        data=severe | {"worse_than_usual": "2"},
        headers=ORIGIN,
    )
    assert bad.status_code == 422
    # "Not worse than usual": stored as a reading beside the answers, with their measured_at.
    r = client.post(
        "/mitt/questionnaires/daily-symptoms",
        data=severe | {"worse_than_usual": "0"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303
    [(follow_up, at_follow_up)] = rows(
        db_url,
        "SELECT value, measured_at FROM readings WHERE metric = 'worse_than_usual'",
    )
    [(at_answer,)] = rows(
        db_url,
        "SELECT measured_at FROM readings WHERE metric = 'symptom_breathlessness' AND value = 3",
    )
    assert (follow_up, at_follow_up) == (0.0, at_answer)
    assert rows(
        db_url,
        "SELECT answers->'worse_than_usual', score FROM questionnaire_responses"
        " ORDER BY authored_at DESC LIMIT 1",
    ) == [(0, 4.0)]
    # The preset's at-rest rule reads the follow-up: no alert on "not worse than usual".
    worker = RulesWorker(RulesConfig(db_url, HEART_FAILURE))
    with connect(db_url) as conn:
        worker.process_due(conn)
    assert worker.failed == 0
    assert rows(
        db_url,
        "SELECT count(*) FROM alerts WHERE patient_id = %s AND rule_id = 'breathlessness_at_rest'",
        world.a.patient_id,
    ) == [(0,)]
