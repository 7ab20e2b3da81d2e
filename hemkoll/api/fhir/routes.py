"""FHIR R4 read routes: metadata, Patient, Observation search (paged searchset Bundles)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from hemkoll.api.access import NURSES, Caller, allow
from hemkoll.api.fhir import MEDIA_TYPE, PREFIX, mapping
from hemkoll.api.problems import invalid, not_found
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.api.routes.readings import decode_cursor, encode_cursor
from hemkoll.store import devices, readings_query

router = APIRouter(prefix=PREFIX, tags=["fhir"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
DEFAULT_COUNT = 100
MAX_COUNT = 1000
_EARLIEST = datetime.fromisoformat("1900-01-01T00:00:00+00:00")
_LATEST = datetime.fromisoformat("2200-01-01T00:00:00+00:00")
_TICK = timedelta(microseconds=1)


def _fhir(resource: Any) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), media_type=MEDIA_TYPE)


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value.removeprefix("Patient/"))
    except ValueError as exc:
        raise not_found(what, value) from exc


def _date_bounds(params: list[str]) -> tuple[datetime, datetime]:
    """[since, until) from ``date`` parameters with prefixes ge/gt/le/lt (aware instants)."""
    since, until = _EARLIEST, _LATEST
    for param in params:
        prefix, rest = param[:2], param[2:]
        if prefix not in ("ge", "gt", "le", "lt"):
            raise invalid(f"date: {param!r} needs a prefix ge, gt, le or lt and an instant")
        try:
            at = datetime.fromisoformat(rest)
        except ValueError as exc:
            raise invalid(f"date: {rest!r} is not an ISO 8601 instant") from exc
        if at.tzinfo is None:
            raise invalid(f"date: {rest!r} needs a time zone offset")
        # Bounds are [since, until): gt and le move by the stored resolution, a microsecond.
        if prefix in ("ge", "gt"):
            since = max(since, at if prefix == "ge" else at + _TICK)
        else:
            until = min(until, at if prefix == "lt" else at + _TICK)
    if since > until:
        raise invalid("date: the lower bound is after the upper bound")
    return since, until


@router.get("/metadata", summary="CapabilityStatement (no authentication)")
def metadata() -> Response:
    statement = CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-02",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "implementation": {"description": "hemkoll home monitoring"},
            "rest": [
                {
                    "mode": "server",
                    "security": {"description": "Bearer token (hemkoll token create)"},
                    # POST /fhir/R4 (ingest.py): a device's Bundle, with its HTTP Basic login.
                    "interaction": [{"code": "batch"}, {"code": "transaction"}],
                    "resource": [
                        {"type": "Patient", "interaction": [{"code": "read"}]},
                        {"type": "Device", "interaction": [{"code": "read"}]},
                        {
                            "type": "Observation",
                            "interaction": [{"code": "search-type"}],
                            "searchParam": [
                                {"name": "patient", "type": "reference"},
                                {"name": "code", "type": "token"},
                                {"name": "date", "type": "date"},
                                {"name": "_lastUpdated", "type": "date"},
                                {"name": "_count", "type": "number"},
                            ],
                        },
                    ],
                }
            ],
        }
    )
    return _fhir(statement)


@router.get("/Patient/{patient_id}", summary="A patient (pseudonymous reference only)")
def read_patient(patient_id: str, caller: Nurse) -> Response:
    pid = _uuid(patient_id, "Patient")
    with caller.session() as s:
        patient = patient_or_404(caller, s.conn, pid)
        s.record("patient", pid, patient_id=pid, health_centre_id=patient.health_centre_id)
    return _fhir(mapping.patient_resource(patient))


@router.get("/Device/{device_id}", summary="A patient's device")
def read_device(device_id: str, caller: Nurse) -> Response:
    did = _uuid(device_id, "Device")
    with caller.session() as s:
        device = devices.device_in_scope(s.conn, did, health_centre_id=caller.scope)
        if device is None:
            raise not_found("Device", device_id)
        s.record("device", did, patient_id=device.patient_id)
    return _fhir(mapping.device_resource(device))


@router.get("/Observation", summary="Search a patient's Observations (searchset Bundle)")
def search_observations(
    *,
    request: Request,
    caller: Nurse,
    patient: Annotated[str, Query(description="Patient/<id> or <id>")],
    code: Annotated[list[str] | None, Query()] = None,
    date: Annotated[list[str] | None, Query()] = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)] = DEFAULT_COUNT,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=300)] = None,
) -> Response:
    pid = _uuid(patient, "Patient")
    metrics: set[str] | None = None
    if code:
        metrics = set()
        for token in ",".join(code).split(","):
            metrics |= mapping.metric_for_code(token)
    since, until = _date_bounds(date or [])
    updated_since, updated_until = _date_bounds(last_updated or [])
    after = None if cursor is None else decode_cursor(cursor)
    with caller.session() as s:
        record = patient_or_404(caller, s.conn, pid)
        s.record("readings", pid, patient_id=pid, health_centre_id=record.health_centre_id)
        rows = (
            []
            if metrics == set()
            else readings_query.raw_readings(
                s.conn,
                pid,
                metrics=None if metrics is None else sorted(metrics),
                since=since,
                until=until,
                limit=count,
                after=after,
            )
        )
    shown = [r for r in rows if updated_since <= r.received_at < updated_until]
    base = str(request.base_url).rstrip("/")
    links = [{"relation": "self", "url": str(request.url)}]
    if len(rows) == count:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
        params.append(("_cursor", encode_cursor(rows[-1].cursor)))
        links.append({"relation": "next", "url": f"{base}{PREFIX}/Observation?{urlencode(params)}"})
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}{PREFIX}/Observation/{mapping.observation_id(r)}",
                    "resource": mapping.observation_resource(r, pid).model_dump(
                        mode="json", exclude_none=True
                    ),
                    "search": {"mode": "match"},
                }
                for r in shown
            ],
        }
    )
    return _fhir(bundle)
