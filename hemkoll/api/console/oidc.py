"""Staff sign-in to the console through the region's OpenID Connect provider.

``/console/oidc/start`` keeps a new sign-in's state, nonce and PKCE verifier in the database
(``oidc_sign_ins``) and sends the browser to the provider with a cookie holding the state
(SameSite=Lax: it must come back with the provider's redirect). ``/console/oidc/callback``
takes that sign-in once, exchanges the code, checks the ID token (hemkoll.api.oidc_client)
and maps its HSA claims to a member of staff and her care unit (hemkoll.api.staff_claims).
A refusal (unknown person, no assignment at the unit, a purpose that is not care, a sign-in
that expired or was not started in this browser, a provider that fails) is a page saying
which, and a row in the audit log. A sign-in opens a console session (``staff_sessions``): a
random token in the console's session cookie, checked on every request like an API token, so
it builds the same ``Caller`` (role, scope, audit); it expires after a shift and is revoked
at sign-out, with the member's tokens, or when she is deactivated.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from psycopg_pool import ConnectionPool

from hemkoll.api.access import CARE_AND_ADMIN, caller_for_token, refuse
from hemkoll.api.console.auth import SESSION_COOKIE, landing, safe_next, secure
from hemkoll.api.console.web import PREFIX, ConsoleRoute, render
from hemkoll.api.oidc_client import OidcClient, OidcError
from hemkoll.api.problems import Problem, forbidden, invalid, not_found
from hemkoll.api.staff_claims import (
    Accepted,
    Member,
    Refusal,
    Refused,
    assignments,
    decide,
    employee_hsa_id,
)
from hemkoll.store import staff_sessions
from hemkoll.store.connect import Conn

log = logging.getLogger(__name__)

PENDING_COOKIE = "hemkoll_oidc"
CALLBACK = f"{PREFIX}/oidc/callback"
# A sign-in at the provider (card, PIN, choice of assignment) must finish within this time.
SIGN_IN_LIFETIME = timedelta(minutes=10)
# A console session lasts a working shift with its overlap; then the provider is asked again.
SESSION_LIFETIME = timedelta(hours=10)

# The audit log's reason column takes at most this many characters.
AUDIT_REASON_MAX = 500

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


def _client(request: Request) -> OidcClient:
    client: OidcClient | None = request.app.state.oidc
    if client is None:
        raise refuse(request, None, not_found("page", request.url.path))
    return client


def _provider_failed(detail: str) -> Problem:
    return Problem(502, "identity-provider", "The identity provider failed", detail)


def redirect_uri(request: Request) -> str:
    """The callback's address as registered at the provider: from HEMKOLL_PUBLIC_URL, never
    from the request's Host header."""
    public: str = request.app.state.public_url
    return f"{public}{CALLBACK}"


def _refused(
    request: Request,
    reason: Refusal | Literal["expired", "provider"],
    problem: Problem,
    *,
    detail: str,
    staff_id: UUID | None = None,
) -> Response:
    refuse(
        request,
        None,
        problem,
        staff_id=staff_id,
        reason=f"oidc sign-in refused ({reason}): {detail}"[:AUDIT_REASON_MAX],
    )
    if reason == "provider":  # the operators' to look into, not only the reviewer's
        log.warning("staff sign-in failed at the identity provider: %s", detail)
    response = render(request, "oidc_refused.html", {"reason": reason}, status=problem.status)
    response.delete_cookie(PENDING_COOKIE, path=f"{PREFIX}/oidc")
    return response


