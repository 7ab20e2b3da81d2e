"""Who the patient app's caller is: a patient with an open session, never a member of staff.

The session cookie (``hemkoll_mitt``) holds a random token; the server keeps its hash
(``patient_sessions``), so a session is revocable at once (signing out, or staff ending her
sessions). Each request checks it again. The cookie is HttpOnly, SameSite=Strict, Secure over
https and scoped to ``/mitt``; state-changing requests must also come from our own origin,
the console's same check (``hemkoll.api.console.auth.same_origin``).

Every route works in ``caller.session()`` exactly as staff routes do (one transaction, the
audit rows written with it), except that the audit log's actor is the patient's session
(``patient_session_id``, role ``patient``) and every row is about her. A patient is her own
scope: no route takes a patient id, so there is no other patient to name.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from hemkoll.api.access import Session, _action, _client_address, refuse
from hemkoll.api.console.auth import SAFE_METHODS, same_origin
from hemkoll.api.problems import Problem, forbidden, unauthenticated
from hemkoll.store import audit_log, patient_access
from hemkoll.store.connect import Conn
from hemkoll.store.patient_access import PatientSession

MITT = "/mitt"
SESSION_COOKIE = "hemkoll_mitt"
ROLE = "patient"
# An enrolment code: 10 characters of 30 that cannot be misread for each other (no 0/O, 1/I/L,
# U), ~49 bits; shown as two groups of five. Valid for a week, once.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
CODE_VALID = timedelta(days=7)
# A session on her own phone or tablet lasts a month; staff can end it at any time.
SESSION_VALID = timedelta(days=30)
# The code exchange: at most this many refused attempts per address in the window, then 429.
# 10 per 15 minutes against ~2^49 codes: guessing any valid code of the region's (even a
# thousand outstanding) takes ~10^10 years from one address.
MAX_FAILED_SIGN_INS = 10
SIGN_IN_WINDOW = timedelta(minutes=15)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def shown_code(code: str) -> str:
    """As printed and read out: ``ABCDE-FGH23``."""
    return f"{code[:5]}-{code[5:]}"


def normalised_code(typed: str) -> str | None:
    """The code as typed (any case, spaces or dashes between), or None if it cannot be one."""
    code = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PatientCaller:
    """The signed-in patient: her session, and the request's audit details."""

    session_id: UUID
    patient_id: UUID
    health_centre_id: UUID
    pool: ConnectionPool[Conn]
    action: str
    status: int
    client_address: str | None
    now: Callable[[], datetime]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; what it records is written with it, the actor her session."""
        with self.pool.connection() as conn:
            s = Session(conn)
            try:
                with conn.transaction():
                    yield s
                    audit_log.append(conn, self._entries(s, self.status))
            except Problem as problem:
                with conn.transaction():
                    audit_log.append(conn, self._entries(s, problem.status))
                raise

    def record(self, s: Session, object_type: str, object_id: object | None = None) -> None:
        """Record an access to her own data (every patient route's rows are about her)."""
        s.record(
            object_type,
            self.patient_id if object_id is None else object_id,
            patient_id=self.patient_id,
            health_centre_id=self.health_centre_id,
        )

    def _entries(self, s: Session, status: int) -> list[audit_log.AuditEntry]:
        recorded = s.recorded or [(None, self.patient_id, self.health_centre_id, None, None)]
        return [
            audit_log.AuditEntry(
                staff_id=None,
                role=ROLE,
                action=self.action,
                status=status,
                health_centre_id=self.health_centre_id,
                patient_id=self.patient_id,
                object_type=object_type,
                object_id=object_id,
                client_address=self.client_address,
                reason=reason,
                patient_session_id=self.session_id,
            )
            for object_type, _, _, object_id, reason in recorded
        ]


def caller_for_session(request: Request, found: PatientSession) -> PatientCaller:
    action, status = _action(request)
    return PatientCaller(
        session_id=found.id,
        patient_id=found.patient_id,
        health_centre_id=found.health_centre_id,
        pool=request.app.state.pool,
        action=action,
        status=status,
        client_address=_client_address(request),
        now=request.app.state.clock,
    )


def patient_signed_in(request: Request) -> PatientCaller:
    """A dependency: the patient whose session the cookie holds; refused (and recorded)
    without one, with an expired or revoked one, or from another origin."""
    token = request.cookies.get(SESSION_COOKIE) or None
    if token is None:
        raise refuse(request, None, unauthenticated("sign in to the patient app"))
    pool: ConnectionPool[Conn] = request.app.state.pool
    with pool.connection() as conn:
        found = patient_access.session_for_token(conn, token, now=request.app.state.clock())
    if found is None:
        raise refuse(request, None, unauthenticated("the session is unknown, expired or ended"))
    caller = caller_for_session(request, found)
    if request.method not in SAFE_METHODS and not same_origin(request):
        problem = forbidden("the request did not come from the patient app")
        with caller.session():
            raise problem
    return caller


Patient = Annotated[PatientCaller, Depends(patient_signed_in)]


@dataclass(frozen=True)
class IssuedCode:
    id: UUID
    code: str  # as shown: ABCDE-FGH23
    expires_at: datetime


def issue_code(conn: Conn, patient_id: UUID, *, created_by: UUID, now: datetime) -> IssuedCode:
    """A new enrolment code for the patient (the caller's transaction); shown once, only its
    hash kept. Staff: the API, the console's button and ``hemkoll patient-code``."""
    code = new_code()
    expires_at = now + CODE_VALID
    code_id = patient_access.add_code(
        conn, patient_id, code, created_by=created_by, expires_at=expires_at
    )
    return IssuedCode(code_id, shown_code(code), expires_at)


def issue_recorded_code(
    s: Session, patient_id: UUID, health_centre_id: UUID, *, created_by: UUID, now: datetime
) -> IssuedCode:
    """``issue_code`` by a member of staff in a route's session, with its audit record."""
    issued = issue_code(s.conn, patient_id, created_by=created_by, now=now)
    s.record("patient_code", issued.id, patient_id=patient_id, health_centre_id=health_centre_id)
    return issued
