"""The patient app against the real API and PostgreSQL: an enrolment code signs her in once;
her pages show her own data only; "please contact me" reaches the centre's worklist and its
receiver as a signed webhook; a nurse's reply reaches her; every access is in the audit log
with her session as the actor. And the authorization matrix: every patient route refuses a
request without her session, staff credentials are no patient session, and her session opens
no staff route."""

from __future__ import annotations

import json
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from hemkoll.notify.dispatcher import Dispatcher
from tests.api.conftest import World, bearer, client, world
from tests.notify.conftest import receiver
from tests.notify.receiver import Receiver
from tests.notify.support import dispatcher_config, drain, new_secret, set_endpoint

__all__ = ["client", "receiver", "world"]
ORIGIN = {"origin": "http://testserver"}
PATIENT_GETS = (
    "/mitt/",
    "/mitt/?days=90",
    "/mitt/contact",
    "/mitt/messages",
    "/mitt/questionnaires",
    "/mitt/questionnaires/weekly-health",
    "/mitt/goals",
    "/mitt/access-log",
)
PATIENT_POSTS = (
    ("/mitt/contact", {"worry": "2"}),
    ("/mitt/messages", {"body": "hej"}),
    ("/mitt/questionnaires/weekly-health", {"self_rated_health": "3"}),
    ("/mitt/goals", {"kind": "goal", "text": "x"}),
    ("/mitt/sign-out", {}),
)