@router.get("/oidc/start", status_code=303)
def start(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    client = _client(request)
    try:
        authorization = client.authorization(redirect_uri(request))
    except OidcError as exc:
        return _refused(request, "provider", _provider_failed(str(exc)), detail=str(exc))
    pool: ConnectionPool[Conn] = request.app.state.pool
    with pool.connection() as conn, conn.transaction():
        staff_sessions.start_sign_in(
            conn,
            state=authorization.state,
            nonce=authorization.nonce,
            code_verifier=authorization.code_verifier,
            next_page=safe_next(next_page),
            now=request.app.state.clock(),
            lifetime=SIGN_IN_LIFETIME,
        )
    response = Response(status_code=303, headers={"Location": authorization.url})
    response.set_cookie(
        PENDING_COOKIE,
        authorization.state,
        max_age=int(SIGN_IN_LIFETIME.total_seconds()),
        path=f"{PREFIX}/oidc",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )
    return response


@router.get("/oidc/callback")
def callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    iss: str | None = None,
) -> Response:
    client = _client(request)
    now = request.app.state.clock()
    if error is not None:
        detail = f"the provider answered {error[:100]!r}"
        return _refused(request, "provider", forbidden(detail), detail=detail)
    if iss is not None and iss != client.config.issuer:  # RFC 9207: a mix-up of providers
        detail = f"the answer names issuer {iss[:200]!r}"
        return _refused(request, "provider", invalid(detail), detail=detail)
    cookie_state = request.cookies.get(PENDING_COOKIE)
    if not state or not cookie_state or not hmac.compare_digest(state, cookie_state):
        detail = "the state is not the one this browser started with"
        return _refused(request, "expired", invalid(detail), detail=detail)
    pool: ConnectionPool[Conn] = request.app.state.pool
    with pool.connection() as conn, conn.transaction():
        pending = staff_sessions.take_sign_in(conn, state, now=now)
    if pending is None or not code:
        detail = "the sign-in is unknown, used or expired"
        return _refused(request, "expired", invalid(detail), detail=detail)
    try:
        claims = client.sign_in(
            code=code,
            code_verifier=pending.code_verifier,
            redirect_uri=redirect_uri(request),
            nonce=pending.nonce,
            now=now,
        )
    except OidcError as exc:
        return _refused(request, "provider", _provider_failed(str(exc)), detail=str(exc))
    names = client.config.claims
    person = employee_hsa_id(claims, names)
    with pool.connection() as conn:
        row = None if person is None else staff_sessions.staff_by_hsa_id(conn, person)
        units = staff_sessions.centres_by_hsa_ids(
            conn, sorted({a.unit_hsa_id for a in assignments(claims, names)})
        )
    member = None if row is None else Member(row.id, row.health_centre_id, row.active)
    decision = decide(claims, names, member, units, client.config.purposes)
    if isinstance(decision, Refused):
        return _refused(
            request,
            decision.reason,
            forbidden(decision.detail),
            detail=decision.detail,
            staff_id=decision.staff_id,
        )
    return _open(request, client, claims, decision, pending.next_page)


def _open(
    request: Request,
    client: OidcClient,
    claims: Mapping[str, Any],
    accepted: Accepted,
    next_page: str | None,
) -> Response:
    """Open the console session, record the sign-in as its first access, and go on from a
    page of the console's own (see signed_in.html)."""
    pool: ConnectionPool[Conn] = request.app.state.pool
    with pool.connection() as conn, conn.transaction():
        opened = staff_sessions.open_session(
            conn,
            staff_id=accepted.staff_id,
            health_centre_id=accepted.health_centre_id,
            assignment_hsa_id=accepted.assignment.hsa_id,
            purpose=accepted.assignment.purpose,
            issuer=client.config.issuer,
            subject=str(claims.get("sub", ""))[:200],
            now=request.app.state.clock(),
            lifetime=SESSION_LIFETIME,
        )
    caller = caller_for_token(
        request, opened.token, CARE_AND_ADMIN, missing="no session", cookie=True
    )
    with caller.session() as s:
        s.record(
            "staff_session",
            opened.id,
            reason=f"assignment {accepted.assignment.hsa_id or '-'} at unit "
            f"{accepted.assignment.unit_hsa_id}, purpose {accepted.assignment.purpose}",
        )
    target = safe_next(next_page) or landing(caller)
    response = render(request, "signed_in.html", {"next": target}, me=caller.principal)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    response.delete_cookie(PENDING_COOKIE, path=f"{PREFIX}/oidc")
    return response
