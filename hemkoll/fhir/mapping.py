"""Our patients and devices as FHIR R4 resources (pure: no I/O); readings are
``hemkoll.fhir.observation``'s."""

from __future__ import annotations

from fhir.resources.R4B.device import Device as FhirDevice
from fhir.resources.R4B.patient import Patient

from hemkoll.store.patients import PatientRecord
from hemkoll.store.types import Device


def patient_resource(patient: PatientRecord) -> Patient:
    """The pseudonymous patient: our id and the centre's reference, nothing identifying."""
    return Patient.model_validate(
        {
            "resourceType": "Patient",
            "id": str(patient.id),
            "identifier": [
                {
                    "system": f"urn:hemkoll:centre:{patient.health_centre_id}",
                    "value": patient.reference,
                }
            ],
            "active": patient.discharged_at is None,
        }
    )


def device_resource(device: Device) -> FhirDevice:
    """A patient's device: its id, kind and whether it is active (no serial numbers held)."""
    return FhirDevice.model_validate(
        {
            "resourceType": "Device",
            "id": str(device.id),
            "status": "active" if device.active else "inactive",
            "type": {"coding": [{"system": "urn:hemkoll:device-kind", "code": device.kind}]},
            "patient": {"reference": f"Patient/{device.patient_id}"},
        }
    )
