"""HL7 FHIR R4 read API under ``/fhir/R4`` (issue 17). The mapping of rows to resources is
``hemkoll.fhir`` (pure, shared with the FHIR-shaped webhooks). See docs/fhir.md.
"""

from hemkoll.fhir import BASE_PATH

PREFIX = BASE_PATH
MEDIA_TYPE = "application/fhir+json"