def code_for(client: TestClient, world: World, patient_id: UUID, centre: str = "a") -> str:
    tokens = world.a.tokens if centre == "a" else world.b.tokens
    r = client.post(f"/api/v1/patients/{patient_id}/patient-codes", headers=bearer(tokens["nurse"]))
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def sign_in(client: TestClient, code: str) -> str:
    client.cookies.clear()
    r = client.post("/mitt/sign-in", data={"code": code}, headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Path=/mitt" in cookie
    assert "SameSite=strict" in cookie
    return str(client.cookies.get("hemkoll_mitt"))


def rows(db_url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def test_code_signs_in_once_and_is_stored_hashed(
    client: TestClient, world: World, db_url: str
) -> None:
    code = code_for(client, world, world.a.patient_id)
    assert len(code) == 11
    assert code[5] == "-"
    [(stored,)] = rows(db_url, "SELECT code_hash FROM patient_codes")
    assert code.encode() not in bytes(stored)  # type: ignore[arg-type]
    sign_in(client, code.lower().replace("-", " "))  # as typed: any case, spaces
    assert client.get("/mitt/").status_code == 200
    client.cookies.clear()
    again = client.post("/mitt/sign-in", data={"code": code}, headers=ORIGIN)
    assert again.status_code == 401
    # Sign-out ends the session server-side: the same cookie no longer works.
    token = sign_in(client, code_for(client, world, world.a.patient_id))
    assert client.post("/mitt/sign-out", headers=ORIGIN, follow_redirects=False).status_code == 303
    client.cookies.set("hemkoll_mitt", token, path="/mitt")
    assert client.get("/mitt/", follow_redirects=False).status_code == 303


def test_guessing_codes_is_rate_limited(client: TestClient, world: World) -> None:
    for _ in range(10):
        assert (
            client.post("/mitt/sign-in", data={"code": "AAAAA-AAAAA"}, headers=ORIGIN).status_code
            == 401
        )
    code = code_for(client, world, world.a.patient_id)
    refused = client.post("/mitt/sign-in", data={"code": code}, headers=ORIGIN)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "900"


def test_contact_request_reaches_worklist_and_receiver_and_reply_reaches_her(
    client: TestClient, world: World, db_url: str, receiver: Receiver
) -> None:
    secret = new_secret()
    set_endpoint(db_url, world.a.id, receiver.url, secret)
    sign_in(client, code_for(client, world, world.a.patient_id))
    r = client.post(
        "/mitt/contact",
        data={"worry": "3", "reason": "Benen svullnar"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303
    contact = client.get("/mitt/contact").text
    assert "Mottagen" in contact
    assert "Är det bråttom? Ring 1177, eller 112 vid fara för livet." in contact
    assert "Är det bråttom?" in client.get("/mitt/messages").text
    assert (
        client.post(
            "/mitt/messages", data={"body": "Ska jag ta en extra tablett?"}, headers=ORIGIN
        ).status_code
        == 200
    )
    # The centre's receiver gets the signed webhook through the outbox.
    [(notification_id,)] = rows(
        db_url, "SELECT id FROM notifications WHERE event = 'patient.contact_requested'"
    )
    dispatcher = Dispatcher(dispatcher_config(db_url))
    drain(dispatcher, db_url, lambda: bool(receiver.of(notification_id)))  # type: ignore[arg-type]
    dispatcher.close()
    [request] = receiver.of(notification_id)  # type: ignore[arg-type]
    body = Webhook(secret).verify(request.body.decode(), request.headers)
    assert body["type"] == "patient.contact_requested"
    assert body["data"]["worry"] == 3
    assert "Benen" not in json.dumps(body)  # what she wrote stays behind the sign-in
    assert body["data"]["link"].endswith(f"/console/patients/{world.a.patient_id}")
    # The nurse sees it in the worklist, opens her page (seen) and answers.
    client.cookies.clear()
    client.post("/console/sign-in", data={"token": world.a.tokens["nurse"]}, headers=ORIGIN)
    worklist = client.get("/console/worklist").text
    assert "Benen svullnar" in worklist
    assert "extra tablett" in worklist
    page = client.get(f"/console/patients/{world.a.patient_id}").text
    [(thread,)] = rows(db_url, "SELECT thread_id FROM care_messages")
    r = client.post(
        f"/console/patients/{world.a.patient_id}/messages",
        data={"body": "Nej, vi ringer dig i dag.", "thread": str(thread)},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Benen svullnar" in page
    # She sees the state and the answer.
    sign_in(client, code_for(client, world, world.a.patient_id))
    assert "Sedd" in client.get("/mitt/contact").text
    assert "vi ringer dig i dag" in client.get("/mitt/messages").text
    # Her reads are in the audit log with her session as the actor; the nurse's in her log.
    audited = rows(
        db_url,
        "SELECT count(*) FROM audit_log WHERE role = 'patient' AND patient_session_id IS NOT NULL"
        " AND staff_id IS NULL AND object_type = 'care_message' AND patient_id = %s",
        world.a.patient_id,
    )
    assert audited[0][0] >= 3
    assert "Vårdcentral A" in client.get("/mitt/access-log").text


def test_weekly_questionnaire_and_goals_reach_the_console(
    client: TestClient, world: World, db_url: str
) -> None:
    sign_in(client, code_for(client, world, world.a.patient_id))
    bad = client.post(
        "/mitt/questionnaires/weekly-health", data={"self_rated_health": "9"}, headers=ORIGIN
    )
    assert bad.status_code == 422
    ok = client.post(
        "/mitt/questionnaires/weekly-health",
        data={"self_rated_health": "4"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert rows(db_url, "SELECT score FROM questionnaire_responses") == [(4.0,)]
    client.post("/mitt/goals", data={"kind": "preference", "text": "Ring före tio"}, headers=ORIGIN)
    client.cookies.clear()
    client.post("/console/sign-in", data={"token": world.a.tokens["nurse"]}, headers=ORIGIN)
    page = client.get(f"/console/patients/{world.a.patient_id}?alert={world.a.alert_id}").text
    assert "Ring före tio" in page
    assert "Veckans hälsa: 4" in page


@pytest.mark.parametrize("path", PATIENT_GETS)
def test_matrix_gets(client: TestClient, world: World, path: str) -> None:
    # No session, a staff bearer token, a staff token in the patient cookie: sign in first.
    client.cookies.clear()
    for headers in ({}, bearer(world.a.tokens["nurse"])):
        r = client.get(path, headers=headers, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/mitt/sign-in")
    client.cookies.set("hemkoll_mitt", world.a.tokens["admin"], path="/mitt")
    assert client.get(path, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("path", "form"), PATIENT_POSTS)
def test_matrix_posts(
    client: TestClient, world: World, db_url: str, path: str, form: dict[str, str]
) -> None:
    client.cookies.clear()
    r = client.post(
        path,
        data=form,
        headers={**ORIGIN, **bearer(world.a.tokens["nurse"])},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/mitt/sign-in")
    # Her session, from another site: refused, nothing written.
    sign_in(client, code_for(client, world, world.a.patient_id))
    r = client.post(
        path, data=form, headers={"origin": "https://evil.example"}, follow_redirects=False
    )
    assert r.status_code == 403
    for table in ("contact_requests", "care_messages", "questionnaire_responses", "patient_goals"):
        assert rows(db_url, f"SELECT count(*) FROM {table}") == [(0,)]


def test_her_session_opens_no_staff_route_and_never_another_patients_data(
    client: TestClient, world: World
) -> None:
    token = sign_in(client, code_for(client, world, world.b.patient_id, "b"))
    client.post("/mitt/messages", data={"body": "B:s hemlighet"}, headers=ORIGIN)
    client.post("/mitt/goals", data={"kind": "goal", "text": "B:s mål"}, headers=ORIGIN)
    sign_in(client, code_for(client, world, world.a.patient_id))
    for path in PATIENT_GETS:
        text = client.get(path).text
        assert "B:s" not in text
        assert "PB-0001" not in text
    assert (
        client.get(f"/api/v1/patients/{world.b.patient_id}", headers=bearer(token)).status_code
        == 401
    )
    client.cookies.set("hemkoll_console", token, path="/console")
    r = client.get("/console/worklist", follow_redirects=False)
    assert r.status_code == 303
    assert "/console/sign-in" in r.headers["location"]


def test_targets_in_words_from_her_rules_and_usual_weight() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from hemkoll.api.console.i18n import CATALOGUE, Formatter  # noqa: PLC0415
    from hemkoll.api.mitt.targets import targets, usual  # noqa: PLC0415
    from hemkoll.rules.preset import HEART_FAILURE  # noqa: PLC0415

    fmt = Formatter("en", ZoneInfo("Europe/Stockholm"), datetime.now(UTC))
    weight = usual([80.6, 81.0, 81.2, 80.9, 81.1, 80.8, 81.0])
    assert weight == 81.0
    assert usual([81.0] * 6) is None  # under a week of days: no usual value said
    said = [t.text for t in targets(HEART_FAILURE, {"body_weight": 81.0}, CATALOGUE["en"], fmt)]
    rise = "Call if your weight rises more than 2 kg in 3 days."
    assert said.index("Your usual weight is about 81.0 kg.") < said.index(rise)
    assert len(said) == len(set(said))
    assert sum("systolic" in text and "between" in text for text in said) == 1


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_an_open_alert_says_what_its_severity_promises(lang: str) -> None:
    """Red: the centre is to contact her now, and she calls if it has not; yellow: the same
    day. Not "will look at it", which promised nothing."""
    from dataclasses import replace  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415
    from uuid import uuid4  # noqa: PLC0415

    from hemkoll.api.console.i18n import CATALOGUE  # noqa: PLC0415
    from hemkoll.api.mitt.home import alert_words  # noqa: PLC0415
    from hemkoll.store.alerts import AlertDetail  # noqa: PLC0415

    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    red = AlertDetail(
        id=uuid4(),
        patient_id=uuid4(),
        patient_reference="TUNA-0042",
        health_centre_id=uuid4(),
        rule_id="spo2_urgent",
        rule_kind="threshold",
        rule_set="heart-failure programme v2",
        state="open",
        severity="red",
        opened_at=at,
        severity_since=at,
        first_fired_at=at,
        last_fired_at=at,
        acknowledged_at=None,
        resolved_at=None,
        outcome=None,
        assigned_to=None,
        escalated_at=None,
        evidence={},
        explanation_en="",
        explanation_sv="",
    )
    t = CATALOGUE[lang]
    now_word, today_word, call = {
        "sv": ("nu", "samma dag", "ring dem"),
        "en": ("now", "the same day", "call them"),
    }[lang]
    said_red = alert_words(red, t)
    assert f" {now_word}." in said_red
    assert call in said_red
    phone = "070-174 06 05"  # reserved for fiction by PTS
    assert alert_words(red, t, phone=phone).endswith(
        f"{call} {'på' if lang == 'sv' else 'on'} {phone}."
    )
    said_yellow = alert_words(replace(red, severity="yellow"), t, phone=phone)
    assert today_word in said_yellow
    assert f" {now_word}." not in said_yellow
    assert alert_words(replace(red, state="acknowledged"), t) == t["mitt_alert_acknowledged"]


def test_the_urgent_hint_names_the_programme_s_numbers() -> None:
    from hemkoll.api.console.i18n import CATALOGUE  # noqa: PLC0415
    from hemkoll.api.mitt.contact import urgent_hint  # noqa: PLC0415
    from hemkoll.rules.config import PatientAdvice  # noqa: PLC0415
    from hemkoll.rules.preset import HEART_FAILURE  # noqa: PLC0415

    sv, en = CATALOGUE["sv"], CATALOGUE["en"]
    assert urgent_hint(HEART_FAILURE.advice, sv) == (
        "Är det bråttom? Ring 1177, eller 112 vid fara för livet."
    )
    other = PatientAdvice(advice_line="0771-11 22 33", emergency_number=None)
    assert urgent_hint(other, en) == "Is it urgent? Call 0771-11 22 33."
    assert "112" not in urgent_hint(other, sv)
    none = PatientAdvice(advice_line=None, emergency_number=None)
    assert urgent_hint(none, sv) == "Är det bråttom? Ring din vårdcentral."
    only = PatientAdvice(advice_line=None, emergency_number="112")
    assert "1177" not in urgent_hint(only, en)
    assert "112" in urgent_hint(only, en)
