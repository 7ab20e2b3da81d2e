"""FHIR ingest: ``POST /fhir/R4`` with a batch or transaction Bundle of Observations from a phone
gateway (the PHD IG's shapes), authenticated with the device's own MQTT credentials.

The guarantees are the MQTT path's, by the same code: ``protocol.fhir_bundle`` turns the Bundle
into the readings ``protocol.payload`` checks; ``store.readings.ReadingWriter`` stores them
once (a resent Bundle adds nothing), dead-letters the refused entries (``ingest.pipeline``'s
dead letters) and queues the patient for the rules, all in one transaction. A batch answers each
entry (201 stored, 200 already stored, 422 with an OperationOutcome); a transaction is all or
nothing (FHIR): one bad entry and nothing is stored, 400 with an issue per bad entry.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from psycopg_pool import ConnectionPool

from hemkoll.api.fhir import MEDIA_TYPE, PREFIX
from hemkoll.fhir import observation
from hemkoll.ingest.pipeline import InboundMessage, MessagePlan, dead_letters
from hemkoll.observability import metrics
from hemkoll.protocol import fhir_bundle
from hemkoll.protocol.feedback import Rejection
from hemkoll.store import devices
from hemkoll.store.connect import Conn
from hemkoll.store.credentials import hash_secret, new_secret, verify_secret
from hemkoll.store.readings import BatchResult, ReadingWriter, UrgentReading
from hemkoll.store.readings_query import RawReading
from hemkoll.store.types import Device, Reading

router = APIRouter(prefix=PREFIX, tags=["fhir"])

REASON_SYSTEM = "urn:hemkoll:reason"
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="hemkoll FHIR ingest", charset="UTF-8"'}
_JSON_TYPES = ("application/fhir+json", "application/json")
# Reason code -> OperationOutcome issue type (FHIR value set issue-type).
_ISSUE_TYPES = {
    "code_unknown": "code-invalid",
    "unit_not_allowed": "code-invalid",
    "resource_not_supported": "not-supported",
    "field_missing": "required",
    "not_json": "structure",
    "not_a_bundle": "structure",
    "too_many_entries": "too-costly",
    "device_inactive": "forbidden",
    "media_type": "not-supported",
    "login": "login",
}
_UNKNOWN_DEVICE_HASH = hash_secret(new_secret())
_STATUS_TEXT = {200: "200 OK", 201: "201 Created", 422: "422 Unprocessable Entity"}


def _outcome(issues: list[tuple[str, str, int | None]]) -> dict[str, Any]:
    """An OperationOutcome of (reason code, reason, entry index or None) issues."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _ISSUE_TYPES.get(code, "invalid"),
                "details": {"coding": [{"system": REASON_SYSTEM, "code": code}], "text": reason},
                "diagnostics": reason,
                **({} if index is None else {"expression": [f"Bundle.entry[{index}]"]}),
            }
            for code, reason, index in issues
        ],
    }


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _refused(status: int, code: str, reason: str, **kw: Any) -> Response:
    return _answer(status, _outcome([(code, reason, None)]), **kw)


def _basic_login(header: str | None) -> tuple[UUID, str] | None:
    """The device id and secret of an ``Authorization: Basic`` header, if well formed."""
    if header is None or header[:6].lower() != "basic ":
        return None
    try:
        user, sep, secret = (
            base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        )
        return (UUID(user), secret) if sep else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@router.post(
    "",
    summary="Ingest a batch or transaction Bundle of Observations (device HTTP Basic login)",
    description="Authorization: Basic with the device id and its MQTT secret (not a staff "
    "token). A batch answers per entry; a transaction is all or nothing. See docs/fhir.md.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {MEDIA_TYPE: {"schema": {"type": "object"}}},
        },
    },
)
async def post_bundle(request: Request) -> Response:
    body = await request.body()  # the body limit (guards, Starlette) applies while reading
    return await run_in_threadpool(
        _ingest,
        request.app.state.pool,
        request.app.state.clock(),
        request.headers.get("authorization"),
        request.headers.get("content-type", ""),
        body,
        urgent=request.app.state.urgent,
    )


