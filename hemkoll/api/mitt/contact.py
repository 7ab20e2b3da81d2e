"""Reaching her care team: "please contact me" (with how worried she is, and why if she
wishes) and secure messages in threads.

A contact request is stored and its webhook to the health centre queued in one transaction,
as an alert's is (``notifications.enqueue_contact_webhook``): both commit or neither. Every
read and write is in the audit log, her session as the actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.api.console.i18n import CATALOGUE
from hemkoll.api.console.web import ConsoleRoute, form_fields, language, rejected, render
from hemkoll.api.mitt.access import MITT, Patient
from hemkoll.api.problems import not_found
from hemkoll.rules.config import PatientAdvice
from hemkoll.store import care_messages, contact_requests, notifications

router = APIRouter(prefix=MITT, route_class=ConsoleRoute, include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


def urgent_hint(advice: PatientAdvice, t: Mapping[str, str]) -> str:
    """Where to turn when it cannot wait: the numbers the programme names, or her centre."""
    line, emergency = advice.advice_line, advice.emergency_number
    if line and emergency:
        return t["mitt_urgent_hint"].format(line=line, emergency=emergency)
    if line:
        return t["mitt_urgent_line"].format(line=line)
    if emergency:
        return t["mitt_urgent_emergency"].format(emergency=emergency)
    return t["mitt_urgent_centre"]


def _urgent(request: Request) -> str:
    return urgent_hint(request.app.state.programme.advice, CATALOGUE[language(request)])


def _contact_context(
    request: Request, requests: list[contact_requests.ContactRequest]
) -> dict[str, object]:
    return {
        "requests": requests,
        "section": "contact",
        "form": {},
        "errors": {},
        "urgent_hint": _urgent(request),
    }


@router.get("/contact")
def contact_page(request: Request, caller: Patient) -> Response:
    with caller.session() as s:
        requests = contact_requests.for_patient(s.conn, caller.patient_id)
        caller.record(s, "contact_requests")
    context = {
        **_contact_context(request, requests),
        "request_sent": request.query_params.get("sent") == "1",
    }
    return render(request, "mitt_contact.html", context)


@router.post("/contact", status_code=303)
def ask_for_contact(request: Request, caller: Patient, form: Form) -> Response:
    reason = form.get("reason", "").strip() or None
    worry = form.get("worry", "")
    errors = {}
    if worry not in {str(w) for w in contact_requests.WORRIES}:
        errors["worry"] = "mitt_error_worry"
    if reason is not None and len(reason) > contact_requests.MAX_REASON:
        errors["reason"] = "mitt_error_too_long"
    with caller.session() as s:
        if errors:
            requests = contact_requests.for_patient(s.conn, caller.patient_id)
            caller.record(s, "contact_requests")
            context = {**_contact_context(request, requests), "form": form}
            raise rejected(request, "mitt_contact.html", context, errors=errors)
        request_id = contact_requests.add(
            s.conn, caller.patient_id, reason=reason, worry=int(worry)
        )
        notifications.enqueue_contact_webhook(s.conn, request_id)
        caller.record(s, "contact_request", request_id)
    return RedirectResponse(f"{MITT}/contact?sent=1", status_code=303)


@router.get("/messages")
def messages_page(request: Request, caller: Patient) -> Response:
    with caller.session() as s:
        found = care_messages.for_patient(s.conn, caller.patient_id)
        read = care_messages.mark_read(s.conn, caller.patient_id, by_patient=True)
        for message in found:
            caller.record(s, "care_message", message.id)
        for message_id in read:
            caller.record(s, "care_message_read", message_id)
    context = {
        "threads": care_messages.threads(found),
        "section": "messages",
        "errors": {},
        "urgent_hint": _urgent(request),
    }
    return render(request, "mitt_messages.html", context)


@router.post("/messages", status_code=303)
def send_message(request: Request, caller: Patient, form: Form) -> Response:
    body = form.get("body", "").strip()
    thread = form.get("thread", "").strip() or None
    try:
        thread_id = None if thread is None else UUID(thread)
    except ValueError:
        raise not_found("message thread", thread) from None
    with caller.session() as s:
        if not body or len(body) > care_messages.MAX_BODY:
            found = care_messages.for_patient(s.conn, caller.patient_id)
            for message in found:
                caller.record(s, "care_message", message.id)
            error = "mitt_error_message_empty" if not body else "mitt_error_too_long"
            context = {
                "threads": care_messages.threads(found),
                "section": "messages",
                "urgent_hint": _urgent(request),
            }
            raise rejected(request, "mitt_messages.html", context, errors={"body": error})
        sent = care_messages.send(
            s.conn, caller.patient_id, body, thread_id=thread_id, author_staff=None
        )
        if sent is None:
            raise not_found("message thread", thread_id)
        caller.record(s, "care_message", sent)
    return RedirectResponse(f"{MITT}/messages", status_code=303)
