"""Acknowledging a patient's missing-measurement reminders together, from the worklist.

One POST acknowledges each of the patient's open reminders (alerts of the ``missing`` kind)
through the same path as a single acknowledge (``nurse_actions.acknowledge``: the state
transition with its event, and the patient's message that a nurse has seen it), each with its
own audit row. A reminder someone else acknowledged or resolved meanwhile is left out; when
none is left, the request is refused (409) and says so. The worklist comes back as its filters
kept it (the form carries them), focus on the patient's heading.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response

from hemkoll.alerts import nurse_actions
from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller
from hemkoll.api.console.auth import Form, signed_in
from hemkoll.api.console.i18n import CATALOGUE, Formatter
from hemkoll.api.console.web import PREFIX, ConsoleRoute, Rejected, is_htmx, language, render
from hemkoll.api.console.worklist import WORKLIST_LIMIT, centre_of, worklist_context
from hemkoll.api.console.worklist_filters import REMINDER_KIND, filters_from
from hemkoll.rules.config import RuleSet
from hemkoll.store import alerts

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]


@router.post("/patients/{patient_id}/reminders/acknowledge")
def acknowledge_reminders(
    request: Request, patient_id: UUID, caller: Nurse, form: Form
) -> Response:
    programme: RuleSet = request.app.state.programme
    lang = language(request)
    with caller.session() as s:
        filters = filters_from(form)
        patient = care_access.patient_or_404(caller, s, patient_id)
        centre = centre_of(caller, s.conn)
        fmt = Formatter(lang, ZoneInfo(centre.timezone), caller.now())
        reminders = alerts.worklist(
            s.conn,
            health_centre_id=centre.id,
            patient_ids=[patient_id],
            states=["open"],
            patient_id=patient_id,
            rule_kind=REMINDER_KIND,
            limit=WORKLIST_LIMIT,
        )
        done = 0
        for reminder in reminders:
            try:
                nurse_actions.acknowledge(s.conn, reminder.id, by=caller.principal.actor)
            except nurse_actions.TransitionRefused:
                continue  # acknowledged or resolved by someone else since the page was shown
            s.record("alert", reminder.id, patient_id=patient_id)
            done += 1
        if done == 0:
            s.record("patient", patient_id, patient_id=patient_id)
            message = CATALOGUE[lang]["no_reminders_left"].format(patient=patient.reference)
            raise _refused(request, caller, message, centre.timezone)
        context, tz = worklist_context(request, caller, s, programme, filters)
    context |= {
        "message": fmt.count("done_reminders", done, patient=patient.reference),
        "focus_group": patient_id,
    }
    template = "_worklist_done.html" if is_htmx(request) else "worklist.html"
    return render(request, template, context, me=caller.principal, tz=tz)


def _refused(request: Request, caller: Caller, message: str, tz: str) -> Rejected:
    """None left to acknowledge: the message in the page's live region (htmx, which then
    refreshes the list), or on a page of its own with the way back to the worklist."""
    if is_htmx(request):
        headers = {
            "HX-Retarget": "#messages",
            "HX-Reswap": "innerHTML",
            "HX-Trigger": "refresh-worklist",
        }
        template = "_refused_message.html"
    else:
        headers = {}
        template = "refused.html"
    response = render(
        request,
        template,
        {"message": message, "section": "worklist"},
        me=caller.principal,
        tz=tz,
        status=409,
        headers=headers,
    )
    return Rejected(response, "no open reminders left to acknowledge", status=409)
