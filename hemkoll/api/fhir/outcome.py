"""Errors under /fhir/R4 as OperationOutcome (``application/fhir+json``), not problem details."""

from __future__ import annotations

from typing import Any

from hemkoll.api.fhir import MEDIA_TYPE, PREFIX

# HTTP status -> OperationOutcome issue type (FHIR value set issue-type).
_ISSUE_CODES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    422: "invalid",
    429: "throttled",
}


def is_fhir_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def operation_outcome(status: int, detail: str) -> dict[str, Any]:
    code = _ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": detail}],
    }


__all__ = ["MEDIA_TYPE", "is_fhir_path", "operation_outcome"]
