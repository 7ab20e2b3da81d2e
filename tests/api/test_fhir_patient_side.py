"""FHIR QuestionnaireResponse and Communication from the patient side's tables: resources
validate with fhir.resources R4B, paging follows next links, another centre's is 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from hemkoll.store import care_messages, questionnaire_responses
from hemkoll.store.connect import connect
from tests.api.conftest import World, bearer
from tests.mitt.test_patient_app import ORIGIN, code_for, sign_in

BASE = "/fhir/R4"


def _pages(client: TestClient, url: str, params: dict[str, Any], headers: Any) -> list[Any]:
    resources = []
    next_url: str | None = url
    query: dict[str, Any] | None = params
    while next_url is not None:
        response = client.get(next_url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        bundle = Bundle.model_validate(response.json())
        assert bundle.type == "searchset"
        resources += [entry.resource for entry in bundle.entry or []]
        nxt = [link.url for link in bundle.link or [] if link.relation == "next"]
        next_url, query = (nxt[0], None) if nxt else (None, None)
    return resources


def test_questionnaire_responses_read_and_search(
    client: TestClient, world: World, db_url: str
) -> None:
    a, b = world.a, world.b
    with connect(db_url) as conn:
        ids = [
            questionnaire_responses.add(
                conn,
                a.patient_id,
                "phq-2",
                {"phq2_interest": i, "phq2_mood": 1},
                score=float(i + 1),
            )
            for i in range(3)
        ]
        other = questionnaire_responses.add(
            conn, b.patient_id, "weekly-health", {"health": 3}, score=3.0
        )
        conn.commit()
    nurse = bearer(a.tokens["nurse"])
    found = _pages(
        client,
        f"{BASE}/QuestionnaireResponse",
        {"patient": f"Patient/{a.patient_id}", "_count": 2},
        nurse,
    )
    responses = [QuestionnaireResponse.model_validate(r.model_dump()) for r in found]
    assert [r.id for r in responses] == [str(i) for i in ids]
    first = responses[0]
    assert first.status == "completed"
    assert first.subject is not None
    assert first.subject.reference == f"Patient/{a.patient_id}"
    assert first.questionnaire == "urn:hemkoll:questionnaire:phq-2"
    answers = {item.linkId: item.answer[0].valueInteger for item in first.item or [] if item.answer}
    assert answers == {"phq2_interest": 0, "phq2_mood": 1}

    read = client.get(f"{BASE}/QuestionnaireResponse/{ids[1]}", headers=nurse)
    assert read.status_code == 200, read.text
    assert QuestionnaireResponse.model_validate(read.json()).id == str(ids[1])
    assert client.get(f"{BASE}/QuestionnaireResponse/{other}", headers=nurse).status_code == 404
    assert (
        client.get(
            f"{BASE}/QuestionnaireResponse", params={"patient": str(b.patient_id)}, headers=nurse
        ).status_code
        == 404
    )


def test_communications_search(client: TestClient, world: World, db_url: str) -> None:
    a = world.a
    with connect(db_url) as conn:
        first = care_messages.send(
            conn, a.patient_id, "Jag känner mig andfådd.", thread_id=None, author_staff=None
        )
        reply = care_messages.send(
            conn,
            a.patient_id,
            "Vi ringer dig i eftermiddag.",
            thread_id=first,
            author_staff=a.staff_ids["nurse"],
        )
        conn.commit()
    nurse = bearer(a.tokens["nurse"])
    found = _pages(
        client, f"{BASE}/Communication", {"patient": str(a.patient_id), "_count": 1}, nurse
    )
    messages = [Communication.model_validate(r.model_dump()) for r in found]
    assert [m.id for m in messages] == [str(first), str(reply)]
    from_her, answer = messages
    assert from_her.sender is not None
    assert from_her.sender.reference == f"Patient/{a.patient_id}"
    assert from_her.payload is not None
    assert from_her.payload[0].contentString == "Jag känner mig andfådd."
    assert answer.recipient is not None
    assert answer.recipient[0].reference == f"Patient/{a.patient_id}"
    assert answer.inResponseTo is not None
    assert answer.inResponseTo[0].reference == f"Communication/{first}"
    with connect(db_url) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'GET /fhir/R4/Communication'"
            " AND patient_id = %s AND status = 200",
            (a.patient_id,),
        ).fetchone()
    assert audited is not None
    assert audited[0] >= 2


def test_the_symptom_follow_up_is_served_beside_the_answers_it_follows(
    client: TestClient, world: World
) -> None:
    a = world.a
    sign_in(client, code_for(client, world, a.patient_id))
    answers = {
        "symptom_breathlessness": "3",
        "symptom_ankle_swelling": "1",
        "symptom_fatigue": "0",
        "worse_than_usual": "0",
    }
    r = client.post(
        "/mitt/questionnaires/daily-symptoms", data=answers, headers=ORIGIN, follow_redirects=False
    )
    assert r.status_code == 303
    nurse = bearer(a.tokens["nurse"])
    (found,) = _pages(
        client, f"{BASE}/QuestionnaireResponse", {"patient": f"Patient/{a.patient_id}"}, nurse
    )
    response = QuestionnaireResponse.model_validate(found.model_dump())
    assert response.questionnaire == "urn:hemkoll:questionnaire:daily-symptoms"
    served = {i.linkId: i.answer[0].valueInteger for i in response.item or [] if i.answer}
    assert served == {k: int(v) for k, v in answers.items()}
    # The score is the symptoms' sum; the follow-up is no part of it.
    assert [e.valueDecimal for e in response.extension or []] == [4]
    # The definition says when the follow-up is asked: any symptom answered 2 or 3.
    definition = Questionnaire.model_validate(
        client.get("/mitt/questionnaires/daily-symptoms/fhir").json()
    )
    (item,) = [i for i in definition.item or [] if i.linkId == "worse_than_usual"]
    assert item.enableBehavior == "any"
    conditions = {(c.question, c.answerCoding.code) for c in item.enableWhen or []}
    assert conditions == {
        (s, v)
        for s in ("symptom_breathlessness", "symptom_ankle_swelling", "symptom_fatigue")
        for v in ("2", "3")
    }
