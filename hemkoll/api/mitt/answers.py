"""Questionnaires in the patient app: which are due, one answered (validated against its
definition, hemkoll.api.mitt.questionnaires), and her latest answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from hemkoll.api.console.web import ConsoleRoute, form_fields, language, rejected, render
from hemkoll.api.mitt.access import MITT, Patient
from hemkoll.api.mitt.questionnaires import QUESTIONNAIRES, AnswerError, Questionnaire, as_fhir
from hemkoll.api.mitt.questionnaires import score as scored
from hemkoll.api.problems import not_found
from hemkoll.store import questionnaire_responses

router = APIRouter(prefix=MITT, route_class=ConsoleRoute, include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


def _questionnaire(questionnaire_id: str) -> Questionnaire:
    found = QUESTIONNAIRES.get(questionnaire_id)
    if found is None or not found.in_app:
        raise not_found("questionnaire", questionnaire_id)
    return found


def due(q: Questionnaire, last: datetime | None, now: datetime) -> bool:
    return last is None or now - last >= q.every


@router.get("/questionnaires")
def questionnaires_page(request: Request, caller: Patient) -> Response:
    now = caller.now()
    with caller.session() as s:
        latest = {
            r.questionnaire: r for r in questionnaire_responses.latest(s.conn, caller.patient_id)
        }
        caller.record(s, "questionnaire_responses")
    rows = [
        {
            "q": q,
            "last": latest.get(q.id),
            "due": due(q, latest[q.id].authored_at if q.id in latest else None, now),
        }
        for q in QUESTIONNAIRES.values()
        if q.in_app
    ]
    return render(
        request,
        "mitt_questionnaires.html",
        {"rows": rows, "section": "questionnaires", "qlang": language(request)},
    )


@router.get("/questionnaires/{questionnaire_id}")
def questionnaire_page(request: Request, questionnaire_id: str, caller: Patient) -> Response:
    q = _questionnaire(questionnaire_id)
    with caller.session():
        pass  # nothing of hers is read; the visit is recorded
    context: dict[str, object] = {
        "q": q,
        "qlang": language(request),
        "form": {},
        "errors": {},
        "section": "questionnaires",
    }
    return render(request, "mitt_questionnaire.html", context)


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
        except AnswerError as exc:
            context = {
                "q": q,
                "qlang": language(request),
                "form": form,
                "section": "questionnaires",
            }
            raise rejected(
                request,
                "mitt_questionnaire.html",
                context,
                errors={exc.link_id: "mitt_error_answer"},
            ) from None
        response_id = questionnaire_responses.add(
            s.conn, caller.patient_id, q.id, answers, score=float(total)
        )
        caller.record(s, "questionnaire_response", response_id)
    return RedirectResponse(f"{MITT}/questionnaires?answered={q.id}", status_code=303)
