"""The patient app's parts in the console (docs/patient.md): on a patient's page, what
matters to her (beside the alert), her requests for contact, her latest questionnaire
answers and the messages with her (a reply form), and a button that prints her an enrolment
code; in the worklist, the patients asking for contact and the unread messages from patients.

Reading them is recorded like the rest of the page; marking a request seen or handled and
sending a message are recorded with what they change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller, Session
from hemkoll.api.console.auth import signed_in
from hemkoll.api.console.web import PREFIX, ConsoleRoute, form_fields, render
from hemkoll.api.mitt.access import MITT, issue_recorded_code
from hemkoll.api.mitt.questionnaires import QUESTIONNAIRES
from hemkoll.api.problems import invalid, not_found
from hemkoll.store import care_messages, contact_requests, patient_goals, patients
from hemkoll.store import questionnaire_responses as responses
from hemkoll.store.patients import PatientRecord

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]
Form = Annotated[dict[str, str], Depends(form_fields)]


def patient_side_context(s: Session, patient: PatientRecord, *, by: UUID) -> dict[str, Any]:
    """What the patient page shows of her own side. Opening the page is the team's seeing
    it: her new requests for contact become seen (she reads "your nurse has seen it") and her
    messages read, by ``by``; all recorded."""
    pid, centre = patient.id, patient.health_centre_id
    goals = patient_goals.current(s.conn, pid)
    requests = contact_requests.for_patient(s.conn, pid, limit=10)
    if any(r.state == "received" for r in requests):
        for r in requests:
            if r.state == "received":
                contact_requests.mark(s.conn, r.id, pid, "seen", by=by)
        requests = contact_requests.for_patient(s.conn, pid, limit=10)
    latest = responses.latest(s.conn, pid)
    messages = care_messages.for_patient(s.conn, pid)
    read = care_messages.mark_read(s.conn, pid, by_patient=False)
    for kind, ids in (
        ("patient_goals", [pid]),
        ("contact_request", [r.id for r in requests]),
        ("questionnaire_response", [r.id for r in latest]),
        ("care_message", [m.id for m in messages]),
        ("care_message_read", read),
    ):
        for object_id in ids:
            s.record(kind, object_id, patient_id=pid, health_centre_id=centre)
    return {
        "goals": goals,
        "contact_requests": requests,
        "responses": [(QUESTIONNAIRES.get(r.questionnaire), r) for r in latest],
        "threads": care_messages.threads(messages),
    }


def worklist_items(
    s: Session, health_centre_id: UUID, patient_ids: Sequence[UUID]
) -> dict[str, Any]:
    """The worklist's patient-initiated items: open contact requests of the patients it may
    show (most worried first; a shared patient's too) and the unit's own patients' unread
    messages."""
    requests = contact_requests.open_for_patients(s.conn, patient_ids)
    unread = care_messages.unanswered_for_centre(s.conn, health_centre_id)
    for r in requests:
        s.record("contact_request", r.id, patient_id=r.patient_id)
    for m in unread:
        s.record("care_message", m.id, patient_id=m.patient_id)
    references = {r.patient_id: r.patient_reference for r in requests}
    for m in unread:
        if m.patient_id not in references:
            found = patients.patient_in_scope(s.conn, m.patient_id, health_centre_id=None)
            references[m.patient_id] = found.reference if found else str(m.patient_id)
    return {"contact_requests": requests, "unread_messages": unread, "references": references}


def _patient(caller: Caller, s: Session, patient_id: UUID, *, own: bool = False) -> PatientRecord:
    return care_access.patient_or_404(caller, s, patient_id, own=own)


@router.post("/patients/{patient_id}/patient-code")
def patient_code(request: Request, patient_id: UUID, caller: Nurse) -> Response:
    """A printable page with a new enrolment code (shown this once)."""
    with caller.session() as s:
        patient = _patient(caller, s, patient_id, own=True)
        issued = issue_recorded_code(
            s,
            patient_id,
            patient.health_centre_id,
            created_by=caller.principal.staff_id,
            now=caller.now(),
        )
    public: str = request.app.state.public_url
    context = {
        "patient": patient,
        "issued": issued,
        "url": f"{public.rstrip('/')}{MITT}/sign-in",
        "section": "patients",
    }
    return render(request, "patient_code.html", context, me=caller.principal)


@router.post("/patients/{patient_id}/contact-requests/{request_id}/{state}", status_code=303)
def mark_request(patient_id: UUID, request_id: UUID, state: str, caller: Nurse) -> Response:
    if state not in {"seen", "handled"}:
        raise invalid("state: seen or handled")
    with caller.session() as s:
        patient = _patient(caller, s, patient_id)
        moved = contact_requests.mark(
            s.conn,
            request_id,
            patient_id,
            "seen" if state == "seen" else "handled",
            by=caller.principal.staff_id,
        )
        if not moved:
            raise not_found("open contact request", request_id)
        s.record(
            "contact_request",
            request_id,
            patient_id=patient_id,
            health_centre_id=patient.health_centre_id,
        )
    return RedirectResponse(f"{PREFIX}/patients/{patient_id}#patient-side", status_code=303)


@router.post("/patients/{patient_id}/messages", status_code=303)
def send_message(patient_id: UUID, caller: Nurse, form: Form) -> Response:
    body = form.get("body", "").strip()
    thread = form.get("thread", "").strip() or None
    if not body or len(body) > care_messages.MAX_BODY:
        raise invalid(f"body: 1 to {care_messages.MAX_BODY} characters")
    try:
        thread_id = None if thread is None else UUID(thread)
    except ValueError:
        raise not_found("message thread", thread) from None
    with caller.session() as s:
        patient = _patient(caller, s, patient_id)
        sent = care_messages.send(
            s.conn, patient_id, body, thread_id=thread_id, author_staff=caller.principal.staff_id
        )
        if sent is None:
            raise not_found("message thread", thread_id)
        s.record(
            "care_message", sent, patient_id=patient_id, health_centre_id=patient.health_centre_id
        )
    return RedirectResponse(f"{PREFIX}/patients/{patient_id}#care-messages", status_code=303)
