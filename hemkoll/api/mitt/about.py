"""What matters to her (her goals and preferences, which staff see beside her alerts) and her
access log: which care units read or changed her data, and when (from the audit log)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.api.console.web import ConsoleRoute, form_fields, rejected, render
from hemkoll.api.mitt.access import MITT, Patient
from hemkoll.api.problems import not_found
from hemkoll.store import audit_log, patient_goals

router = APIRouter(prefix=MITT, route_class=ConsoleRoute, include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


@router.get("/goals")
def goals_page(request: Request, caller: Patient) -> Response:
    with caller.session() as s:
        goals = patient_goals.current(s.conn, caller.patient_id)
        caller.record(s, "patient_goals")
    return render(
        request, "mitt_goals.html", {"goals": goals, "section": "goals", "form": {}, "errors": {}}
    )


@router.post("/goals", status_code=303)
def add_goal(request: Request, caller: Patient, form: Form) -> Response:
    text = form.get("text", "").strip()
    kind = form.get("kind", "")
    errors = {}
    if kind not in {"goal", "preference"}:
        errors["kind"] = "mitt_error_kind"
    if not text or len(text) > patient_goals.MAX_TEXT:
        errors["text"] = "mitt_error_goal_text"
    with caller.session() as s:
        if errors:
            goals = patient_goals.current(s.conn, caller.patient_id)
            caller.record(s, "patient_goals")
            context = {"goals": goals, "section": "goals", "form": form}
            raise rejected(request, "mitt_goals.html", context, errors=errors)
        goal_id = patient_goals.add(
            s.conn, caller.patient_id, kind="goal" if kind == "goal" else "preference", text=text
        )
        caller.record(s, "patient_goal", goal_id)
    return RedirectResponse(f"{MITT}/goals", status_code=303)


@router.post("/goals/{goal_id}/remove", status_code=303)
def remove_goal(goal_id: UUID, caller: Patient) -> Response:
    with caller.session() as s:
        if not patient_goals.remove(s.conn, caller.patient_id, goal_id):
            raise not_found("goal", goal_id)
        caller.record(s, "patient_goal", goal_id)
    return RedirectResponse(f"{MITT}/goals", status_code=303)


@router.get("/access-log")
def access_log_page(request: Request, caller: Patient) -> Response:
    with caller.session() as s:
        accesses = audit_log.staff_accesses(s.conn, caller.patient_id)
        caller.record(s, "access_log")
    return render(request, "mitt_access_log.html", {"accesses": accesses, "section": "access"})
