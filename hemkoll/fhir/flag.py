"""An alert as a FHIR ``Flag`` with its evidence, and a webhook's ``Bundle`` (pure: no I/O).

Flag rather than DetectedIssue (docs/fhir.md, "Flag"): an alert is a warning about a patient
that stays up on the care team's list from when it opened until it is resolved, which is what
Flag is (status active/inactive, period, subject, author); DetectedIssue is about a proposed
or ongoing action (an order that interacts with another), which an alert is not. The readings
that triggered it are ``flag-detail`` extensions (a core extension: "the Observation ... that
provides additional supporting information about this flag"), one per Observation; the
alert's severity is the core ``flag-priority`` extension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.flag import Flag

from hemkoll.fhir import BASE_PATH
from hemkoll.fhir.observation import entries, observation_id, observation_resource
from hemkoll.store.alerts import FlagAlert
from hemkoll.store.readings_query import RawReading

FLAG_DETAIL = "http://hl7.org/fhir/StructureDefinition/flag-detail"
FLAG_PRIORITY = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY_CODES = "http://hl7.org/fhir/flag-priority-code"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
HEMKOLL_RULE = "urn:hemkoll:rule"
HEMKOLL_RULE_KIND = "urn:hemkoll:rule-kind"
HEMKOLL_ALERT_STATE = "urn:hemkoll:alert-state"
HEMKOLL_CENTRE = "urn:hemkoll:health-centre"
HEMKOLL_EVENT = "urn:hemkoll:event"
# Red is to be acted on today, yellow soon (docs/programme.md): high and medium priority.
PRIORITY = {"red": ("PH", "High priority"), "yellow": ("PM", "Medium priority")}


def alert_from_payload(data: Mapping[str, Any], *, centre_name: str | None) -> FlagAlert:
    """The alert as a Flag needs it, from a hemkoll alert webhook's ``data``
    (store/queries/notifications.sql)."""
    opened_at = _aware(str(data["opened_at"]))
    since = data.get("severity_since")
    return FlagAlert(
        id=UUID(str(data["alert_id"])),
        patient_id=UUID(str(data["patient_id"])),
        health_centre_id=UUID(str(data["health_centre_id"])),
        centre_name=centre_name,
        rule_id=str(data["rule_id"]),
        rule_kind=str(data["rule_kind"]),
        state=str(data["state"]),
        severity=str(data["severity"]),
        opened_at=opened_at,
        resolved_at=None,
        explanation_en=str(data["summary_en"]),
        updated_at=max(opened_at, _aware(str(since))) if since else opened_at,
    )


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return at.astimezone(UTC)


def flag_status(state: str) -> str:
    """Open and acknowledged alerts are on the list (active); a resolved one is not."""
    return "inactive" if state == "resolved" else "active"


def flag_resource(alert: FlagAlert, evidence: Sequence[RawReading]) -> Flag:
    code, display = PRIORITY.get(alert.severity, ("PN", "No alarm"))
    extensions: list[dict[str, Any]] = [
        {
            "url": FLAG_PRIORITY,
            "valueCodeableConcept": {
                "coding": [{"system": FLAG_PRIORITY_CODES, "code": code, "display": display}],
                "text": alert.severity,
            },
        }
    ]
    # One per Observation: a cuff's systolic and diastolic are one panel (hemkoll.fhir.observation).
    extensions += [
        {"url": FLAG_DETAIL, "valueReference": {"reference": f"Observation/{observation_id(e)}"}}
        for e in entries(evidence)
    ]
    period: dict[str, str] = {"start": alert.opened_at.isoformat()}
    if alert.resolved_at is not None:
        period["end"] = alert.resolved_at.isoformat()
    author: dict[str, Any] = {
        "type": "Organization",
        "identifier": {"system": HEMKOLL_CENTRE, "value": str(alert.health_centre_id)},
    }
    if alert.centre_name:
        author["display"] = alert.centre_name
    return Flag.model_validate(
        {
            "resourceType": "Flag",
            "id": str(alert.id),
            "meta": {
                "lastUpdated": alert.updated_at.isoformat(),
                "tag": [{"system": HEMKOLL_ALERT_STATE, "code": alert.state}],
            },
            "extension": extensions,
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{alert.id}"}],
            "status": flag_status(alert.state),
            "category": [
                {"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]},
                {"coding": [{"system": HEMKOLL_RULE_KIND, "code": alert.rule_kind}]},
            ],
            "code": {
                "coding": [{"system": HEMKOLL_RULE, "code": alert.rule_id}],
                "text": alert.explanation_en,
            },
            "subject": {"reference": f"Patient/{alert.patient_id}"},
            "period": period,
            "author": author,
        }
    )


def webhook_bundle(
    alert: FlagAlert,
    evidence: Sequence[RawReading],
    *,
    public_url: str,
    notification_id: UUID,
    event: str,
    at: datetime,
) -> Bundle:
    """A ``collection`` Bundle: the Flag, then the Observations that triggered it (``evidence``
    holds both halves of a blood pressure it names: store/queries/notifications.sql)."""
    base = f"{public_url.rstrip('/')}{BASE_PATH}"
    bundle_entries = [
        {
            "fullUrl": f"{base}/Flag/{alert.id}",
            "resource": flag_resource(alert, evidence).model_dump(mode="json", exclude_none=True),
        }
    ] + [
        {
            "fullUrl": f"{base}/Observation/{observation_id(e)}",
            "resource": observation_resource(e, alert.patient_id).model_dump(
                mode="json", exclude_none=True
            ),
        }
        for e in entries(evidence)
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "meta": {"tag": [{"system": HEMKOLL_EVENT, "code": event}]},
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{notification_id}"},
            "type": "collection",
            "timestamp": at.astimezone(UTC).isoformat(),
            "entry": bundle_entries,
        }
    )
