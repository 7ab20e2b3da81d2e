"""Questionnaires in the patient app: which are due, one answered (validated against its
definition, hemkoll.api.mitt.questionnaires), and her latest answers.

An answer is stored as a questionnaire response (the record of the whole response), and
its items that are metrics (the daily symptom scores, self-rated health) as readings of her
app device (``hemkoll.store.devices.app_device``): checked as a device's readings are
(``hemkoll.protocol.payload.check_reading``) and written by the ingest's batch writer, so
stored once and queued for the rules in the same transaction. The rules then tell her app
what they made of them, as they tell a device (``hemkoll.alerts.patient_messages``); the
questionnaires page shows that message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from hemkoll.api.access import Session
from hemkoll.api.console.web import ConsoleRoute, form_fields, language, rejected, render
from hemkoll.api.mitt.access import MITT, Patient
from hemkoll.api.mitt.questionnaires import (
    QUESTIONNAIRES,
    AnswerError,
    FollowUpNeeded,
    Questionnaire,
    as_fhir,
)
from hemkoll.api.mitt.questionnaires import score as scored
from hemkoll.api.problems import not_found
from hemkoll.protocol.measurements import METRICS
from hemkoll.protocol.payload import ReadingIn, check_reading
from hemkoll.store import devices, questionnaire_responses
from hemkoll.store.readings import ReadingWriter, UrgentReading
from hemkoll.store.types import Reading

router = APIRouter(prefix=MITT, route_class=ConsoleRoute, include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


def _questionnaire(questionnaire_id: str) -> Questionnaire:
    found = QUESTIONNAIRES.get(questionnaire_id)
    if found is None:
        raise not_found("questionnaire", questionnaire_id)
    return found


def due(q: Questionnaire, last: datetime | None, now: datetime) -> bool:
    return last is None or now - last >= q.every


@router.get("/questionnaires")
def questionnaires_page(request: Request, caller: Patient) -> Response:
    now = caller.now()
    answered = request.query_params.get("answered")
    message = None
    with caller.session() as s:
        latest = {
            r.questionnaire: r for r in questionnaire_responses.latest(s.conn, caller.patient_id)
        }
        caller.record(s, "questionnaire_responses")
        if answered in latest:
            # What the rules told her app about that answer, once they have evaluated it.
            message = questionnaire_responses.latest_app_message(
                s.conn, caller.patient_id, since=latest[answered].authored_at
            )
    rows = [
        {
            "q": q,
            "last": latest.get(q.id),
            "due": due(q, latest[q.id].authored_at if q.id in latest else None, now),
        }
        for q in QUESTIONNAIRES.values()
    ]
    return render(
        request,
        "mitt_questionnaires.html",
        {
            "rows": rows,
            "section": "questionnaires",
            "qlang": language(request),
            "answered": answered in latest,
            "message": message,
        },
    )


@router.get("/questionnaires/{questionnaire_id}")
def questionnaire_page(request: Request, questionnaire_id: str, caller: Patient) -> Response:
    q = _questionnaire(questionnaire_id)
    with caller.session():
        pass  # nothing of hers is read; the visit is recorded
    return render(request, "mitt_questionnaire.html", _form(request, q, {}))


def _form(request: Request, q: Questionnaire, form: Mapping[str, str]) -> dict[str, object]:
    """The questionnaire page's context: the items asked given the answers so far."""
    return {
        "q": q,
        "items": q.asked(form),
        "qlang": language(request),
        "form": form,
        "errors": {},
        "section": "questionnaires",
        # The follow-up just asked (its linkId), shown with why it is asked.
        "follow_up": None,
    }


@router.get("/questionnaires/{questionnaire_id}/fhir")
def questionnaire_definition(questionnaire_id: str) -> Response:
    """The definition as a FHIR Questionnaire resource (no patient data: no sign-in)."""
    return JSONResponse(as_fhir(_questionnaire(questionnaire_id)))


@router.post("/questionnaires/{questionnaire_id}", status_code=303)
def answer(request: Request, questionnaire_id: str, caller: Patient, form: Form) -> Response:
    q = _questionnaire(questionnaire_id)
    with caller.session() as s:
        try:
            answers, total = scored(q, form)
        except FollowUpNeeded as exc:
            # Not an error: the follow-up her answers call for, asked on the same page.
            context = _form(request, q, form) | {"follow_up": exc.link_id}
            return render(request, "mitt_questionnaire.html", context)
        except AnswerError as exc:
            raise rejected(
                request,
                "mitt_questionnaire.html",
                _form(request, q, form),
                errors={exc.link_id: "mitt_error_answer"},
            ) from None
        response_id = questionnaire_responses.add(
            s.conn, caller.patient_id, q.id, answers, score=float(total)
        )
        caller.record(s, "questionnaire_response", response_id)
        try:
            as_readings(s, caller.patient_id, answers, caller.now(), request.app.state.urgent)
        except AnswerError as exc:
            raise rejected(
                request,
                "mitt_questionnaire.html",
                _form(request, q, form),
                errors={exc.link_id: "mitt_error_answer"},
            ) from None
    return RedirectResponse(f"{MITT}/questionnaires?answered={q.id}", status_code=303)


def as_readings(
    s: Session,
    patient_id: UUID,
    answers: Mapping[str, int],
    now: datetime,
    urgent: UrgentReading,
) -> int:
    """Store the answers that are metrics as readings of her app device, queued for the rules
    (the caller's transaction); how many were stored. An answer a device could not send
    either (outside the metric's range) is refused as her answer."""
    metrics = [(link_id, value) for link_id, value in answers.items() if link_id in METRICS]
    if not metrics:
        return 0
    device = devices.app_device(s.conn, patient_id)
    readings: list[Reading] = []
    for index, (metric, value) in enumerate(metrics):
        unit = METRICS[metric].canonical_unit
        checked = check_reading(
            index, ReadingIn(metric, float(value), unit, now), device=device, now=now
        )
        if not isinstance(checked, Reading):
            raise AnswerError(metric, checked.reason)
        readings.append(checked)
    (stored,) = ReadingWriter(s.conn, urgent=urgent).write([readings], []).stored
    return stored
