"""HL7 FHIR R4 read API under ``/fhir/R4`` (issue 17, first part).

Models are ``fhir.resources.R4B``: fhir.resources 7+ defaults to R5, and R4B is the R4-compatible
release it ships (R4B changed no Observation, Patient, Device or Bundle element that R4 clients
use), so what is served here is what R4 clients read. See docs/fhir.md.
"""

PREFIX = "/fhir/R4"
MEDIA_TYPE = "application/fhir+json"
