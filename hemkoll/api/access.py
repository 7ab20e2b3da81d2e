"""Who is calling, what their role lets them do, and the audit record of what they did.

Every route names the roles it allows (``allow``). A request gets a ``Caller`` once its bearer
token is found valid and its role allowed; the route then works in ``caller.session()``: one
transaction on a pooled connection, in which the route records each patient (or other object)
it reads or changes, and those audit rows are written in the same transaction, so no access
to patient data commits without its record. A refused request (401, 403, 404, 409, 422) is
recorded too, in a transaction of its own.

Scope: nurses, clinicians and a care unit's administrators see the patients the access
decision allows them (hemkoll/access/decision.py, asked by hemkoll/api/care_access.py): their
unit's own patients, and another provider's patients shared with them; the region's
administrators (no unit) see every unit. A patient the caller may not see, and her objects,
answer 404 exactly like ones that do not exist. Each audit row names the caller's care unit
(its care provider follows from it) and the decision's basis (docs/access.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from hemkoll.access.decision import Decision, Viewer
from hemkoll.api.problems import Problem, forbidden, unauthenticated
from hemkoll.store import audit_log, staff, staff_sessions
from hemkoll.store.connect import Conn

Role = Literal["admin", "clinician", "nurse"]

NURSES: tuple[Role, ...] = ("nurse", "clinician")
CLINICIANS: tuple[Role, ...] = ("clinician",)
ADMINS: tuple[Role, ...] = ("admin",)
CARE_AND_ADMIN: tuple[Role, ...] = ("nurse", "clinician", "admin")

_bearer = HTTPBearer(auto_error=False, description="hemkoll API token (hemkoll token create)")


@dataclass(frozen=True)
class Principal:
    staff_id: UUID
    name: str
    role: Role
    health_centre_id: UUID | None

    @property
    def actor(self) -> str:
        """How the alert history names this person."""
        return f"staff:{self.staff_id}"


@dataclass
class Session:
    """A route's transaction, and the audit entries it records as it goes."""

    conn: Conn
    recorded: list[tuple[str | None, UUID | None, UUID | None, str | None, str | None]] = field(
        default_factory=list
    )
    # The access decisions taken in this session, by patient: their basis goes into the audit
    # rows of that patient (hemkoll/api/care_access.py fills it); and the caller as the
    # decision sees them, once looked up.
    decisions: dict[UUID, Decision] = field(default_factory=dict)
    viewer: Viewer | None = None
    # A refusal whose patient the row must not name (the caller's unit is not in her care
    # team, or she blocked its provider: naming her would tell the unit's log readers of her):
    # only its reason is kept.
    refusal: str | None = None

    def record(
        self,
        object_type: str,
        object_id: object,
        *,
        patient_id: UUID | None = None,
        health_centre_id: UUID | None = None,
        reason: str | None = None,
    ) -> None:
        """Record an access; ``reason``: why, where the administrator had to say (e.g. a
        backdated enrolment)."""
        self.recorded.append((object_type, patient_id, health_centre_id, str(object_id), reason))


@dataclass(frozen=True)
class Caller:
    principal: Principal
    pool: ConnectionPool[Conn]
    action: str
    status: int
    client_address: str | None
    now: Callable[[], datetime]
    # ApiConfig.alert_clock: None, the database's now.
    alert_clock: Callable[[], datetime] | None = None

    @property
    def alert_action_at(self) -> datetime | None:
        """When an acknowledgement or resolution made now is stamped (None: the database's
        now)."""
        return None if self.alert_clock is None else self.alert_clock()

    @property
    def scope(self) -> UUID | None:
        """The health centre whose objects this caller may see; None for every centre."""
        return self.principal.health_centre_id

    def sees_centre(self, health_centre_id: UUID) -> bool:
        """For a care unit's own settings (not its patients: see care_access)."""
        return self.scope is None or self.scope == health_centre_id

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.pool.connection() as conn:
            session = Session(conn)
            try:
                with conn.transaction():
                    yield session
                    audit_log.append(conn, self._entries(session, self.status))
            except Problem as problem:
                with conn.transaction():
                    audit_log.append(conn, self._entries(session, problem.status))
                raise

    def _entries(self, session: Session, status: int) -> list[audit_log.AuditEntry]:
        p = self.principal
        recorded = session.recorded or [(None, None, None, None, None)]
        return [
            audit_log.AuditEntry(
                staff_id=p.staff_id,
                role=p.role,
                action=self.action,
                status=status,
                # The care unit the access is made from: the caller's; a region administrator
                # has none, and the row names the unit whose object it is.
                health_centre_id=p.health_centre_id or centre,
                patient_id=patient_id,
                object_type=object_type,
                object_id=object_id,
                client_address=self.client_address,
                reason=reason,
                access_basis=self._basis(session, patient_id),
            )
            for object_type, patient_id, centre, object_id, reason in recorded
        ]

    def _basis(self, session: Session, patient_id: UUID | None) -> str | None:
        """The access basis of a row about ``patient_id``: the session's decision on her; a
        region administrator's is administration."""
        if patient_id is not None and patient_id in session.decisions:
            return session.decisions[patient_id].audit_basis
        if patient_id is None and session.refusal is not None:
            return session.refusal
        if self.principal.role == "admin" and self.principal.health_centre_id is None:
            return "administration"
        return None


