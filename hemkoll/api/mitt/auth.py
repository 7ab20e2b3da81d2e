"""Signing in to the patient app with an enrolment code, signing out, the language toggle.

The code (from her nurse, ``hemkoll patient-code`` or the console's button) is exchanged once
for a session: a random token in a cookie (HttpOnly, SameSite=Strict, Secure over https,
path ``/mitt``), its hash in ``patient_sessions``. A refused exchange is recorded in the
audit log with the caller's address; past ``MAX_FAILED_SIGN_INS`` refusals from one address
in ``SIGN_IN_WINDOW`` the exchange answers 429 until the window has moved on.

BankID (through an OpenID Connect provider) would replace the code step only, not the
session: docs/patient.md describes that seam.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from psycopg_pool import ConnectionPool

from hemkoll.api.access import _client_address, refuse
from hemkoll.api.console.auth import check_origin, language_choice, safe_next, secure
from hemkoll.api.console.web import ConsoleRoute, form_fields, render
from hemkoll.api.mitt.access import (
    MAX_FAILED_SIGN_INS,
    MITT,
    SESSION_COOKIE,
    SESSION_VALID,
    SIGN_IN_WINDOW,
    Patient,
    caller_for_session,
    new_token,
    normalised_code,
)
from hemkoll.api.problems import Problem, unauthenticated
from hemkoll.store import patient_access
from hemkoll.store.connect import Conn

router = APIRouter(prefix=MITT, route_class=ConsoleRoute, include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]
SIGN_IN_ACTION = f"POST {MITT}/sign-in"


def _page(request: Request, error: str | None, status: int = 200, **headers: str) -> Response:
    return render(request, "mitt_sign_in.html", {"error": error}, status=status, headers=headers)


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return _page(request, None)


@router.post("/sign-in", status_code=303, dependencies=[Depends(check_origin)])
def sign_in(request: Request, form: Form) -> Response:
    pool: ConnectionPool[Conn] = request.app.state.pool
    now = request.app.state.clock()
    address = _client_address(request)
    with pool.connection() as conn:
        failed = patient_access.failed_sign_ins(
            conn, address, action=SIGN_IN_ACTION, since=now - SIGN_IN_WINDOW
        )
    if failed >= MAX_FAILED_SIGN_INS:
        retry = str(int(SIGN_IN_WINDOW.total_seconds()))
        problem = Problem(
            429,
            "too-many-requests",
            "Too many requests",
            "too many refused codes",
            headers={"Retry-After": retry},
        )
        refuse(request, None, problem)
        return _page(request, "too_many", 429, **{"Retry-After": retry})
    code = normalised_code(form.get("code", ""))
    token = new_token()
    found = None
    if code is not None:
        with pool.connection() as conn, conn.transaction():
            found = patient_access.redeem_code(
                conn, code, token, now=now, expires_at=now + SESSION_VALID
            )
    if found is None:
        error = "missing" if not form.get("code", "").strip() else "refused"
        problem = unauthenticated("the code is unknown, used or expired")
        refuse(request, None, problem)
        return _page(request, error, 401)
    caller = caller_for_session(request, found)
    with caller.session() as s:
        caller.record(s, "patient_session", found.id)  # the sign-in itself
    response = RedirectResponse(safe_next(form.get("next"), MITT) or f"{MITT}/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_VALID.total_seconds()),
        path=MITT,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.post("/sign-out", status_code=303)
def sign_out(request: Request, caller: Patient) -> Response:
    with caller.session() as s:
        patient_access.revoke_session(s.conn, caller.session_id, now=caller.now())
        caller.record(s, "patient_session", caller.session_id)
    response = RedirectResponse(f"{MITT}/sign-in", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path=MITT, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


@router.post("/language", status_code=303, dependencies=[Depends(check_origin)])
def set_language(request: Request, form: Form) -> Response:
    return language_choice(request, form, MITT)
