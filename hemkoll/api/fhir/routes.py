"""FHIR R4 read routes: metadata, Patient, Device, Observation (read and search), Flag (an
alert; read and search), searches as keyset-paged searchset Bundles."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from hemkoll.api import care_access
from hemkoll.api.access import NURSES, Caller, allow
from hemkoll.api.fhir import MEDIA_TYPE, PREFIX
from hemkoll.api.problems import invalid, not_found
from hemkoll.api.routes.patients import patient_or_404
from hemkoll.api.routes.readings import decode_cursor, encode_cursor
from hemkoll.fhir import mapping, observation
from hemkoll.fhir.flag import flag_resource
from hemkoll.store import alerts, devices, readings_query
from hemkoll.store.readings_query import RawReading

router = APIRouter(prefix=PREFIX, tags=["fhir"])
Nurse = Annotated[Caller, Depends(allow(*NURSES))]
DEFAULT_COUNT = 100
MAX_COUNT = 1000
_EARLIEST = datetime.fromisoformat("1900-01-01T00:00:00+00:00")
_LATEST = datetime.fromisoformat("2200-01-01T00:00:00+00:00")
_TICK = timedelta(microseconds=1)
COMPONENT_CODE = "http://hl7.org/fhir/SearchParameter/Observation-component-code"
COMBO_CODE = "http://hl7.org/fhir/SearchParameter/Observation-combo-code"


def fhir_response(resource: Any) -> Response:
    return Response(resource.model_dump_json(exclude_none=True), media_type=MEDIA_TYPE)


def resource_id(value: str, what: str) -> UUID:
    try:
        return UUID(value.removeprefix(f"{what}/"))
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
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": "patient", "type": "reference"},
                                {"name": "code", "type": "token"},
                                {
                                    "name": "component-code",
                                    "definition": COMPONENT_CODE,
                                    "type": "token",
                                },
                                {"name": "combo-code", "definition": COMBO_CODE, "type": "token"},
                                {"name": "date", "type": "date"},
                                {"name": "_lastUpdated", "type": "date"},
                                {"name": "_count", "type": "number"},
                            ],
                        },
                        *[
                            {
                                "type": kind,
                                "interaction": [{"code": "read"}, {"code": "search-type"}]
                                if kind == "QuestionnaireResponse"
                                else [{"code": "search-type"}],
                                "searchParam": [
                                    {"name": "patient", "type": "reference"},
                                    {"name": "_count", "type": "number"},
                                ],
                            }
                            for kind in ("QuestionnaireResponse", "Communication")
                        ],
                        {
                            "type": "Flag",
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": "patient", "type": "reference"},
                                {"name": "status", "type": "token"},
                                {"name": "_lastUpdated", "type": "date"},
                                {"name": "_count", "type": "number"},
                            ],
                        },
                    ],
                }
            ],
        }
    )
    return fhir_response(statement)


@router.get("/Patient/{patient_id}", summary="A patient (pseudonymous reference only)")
def read_patient(patient_id: str, caller: Nurse) -> Response:
    pid = resource_id(patient_id, "Patient")
    with caller.session() as s:
        patient = patient_or_404(caller, s, pid)
        s.record("patient", pid, patient_id=pid, health_centre_id=patient.health_centre_id)
    return fhir_response(mapping.patient_resource(patient))


@router.get("/Device/{device_id}", summary="A patient's device")
def read_device(device_id: str, caller: Nurse) -> Response:
    did = resource_id(device_id, "Device")
    with caller.session() as s:
        device = devices.device_in_scope(s.conn, did, health_centre_id=None)
        missing = not_found("Device", device_id)
        if device is None:
            raise missing
        care_access.require_patient(caller, s, device.patient_id, missing=missing)
        s.record("device", did, patient_id=device.patient_id)
    return fhir_response(mapping.device_resource(device))


def _kinds(
    code: list[str] | None, component_code: list[str] | None, combo_code: list[str] | None
) -> set[str] | None:
    """The entry kinds the token parameters ask for (None: all). Each parameter is OR over its
    comma-separated or repeated tokens; different parameters are ANDed, as FHIR search is."""
    wanted: set[str] | None = None
    for tokens, match in (
        (code, observation.kinds_for_code),
        (component_code, observation.kinds_for_component_code),
        (
            combo_code,
            lambda t: observation.kinds_for_code(t) | observation.kinds_for_component_code(t),
        ),
    ):
        if tokens:
            found = set().union(*(match(t) for t in ",".join(tokens).split(",")))
            wanted = found if wanted is None else wanted & found
    return wanted


@router.get("/Observation", summary="Search a patient's Observations (searchset Bundle)")
def search_observations(
    *,
    request: Request,
    caller: Nurse,
    patient: Annotated[str, Query(description="Patient/<id> or <id>")],
    code: Annotated[list[str] | None, Query()] = None,
    component_code: Annotated[
        list[str] | None, Query(alias="component-code", description="e.g. 8480-6: BP panels")
    ] = None,
    combo_code: Annotated[
        list[str] | None, Query(alias="combo-code", description="code or component-code")
    ] = None,
    date: Annotated[list[str] | None, Query()] = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)] = DEFAULT_COUNT,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=300)] = None,
) -> Response:
    pid = resource_id(patient, "Patient")
    kinds = _kinds(code, component_code, combo_code)
    since, until = _date_bounds(date or [])
    updated_since, updated_until = _date_bounds(last_updated or [])
    after = None if cursor is None else decode_cursor(cursor)
    with caller.session() as s:
        record = patient_or_404(caller, s, pid)
        s.record("readings", pid, patient_id=pid, health_centre_id=record.health_centre_id)
        rows = (
            []
            if kinds == set()
            else readings_query.observation_entries(
                s.conn,
                pid,
                kinds=None if kinds is None else sorted(kinds),
                since=since,
                until=until,
                limit=count,
                after=after,
            )
        )
    shown = [r for r in rows if updated_since <= r.received_at < updated_until]
    next_cursor = encode_cursor(rows[-1].cursor) if len(rows) == count else None
    return fhir_response(
        searchset(
            request,
            "Observation",
            [
                (observation.observation_id(r), observation.observation_resource(r, pid))
                for r in shown
            ],
            next_cursor,
        )
    )


def searchset(
    request: Request, kind: str, found: Sequence[tuple[str, Any]], next_cursor: str | None
) -> Bundle:
    """A searchset Bundle of (id, resource), with a ``next`` link carrying ``next_cursor``."""
    base = str(request.base_url).rstrip("/")
    links = [{"relation": "self", "url": str(request.url)}]
    if next_cursor is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
        params.append(("_cursor", next_cursor))
        links.append({"relation": "next", "url": f"{base}{PREFIX}/{kind}?{urlencode(params)}"})
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}{PREFIX}/{kind}/{resource_id}",
                    "resource": resource.model_dump(mode="json", exclude_none=True),
                    "search": {"mode": "match"},
                }
                for resource_id, resource in found
            ],
        }
    )


@router.get("/Observation/{observation_id}", summary="One reading (or BP panel) as an Observation")
def read_observation(observation_id: str, caller: Nurse) -> Response:
    key = observation.parse_observation_id(observation_id)
    if key is None:
        raise not_found("Observation", observation_id)
    device_id, measured_at, kind = key
    found: readings_query.ScopedReading | readings_query.ScopedBloodPressure | None
    with caller.session() as s:
        if kind == readings_query.BLOOD_PRESSURE:
            found = readings_query.blood_pressure_in_scope(
                s.conn, device_id=device_id, measured_at=measured_at, health_centre_id=None
            )
        else:
            found = readings_query.reading_in_scope(
                s.conn,
                device_id=device_id,
                metric=kind,
                measured_at=measured_at,
                health_centre_id=None,
            )
        missing = not_found("Observation", observation_id)
        if found is None:
            raise missing
        care_access.require_patient(caller, s, found.patient_id, missing=missing)
        s.record(
            "readings",
            observation_id,
            patient_id=found.patient_id,
            health_centre_id=found.health_centre_id,
        )
    return fhir_response(observation.observation_resource(found, found.patient_id))


def _evidence_by_alert(rows: Sequence[alerts.EvidenceReading]) -> dict[UUID, list[RawReading]]:
    found: dict[UUID, list[RawReading]] = {}
    for r in rows:
        found.setdefault(r.alert_id, []).append(
            RawReading(r.metric, r.value, r.measured_at, r.device_id, r.received_at)
        )
    return found


@router.get("/Flag/{flag_id}", summary="An alert as a Flag, with the Observations behind it")
def read_flag(flag_id: str, caller: Nurse) -> Response:
    alert_id = resource_id(flag_id, "Flag")
    with caller.session() as s:
        alert = alerts.flag_alert_in_scope(s.conn, alert_id, health_centre_id=None)
        missing = not_found("Flag", flag_id)
        if alert is None:
            raise missing
        care_access.require_patient(caller, s, alert.patient_id, missing=missing)
        evidence = _evidence_by_alert(alerts.evidence_readings(s.conn, [alert_id]))
        s.record(
            "alert", alert_id, patient_id=alert.patient_id, health_centre_id=alert.health_centre_id
        )
    return fhir_response(flag_resource(alert, evidence.get(alert_id, [])))


# Flag.status -> the alert states it covers (the alert state machine, migration 0002).
FLAG_STATES = {"active": ("open", "acknowledged"), "inactive": ("resolved",)}


def encode_position(at: datetime, row_id: UUID) -> str:
    """A keyset ``_cursor`` of an (instant, id) ordering (Flag, QuestionnaireResponse, ...)."""
    raw = orjson.dumps([at.isoformat(), str(row_id)])
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_position(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, alert_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = (datetime.fromisoformat(at), UUID(alert_id))
    except (ValueError, TypeError) as exc:
        raise invalid("_cursor: not a cursor this API gave out") from exc
    if position[0].tzinfo is None:
        raise invalid("_cursor: not a cursor this API gave out")
    return position


@router.get("/Flag", summary="Search a patient's alerts as Flags (searchset Bundle)")
def search_flags(
    *,
    request: Request,
    caller: Nurse,
    patient: Annotated[str, Query(description="Patient/<id> or <id>")],
    status: Annotated[list[str] | None, Query(description="active, inactive")] = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)] = DEFAULT_COUNT,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=300)] = None,
) -> Response:
    pid = resource_id(patient, "Patient")
    states: set[str] = set()
    for token in ",".join(status or ["active,inactive"]).split(","):
        if token not in FLAG_STATES:
            raise invalid(f"status: {token!r} is not a Flag status served here (active, inactive)")
        states.update(FLAG_STATES[token])
    updated_since, updated_until = _date_bounds(last_updated or [])
    after = None if cursor is None else decode_position(cursor)
    with caller.session() as s:
        record = patient_or_404(caller, s, pid)
        s.record("alert", "search", patient_id=pid, health_centre_id=record.health_centre_id)
        page = alerts.flag_alerts_page(
            s.conn,
            pid,
            states=sorted(states),
            updated_since=updated_since,
            updated_until=updated_until,
            limit=count,
            after=after,
        )
        evidence = _evidence_by_alert(alerts.evidence_readings(s.conn, [a.id for a in page]))
    found = [(str(a.id), flag_resource(a, evidence.get(a.id, []))) for a in page]
    last = page[-1] if len(page) == count else None
    next_cursor = None if last is None else encode_position(last.opened_at, last.id)
    return fhir_response(searchset(request, "Flag", found, next_cursor))