def _client_address(request: Request) -> str | None:
    """The client's IP address (the proxy's X-Forwarded-For when uvicorn trusts it)."""
    host = request.client.host if request.client else None
    try:
        return None if host is None else str(ipaddress.ip_address(host))
    except ValueError:  # not an IP address (an in-process test client)
        return None


def _action(request: Request) -> tuple[str, int]:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    status = int(getattr(route, "status_code", None) or 200)
    return f"{request.method} {path}", status


def _refuse(
    pool: ConnectionPool[Conn],
    request: Request,
    principal: Principal | None,
    problem: Problem,
    *,
    staff_id: UUID | None = None,
    reason: str | None = None,
) -> Problem:
    action, _ = _action(request)
    entry = audit_log.AuditEntry(
        staff_id=staff_id if principal is None else principal.staff_id,
        role=None if principal is None else principal.role,
        action=action,
        status=problem.status,
        health_centre_id=None if principal is None else principal.health_centre_id,
        patient_id=None,
        object_type=None,
        object_id=None,
        client_address=_client_address(request),
        reason=reason,
    )
    with pool.connection() as conn, conn.transaction():
        audit_log.append(conn, [entry])
    return problem


def _principal(
    pool: ConnectionPool[Conn], token: str, *, cookie: bool, tokens_allowed: bool, now: datetime
) -> Principal | None:
    """The member of staff of a credential: an API token, or (from the console's cookie only)
    a console session opened by the identity provider. With a provider configured, the
    console's cookie takes no API token (only the development sign-in sets one)."""
    with pool.connection() as conn:
        if cookie and token.startswith(staff_sessions.SESSION_PREFIX):
            member = staff_sessions.staff_for_session(conn, token, now=now)
        elif cookie and not tokens_allowed:
            member = None
        else:
            member = staff.staff_for_token(conn, token)
    if member is None:
        return None
    role: Role
    if member.role == "admin":
        role = "admin"
    elif member.role == "clinician":
        role = "clinician"
    elif member.role == "nurse":
        role = "nurse"
    else:
        raise psycopg.DataError(f"unknown role {member.role!r} in the staff table")
    return Principal(member.id, member.name, role, member.health_centre_id)


def refuse(
    request: Request,
    principal: Principal | None,
    problem: Problem,
    *,
    staff_id: UUID | None = None,
    reason: str | None = None,
) -> Problem:
    """Record a refused request in the audit log (its own transaction); raise what it returns.
    ``staff_id`` names the person refused when there is no principal (a sign-in refused),
    ``reason`` says why."""
    return _refuse(
        request.app.state.pool, request, principal, problem, staff_id=staff_id, reason=reason
    )


def caller_for_token(
    request: Request,
    token: str | None,
    roles: Sequence[Role],
    *,
    missing: str,
    cookie: bool = False,
) -> Caller:
    """The caller a token belongs to, if their role is one of ``roles``; refused (and recorded)
    otherwise. ``missing`` is the 401's detail when there is no token at all.

    The API passes the bearer token; the browser console (hemkoll.api.console) the one its
    session cookie holds (``cookie``: an identity provider's console session, or in
    development an API token), so both build the same Caller and write the same audit rows.
    """
    state = request.app.state
    pool: ConnectionPool[Conn] = state.pool
    if token is None:
        raise _refuse(pool, request, None, unauthenticated(missing))
    principal = _principal(
        pool,
        token,
        cookie=cookie,
        tokens_allowed=getattr(state, "oidc", None) is None,
        now=state.clock(),
    )
    if principal is None:
        raise _refuse(
            pool, request, None, unauthenticated("the token is unknown, expired or revoked")
        )
    if principal.role not in roles:
        raise _refuse(
            pool,
            request,
            principal,
            forbidden(f"a {principal.role} may not do this; it needs: {', '.join(roles)}"),
        )
    action, status = _action(request)
    return Caller(
        principal=principal,
        pool=pool,
        action=action,
        status=status,
        client_address=_client_address(request),
        now=state.clock,
        alert_clock=getattr(state, "alert_clock", None),
    )


def allow(*roles: Role) -> Callable[..., Caller]:
    """A dependency: the authenticated caller, if their role is one of ``roles``."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        bearer = credentials is not None and credentials.scheme.lower() == "bearer"
        return caller_for_token(
            request,
            credentials.credentials if credentials is not None and bearer else None,
            roles,
            missing="a bearer token is required",
        )

    return dependency
