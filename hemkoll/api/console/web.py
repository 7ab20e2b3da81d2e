"""The console's web plumbing: pages rendered with Jinja2, errors as pages (or, for htmx, as a
message in the page's live region), security headers, and form bodies.

Console routes use ``ConsoleRoute``: a ``Problem`` raised by a route or its dependencies (the
same ones the API raises, after the same audit record) becomes an HTML page instead of a
problem+json body. A 401 sends the browser to the sign-in page; an htmx request gets the
message swapped into ``#messages`` instead of the part of the page it asked for. The page
says what kind of problem it is in the console's language; the problem's own detail (English,
for the API and the logs, sometimes a library's) is never shown.

A form whose input is wrong raises ``Rejected`` instead: the same 422 and audit record, with
the page (or, for htmx, the part of it) that shows the form again as it was typed, each error
beside its field (hemkoll.api.console.form_errors).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from hemkoll.api.access import Principal
from hemkoll.api.console.i18n import CATALOGUE, Formatter, Lang, arrived_late, parse_lang
from hemkoll.api.problems import Problem, invalid

log = logging.getLogger(__name__)

PREFIX = "/console"
# The patient app (hemkoll.api.mitt) is rendered by the same machinery under its own prefix.
PATIENT_PREFIX = "/mitt"
STATIC = f"{PREFIX}/static"
LANG_COOKIE = "hemkoll_lang"
DEFAULT_TZ = "Europe/Stockholm"
# A console form is a few short fields and at most a 2,000-character note.
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 50
# No third-party content, no inline script or style; htmx runs without eval.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show patient data: no copy in the browser's or a proxy's cache (shared tablets).
    "Cache-Control": "no-store",
}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("hemkoll.api.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# A finding older than a day when its alert opened is marked as arrived late (_finding_time.html).
_ENV.globals["arrived_late"] = arrived_late


def _static_version() -> str:
    folder = resources.files("hemkoll.api.console") / "static"
    digest = hashlib.sha256()
    for name in ("console.css", "console.js", "htmx.min.js", "mitt.css"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:10]


_VERSION = _static_version()


def static(name: str) -> str:
    """A static file's URL, versioned by content so a new release is never served stale."""
    return f"{STATIC}/{name}?v={_VERSION}"


def language(request: Request) -> Lang:
    return parse_lang(request.cookies.get(LANG_COOKIE))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def app_prefix(request: Request) -> str:
    """Which of the two server-rendered apps a request is for: the console or the patient's."""
    path = request.url.path
    if path == PATIENT_PREFIX or path.startswith(f"{PATIENT_PREFIX}/"):
        return PATIENT_PREFIX
    return PREFIX


def here(request: Request) -> str:
    """The page to come back to (after signing in, or switching language): the page's own path
    and query; for a page that answered a form, the app's page the form was on."""
    prefix = app_prefix(request)
    if request.method != "GET":
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.path.startswith(f"{prefix}/"):
            return referer.path + (f"?{referer.query}" if referer.query else "")
        return f"{prefix}/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    me: Principal | None = None,
    tz: str = DEFAULT_TZ,
    now: datetime | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    lang = language(request)
    clock: Callable[[], datetime] = request.app.state.clock
    fmt = Formatter(lang, ZoneInfo(tz), now or clock())
    page = _ENV.get_template(template).render(
        {
            "t": CATALOGUE[lang],
            "lang": lang,
            "fmt": fmt,
            "me": me,
            "here": here(request),
            "static": static,
            "section": "",
            **context,
        }
    )
    return HTMLResponse(page, status_code=status, headers=dict(headers or {}))


class Rejected(Problem):
    """A form's input refused: 422, answered with ``response``, the form again with its errors
    (or, with ``status`` 409, a form that has nothing left to do, answered with why).

    ``detail`` names the fields refused only, never what was typed in them.
    """

    def __init__(self, response: Response, detail: str, *, status: int = 422) -> None:
        if status == 409:
            super().__init__(409, "conflict", "Conflict", detail)
        else:
            super().__init__(status, "invalid-request", "Invalid request", detail)
        self.response = response


def rejected(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    errors: Mapping[str, str],
    me: Principal | None = None,
    tz: str = DEFAULT_TZ,
    headers: Mapping[str, str] | None = None,
) -> Rejected:
    """A form answered again with ``errors`` (message by field name) beside its fields."""
    response = render(
        request,
        template,
        {**context, "errors": errors},
        me=me,
        tz=tz,
        status=422,
        headers=headers,
    )
    return Rejected(response, "form errors: " + ", ".join(name or "form" for name in errors))


def sign_in_url(request: Request) -> str:
    return f"{app_prefix(request)}/sign-in?next={quote(here(request), safe='/')}"


# The patient page, whose "not found" offers emergency access (docs/access.md).
PATIENT_PAGE = "/console/patients/{patient_id}"


def problem_page(request: Request, problem: Problem) -> Response:
    """A refused or failed console request, as the browser (or htmx) should get it."""
    if problem.status == 401:
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": sign_in_url(request)})
        return RedirectResponse(sign_in_url(request), status_code=303)
    context: dict[str, object] = {"status": problem.status}
    route = getattr(request.scope.get("route"), "path", "")
    if problem.status == 404 and request.method == "GET" and route == PATIENT_PAGE:
        # The emergency-access form (console/emergency.py), for any patient id alike.
        context["emergency_for"] = request.path_params.get("patient_id")
    if is_htmx(request):
        headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
        if problem.status == 409:
            headers["HX-Trigger"] = "refresh-worklist"
        return render(request, "_problem.html", context, status=problem.status, headers=headers)
    return render(request, "error.html", context, status=problem.status)


def _validation_detail(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"


class ConsoleRoute(APIRoute):
    """A route whose problems are pages, and whose every answer has the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except Rejected as refused:
                response = refused.response
            except Problem as problem:
                response = problem_page(request, problem)
            except RequestValidationError as exc:
                response = problem_page(request, invalid(_validation_detail(exc)))
            except StarletteHTTPException as exc:
                failure = Problem(exc.status_code, "http-error", "HTTP error", str(exc.detail))
                response = problem_page(request, failure)
            except Exception as exc:  # noqa: BLE001 (a page rather than a traceback)
                # By class only: a message could quote patient data.
                log.error(  # noqa: TRY400 (no traceback: its message could too)
                    "unexpected %s answering %s %s", type(exc).__name__, request.method, self.path
                )
                failure = Problem(500, "internal-error", "Internal error", "logged")
                response = problem_page(request, failure)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route


async def form_fields(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (the last value of a name wins).

    Parsed here rather than with python-multipart: the console only ever posts short forms.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Problem(413, "too-large", "Content too large", "the form is too large")
    if not body:
        return {}
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise invalid("body: expected a form (application/x-www-form-urlencoded)")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("body: not a form this console sent") from exc
    return dict(pairs)
