"""hemkoll's rows as HL7 FHIR R4 resources, pure (no I/O): used by the FHIR read API
(``hemkoll.api.fhir``) and by the dispatcher's FHIR-shaped webhooks (``hemkoll.notify``), so it
sits below both (pyproject ``[tool.importlinter]``).

Models are ``fhir.resources.R4B``: fhir.resources 7+ defaults to R5, and R4B is the R4-compatible
release it ships (R4B changed no element served here), so what is served is what R4 clients
read. See docs/fhir.md.
"""

# Where the FHIR API is served, below the public URL; resources' fullUrls are built on it.
BASE_PATH = "/fhir/R4"
