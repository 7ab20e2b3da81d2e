"""The care-team API (FastAPI) for nurses, clinicians and administrators: issue 4."""
