"""Errors as RFC 9457 problem details (``application/problem+json``), with specific messages.

Routes raise ``Problem``; the handlers here also turn request validation errors, unknown routes
and any unexpected error into problem details. An unexpected error is logged by its class only
(its message could quote patient data) and answered 500 without details.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hemkoll.api.fhir import outcome as fhir_outcome

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
# Problem types are URIs that identify the kind of problem; hemkoll's are relative references
# documented in docs/api.md.
TYPE_BASE = "/problems/"


class Problem(Exception):
    """An error answer: status, a short title per kind, a detail specific to this request."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extensions = extensions

    def body(self, instance: str) -> dict[str, Any]:
        return {
            "type": TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            **self.extensions,
        }


def not_found(what: str, ident: object) -> Problem:
    # Another health centre's object answers exactly like one that does not exist.
    return Problem(404, "not-found", "Not found", f"no {what} {ident}")


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def conflict(detail: str, **extensions: Any) -> Problem:
    return Problem(409, "conflict", "Conflict", detail, **extensions)


def invalid(detail: str, **extensions: Any) -> Problem:
    return Problem(422, "invalid-request", "Invalid request", detail, **extensions)


def unauthenticated(detail: str) -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Unauthenticated",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="hemkoll"'},
    )


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    if fhir_outcome.is_fhir_path(request.url.path):  # FHIR clients read OperationOutcome
        return JSONResponse(
            fhir_outcome.operation_outcome(problem.status, problem.detail),
            status_code=problem.status,
            media_type=fhir_outcome.MEDIA_TYPE,
            headers=problem.headers,
        )
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, Problem):
        raise exc
    return problem_response(exc, request)


def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = [
        {"location": [str(part) for part in error["loc"]], "message": error["msg"]}
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"location": [], "message": "invalid"}
    detail = f"{'.'.join(first['location'])}: {first['message']}"
    return problem_response(invalid(detail, errors=errors), request)


def _on_http(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}
    kind = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
        exc.status_code, "http-error"
    )
    problem = Problem(
        exc.status_code,
        kind,
        titles.get(exc.status_code, "HTTP error"),
        str(exc.detail),
        headers=dict(exc.headers) if exc.headers else None,
    )
    return problem_response(problem, request)


def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL refused a value the request carried (a NUL character in a text, a number out
    # of a column's range): the request's fault. The message is not echoed: it may quote it.
    log.info("refused a value PostgreSQL cannot store (%s)", type(exc).__name__)
    return problem_response(
        invalid("a value cannot be stored: it holds a NUL character or is out of range"), request
    )


def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "?")
    log.error("unexpected %s answering %s %s", type(exc).__name__, request.method, route)
    problem = Problem(
        500, "internal-error", "Internal error", "the request failed; it has been logged"
    )
    return problem_response(problem, request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(psycopg.DataError, _on_data_error)
    app.add_exception_handler(Exception, _on_unexpected)
