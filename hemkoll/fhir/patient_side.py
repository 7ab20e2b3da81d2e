"""The patient side's records as FHIR resources (pure: no I/O): a questionnaire answer as a
``QuestionnaireResponse`` and a secure message as a ``Communication`` (docs/fhir.md)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from hemkoll.store.care_messages import CareMessage
from hemkoll.store.questionnaire_responses import QuestionnaireResponse as ResponseRow

QUESTIONNAIRE = "urn:hemkoll:questionnaire"
SCORE_EXTENSION = "urn:hemkoll:fhir:questionnaire-score"


def questionnaire_response_resource(row: ResponseRow) -> QuestionnaireResponse:
    """Her answers by linkId (integers, as the definition's options are), entered by her."""
    body: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(row.id),
        "meta": {"lastUpdated": row.authored_at.isoformat()},
        "questionnaire": f"{QUESTIONNAIRE}:{row.questionnaire}",
        "status": "completed",
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "authored": row.authored_at.isoformat(),
        "author": {"reference": f"Patient/{row.patient_id}"},
        "source": {"reference": f"Patient/{row.patient_id}"},
        "item": [
            {"linkId": link_id, "answer": [{"valueInteger": int(value)}]}
            for link_id, value in sorted(row.answers.items())
        ],
    }
    if row.score is not None:
        body["extension"] = [{"url": SCORE_EXTENSION, "valueDecimal": row.score}]
    return QuestionnaireResponse.model_validate(body)


def communication_resource(message: CareMessage) -> Communication:
    """A message between her and her care team; a reply is ``inResponseTo`` its thread's first."""
    patient = {"reference": f"Patient/{message.patient_id}"}
    staff: dict[str, Any] = {"display": message.author_name or "care team"}
    if message.author_staff is not None:
        staff["identifier"] = {"system": "urn:hemkoll:staff", "value": str(message.author_staff)}
    sender, recipient = (patient, staff) if message.from_patient else (staff, patient)
    body: dict[str, Any] = {
        "resourceType": "Communication",
        "id": str(message.id),
        "meta": {"lastUpdated": (message.read_at or message.sent_at).isoformat()},
        "status": "completed",
        "subject": patient,
        "sent": message.sent_at.isoformat(),
        "sender": sender,
        "recipient": [recipient],
        "payload": [{"contentString": message.body}],
    }
    if message.read_at is not None:
        body["received"] = message.read_at.isoformat()
    if message.thread_id != message.id:
        body["inResponseTo"] = [{"reference": f"Communication/{message.thread_id}"}]
    return Communication.model_validate(body)