def _ingest(
    pool: ConnectionPool[Conn],
    now: datetime,
    auth: str | None,
    content_type: str,
    body: bytes,
    *,
    urgent: UrgentReading,
) -> Response:
    login = _basic_login(auth)
    if login is None:
        return _refused(
            401,
            "login",
            "send HTTP Basic credentials: the device id and its secret",
            headers=_CHALLENGE,
        )
    with pool.connection() as conn:
        found = devices.device_login(conn, login[0])
        # An unknown id costs the same hash as a known one: the answer's time does not say
        # which ids exist.
        hashed = _UNKNOWN_DEVICE_HASH if found is None else found.credential_hash
        if not verify_secret(login[1], hashed) or found is None:
            return _refused(
                401, "login", "the device id or its secret is wrong", headers=_CHALLENGE
            )
        device = found.device
        if content_type.split(";", maxsplit=1)[0].strip().lower() not in _JSON_TYPES:
            return _refused(415, "media_type", "send the Bundle as application/fhir+json")
        if not device.active:
            rejection = Rejection(
                "device_inactive",
                "the device has been deactivated (its patient discharged or the device replaced)",
            )
            _write(
                conn,
                urgent,
                device,
                now,
                body,
                identifier=None,
                per_entry=[],
                rejections=[rejection],
            )
            return _refused(403, rejection.code, rejection.reason)
        raw = fhir_bundle.parse_bundle(body)
        if isinstance(raw, Rejection):
            _write(conn, urgent, device, now, body, identifier=None, per_entry=[], rejections=[raw])
            return _refused(400, raw.code, raw.reason)
        checked = fhir_bundle.check_bundle(raw, device=device, now=now)
        rejections = list(checked.rejections)
        if checked.type == "transaction" and rejections:
            _write(
                conn,
                urgent,
                device,
                now,
                body,
                identifier=checked.identifier,
                per_entry=[],
                rejections=rejections,
            )
            return _answer(400, _outcome([(r.code, r.reason, r.index) for r in rejections]))
        per_entry = [entry.readings for entry in checked.entries]
        result = _write(
            conn,
            urgent,
            device,
            now,
            body,
            identifier=checked.identifier,
            per_entry=per_entry,
            rejections=rejections,
        )
    return _answer(200, _response_bundle(checked, result, device, now))


def _write(
    conn: Conn,
    urgent: UrgentReading,
    device: Device,
    now: datetime,
    body: bytes,
    *,
    identifier: str | None,
    per_entry: Sequence[Sequence[Reading]],
    rejections: Sequence[Rejection],
) -> BatchResult:
    """Store the entries' readings, dead-letter the rejections and queue the patient: one
    transaction (ReadingWriter.write), as a batch of MQTT messages is stored."""
    message = InboundMessage(
        topic=f"POST {PREFIX} device {device.id}",
        payload=body,
        mid=0,
        qos=0,
        received_at=now,
        generation=0,
    )
    plan = MessagePlan(message, device.id, identifier, (), tuple(rejections))
    conn.commit()  # the login's read: the writer's transaction is then its own
    result = ReadingWriter(conn, urgent=urgent).write(per_entry, dead_letters([plan]))
    stored = sum(result.stored)
    metrics.INGEST_READINGS_STORED.inc(stored)
    metrics.INGEST_READINGS_DUPLICATE.inc(sum(len(r) for r in per_entry) - stored)
    for rejection in rejections:
        metrics.DEAD_LETTERS.labels(rejection.code).inc()
    return result


def _response_bundle(
    checked: fhir_bundle.CheckedBundle, result: BatchResult, device: Device, now: datetime
) -> dict[str, Any]:
    entries = []
    for entry, stored in zip(checked.entries, result.stored, strict=True):
        response: dict[str, Any]
        if entry.rejection is not None:
            r = entry.rejection
            response = {
                "status": _STATUS_TEXT[422],
                "outcome": _outcome([(r.code, r.reason, r.index)]),
            }
        elif entry.resource_type == "Device":
            response = {"status": _STATUS_TEXT[200], "location": f"Device/{device.id}"}
        elif entry.resource_type == "Patient":
            response = {"status": _STATUS_TEXT[200], "location": f"Patient/{device.patient_id}"}
        else:
            first = entry.readings[0]
            ident = observation.observation_id(
                RawReading(first.metric, first.value, first.measured_at, device.id, now)
            )
            response = {
                # 200: every reading of it was stored before (a resent Bundle).
                "status": _STATUS_TEXT[201 if stored else 200],
                "location": f"Observation/{ident}",
            }
        entries.append({"response": response})
    return {
        "resourceType": "Bundle",
        "type": f"{checked.type}-response",
        "entry": entries,
    }
