"""FHIR routes of the patient side's records: QuestionnaireResponse (read, search by patient)
from ``questionnaire_responses`` and Communication (search by patient) from ``care_messages``;
scoped and audited as the other FHIR routes (docs/fhir.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hemkoll.api import care_access
from hemkoll.api.fhir import PREFIX
from hemkoll.api.fhir.routes import (
    DEFAULT_COUNT,
    MAX_COUNT,
    Nurse,
    decode_position,
    encode_position,
    fhir_response,
    resource_id,
    searchset,
)
from hemkoll.api.problems import not_found
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.fhir.patient_side import communication_resource, questionnaire_response_resource
from hemkoll.store import care_messages, questionnaire_responses

router = APIRouter(prefix=PREFIX, tags=["fhir"])
PatientParam = Annotated[str, Query(description="Patient/<id> or <id>")]
Count = Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)]
Cursor = Annotated[str | None, Query(alias="_cursor", max_length=300)]


@router.get("/QuestionnaireResponse/{response_id}", summary="A patient's questionnaire answers")
def read_questionnaire_response(response_id: str, caller: Nurse) -> Response:
    rid = resource_id(response_id, "QuestionnaireResponse")
    with caller.session() as s:
        row = questionnaire_responses.in_scope(s.conn, rid, health_centre_id=None)
        missing = not_found("QuestionnaireResponse", response_id)
        if row is None:
            raise missing
        care_access.require_patient(caller, s, row.patient_id, missing=missing)
        s.record("questionnaire_response", rid, patient_id=row.patient_id)
    return fhir_response(questionnaire_response_resource(row))


@router.get("/QuestionnaireResponse", summary="Search a patient's questionnaire answers")
def search_questionnaire_responses(
    *,
    request: Request,
    caller: Nurse,
    patient: PatientParam,
    count: Count = DEFAULT_COUNT,
    cursor: Cursor = None,
) -> Response:
    pid = resource_id(patient, "Patient")
    after = None if cursor is None else decode_position(cursor)
    with caller.session() as s:
        record = patient_or_404(caller, s, pid)
        s.record(
            "questionnaire_response",
            "search",
            patient_id=pid,
            health_centre_id=record.health_centre_id,
        )
        rows = questionnaire_responses.page(s.conn, pid, limit=count, after=after)
    last = rows[-1] if len(rows) == count else None
    return fhir_response(
        searchset(
            request,
            "QuestionnaireResponse",
            [(str(r.id), questionnaire_response_resource(r)) for r in rows],
            None if last is None else encode_position(last.authored_at, last.id),
        )
    )


@router.get("/Communication", summary="Search the messages between a patient and her care team")
def search_communications(
    *,
    request: Request,
    caller: Nurse,
    patient: PatientParam,
    count: Count = DEFAULT_COUNT,
    cursor: Cursor = None,
) -> Response:
    pid = resource_id(patient, "Patient")
    after = None if cursor is None else decode_position(cursor)
    with caller.session() as s:
        record = patient_or_404(caller, s, pid)
        s.record("care_messages", pid, patient_id=pid, health_centre_id=record.health_centre_id)
        rows = care_messages.page(s.conn, pid, limit=count, after=after)
    last = rows[-1] if len(rows) == count else None
    return fhir_response(
        searchset(
            request,
            "Communication",
            [(str(m.id), communication_resource(m)) for m in rows],
            None if last is None else encode_position(last.sent_at, last.id),
        )
    )
