"""FHIR routes of the patient side's records: QuestionnaireResponse (read, search by patient)
from ``questionnaire_responses`` and Communication (search by patient) from ``care_messages``;
scoped and audited as the other FHIR routes (docs/fhir.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hemkoll.api import care_access
from hemkoll.api.access import Caller
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
Row = TypeVar("Row")


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


@dataclass(frozen=True)
class _PatientRecords(Generic[Row]):
    """One kind of the patient's records as a search serves it: the FHIR type, what the audit
    row names (its table, and ``search`` or the patient as its target), the keyset page of the
    store, the (instant, id) position of a row and its resource."""

    kind: str
    audit_table: str
    audit_target: Callable[[UUID], object]
    page: Callable[..., Sequence[Row]]
    position: Callable[[Row], tuple[datetime, UUID]]
    resource: Callable[[Row], Any]


def _search(
    records: _PatientRecords[Row],
    *,
    request: Request,
    caller: Caller,
    patient: str,
    count: int,
    cursor: str | None,
) -> Response:
    """A searchset of the patient's records, oldest first, with a keyset ``next`` link."""
    pid = resource_id(patient, "Patient")
    after = None if cursor is None else decode_position(cursor)
    with caller.session() as s:
        record = patient_or_404(caller, s, pid)
        s.record(
            records.audit_table,
            records.audit_target(pid),
            patient_id=pid,
            health_centre_id=record.health_centre_id,
        )
        rows = records.page(s.conn, pid, limit=count, after=after)
    last = rows[-1] if len(rows) == count else None
    return fhir_response(
        searchset(
            request,
            records.kind,
            [(str(records.position(r)[1]), records.resource(r)) for r in rows],
            None if last is None else encode_position(*records.position(last)),
        )
    )


_RESPONSES = _PatientRecords(
    "QuestionnaireResponse",
    "questionnaire_response",
    lambda _: "search",
    questionnaire_responses.page,
    lambda r: (r.authored_at, r.id),
    questionnaire_response_resource,
)
_MESSAGES = _PatientRecords(
    "Communication",
    "care_messages",
    lambda pid: pid,
    care_messages.page,
    lambda m: (m.sent_at, m.id),
    communication_resource,
)


@router.get("/QuestionnaireResponse", summary="Search a patient's questionnaire answers")
def search_questionnaire_responses(
    *,
    request: Request,
    caller: Nurse,
    patient: PatientParam,
    count: Count = DEFAULT_COUNT,
    cursor: Cursor = None,
) -> Response:
    return _search(
        _RESPONSES, request=request, caller=caller, patient=patient, count=count, cursor=cursor
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
    return _search(
        _MESSAGES, request=request, caller=caller, patient=patient, count=count, cursor=cursor
    )
