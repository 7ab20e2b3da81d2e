"""Signing in to the console, its session cookie, the CSRF check, and the language toggle.

Sign-in: with an identity provider configured (``HEMKOLL_OIDC_*``), staff sign in there
(hemkoll.api.console.oidc) and the cookie holds a console session's token. Without one (a
developer's machine, the demo) they paste their API token (``hemkoll token create``); with
one, the console refuses pasted tokens and a cookie holding one, so that the provider's
checks (the person, her assignment and its purpose) cannot be gone around. Either way the
server keeps the credential in a session cookie: HttpOnly (no script reads it),
SameSite=Strict, Secure over https, scoped to ``/console`` and gone when the browser closes;
it never appears in a URL. Each request checks it again (``caller_for_token``), so a revoked
or expired session or token stops working at once, and builds the same ``Caller`` as the API:
the same roles, health-centre scope and audit rows.

CSRF: SameSite=Strict keeps the browser from sending the cookie with any request another site
starts. That alone leaves "same-site" attackers (a sibling subdomain of the region's domain
counts as same-site) and browsers without SameSite, so every state-changing request must also
carry an ``Origin`` (or, failing that, a ``Referer``) of the console's own origin: the request's
own scheme and host, or ``HEMKOLL_PUBLIC_URL``. A request with neither is refused (and
recorded). Both checks together make a per-form CSRF token unnecessary, so the server keeps
no CSRF state: the cookie is the whole session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from psycopg_pool import ConnectionPool

from hemkoll.api.access import CARE_AND_ADMIN, Caller, Role, caller_for_token, refuse
from hemkoll.api.console.web import (
    LANG_COOKIE,
    PREFIX,
    ConsoleRoute,
    form_fields,
    render,
)
from hemkoll.api.problems import Problem, forbidden
from hemkoll.store import staff_sessions
from hemkoll.store.connect import Conn

SESSION_COOKIE = "hemkoll_console"
SAFE_METHODS = frozenset({"GET", "HEAD"})
# The language choice outlives a session: a year.
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
Form = Annotated[dict[str, str], Depends(form_fields)]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """Whether a request comes from the console's own pages (Origin, else Referer)."""
    allowed = {_origin(str(request.base_url)), _origin(request.app.state.public_url)} - {None}
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in allowed
    referer = request.headers.get("referer")
    return referer is not None and _origin(referer) in allowed


def check_origin(request: Request) -> None:
    """A dependency of the routes that change state without a session (sign-in, language)."""
    if request.method not in SAFE_METHODS and not same_origin(request):
        raise refuse(request, None, forbidden("the request did not come from the console"))


def signed_in(*roles: Role) -> Callable[..., Caller]:
    """A dependency: the signed-in member of staff, if their role is one of ``roles``."""

    def dependency(request: Request) -> Caller:
        token = request.cookies.get(SESSION_COOKIE) or None
        caller = caller_for_token(
            request, token, roles, missing="sign in to the console", cookie=True
        )
        if request.method not in SAFE_METHODS and not same_origin(request):
            raise refuse(
                request, caller.principal, forbidden("the request did not come from the console")
            )
        return caller

    return dependency


def secure(request: Request) -> bool:
    public: str = request.app.state.public_url
    return request.url.scheme == "https" or public.startswith("https://")


def safe_next(value: str | None, prefix: str = PREFIX) -> str | None:
    """A path of the app at ``prefix`` (the console's, or the patient app's) to go on to after
    a form, or None: never another site."""
    if value is None or not value.startswith(f"{prefix}/") or "\\" in value:
        return None
    if ".." in value or "%2e" in value.lower():  # no way out of the app by dot segments
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return None
    return value


def landing(caller: Caller) -> str:
    if caller.principal.role == "admin":
        return f"{PREFIX}/follow-up"
    return f"{PREFIX}/worklist"


Anyone = Annotated[Caller, Depends(signed_in(*CARE_AND_ADMIN))]


@router.get("/", status_code=303)
def home(caller: Anyone) -> Response:
    with caller.session():
        pass
    return RedirectResponse(landing(caller), status_code=303)


@router.get("/sign-in")
def sign_in_page(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    context = {"next": safe_next(next_page) or "", "error": None, "oidc": _oidc(request)}
    return render(request, "sign_in.html", context)


def _oidc(request: Request) -> bool:
    """Whether staff sign in with the identity provider (and not with a pasted token)."""
    return getattr(request.app.state, "oidc", None) is not None


@router.post("/sign-in", status_code=303, dependencies=[Depends(check_origin)])
def sign_in(request: Request, form: Form) -> Response:
    if _oidc(request):  # tokens are for machines and scripts once a provider signs staff in
        raise refuse(request, None, forbidden("sign in with the identity provider"))
    token = form.get("token", "").strip() or None
    try:
        caller = caller_for_token(
            request, token, CARE_AND_ADMIN, missing="no token given", cookie=True
        )
    except Problem as problem:
        # Beside the token field, in the console's language: which of the three it is.
        error = "missing" if token is None else "refused" if problem.status == 401 else "forbidden"
        context = {"next": safe_next(form.get("next")) or "", "error": error, "oidc": False}
        return render(request, "sign_in.html", context, status=problem.status)
    with caller.session():
        pass  # the sign-in itself is recorded
    response = RedirectResponse(safe_next(form.get("next")) or landing(caller), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token or "",
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.post("/sign-out", status_code=303, dependencies=[Depends(check_origin)])
def sign_out(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE) or ""
    if token.startswith(staff_sessions.SESSION_PREFIX):  # the session ends here, not only here
        pool: ConnectionPool[Conn] = request.app.state.pool
        with pool.connection() as conn, conn.transaction():
            staff_sessions.revoke_session(conn, token, now=request.app.state.clock())
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


def language_choice(request: Request, form: dict[str, str], prefix: str) -> Response:
    """The language cookie of the app at ``prefix`` set from the toggle's form; back to the
    page the toggle was on."""
    lang = "en" if form.get("lang") == "en" else "sv"
    response = RedirectResponse(
        safe_next(form.get("next"), prefix) or f"{prefix}/", status_code=303
    )
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=LANG_COOKIE_MAX_AGE,
        path=prefix,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.post("/language", status_code=303, dependencies=[Depends(check_origin)])
def set_language(request: Request, form: Form) -> Response:
    return language_choice(request, form, PREFIX)
