"""Emergency access from the console (docs/access.md): a nurse or clinician whose patient page
answers "not found" can state why she needs the patient's data now; the same path as the API's
(``care_access.start_emergency``: a reason, four hours, flagged for review). The form is shown on
every patient page that answers 404, for a patient who does not exist too, so it tells nothing
of whether one does.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller
from hemkoll.api.console.auth import Form, signed_in
from hemkoll.api.console.web import PREFIX, ConsoleRoute

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Nurse = Annotated[Caller, Depends(signed_in(*NURSES))]


@router.post("/patients/{patient_id}/emergency-access", status_code=303)
def emergency_access(request: Request, patient_id: UUID, caller: Nurse, form: Form) -> Response:
    with caller.session() as s:
        care_access.start_emergency(caller, s, patient_id, form.get("reason", ""))
    return RedirectResponse(f"{PREFIX}/patients/{patient_id}", status_code=303)
