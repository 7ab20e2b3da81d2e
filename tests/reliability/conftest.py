"""The API tests' world (two health centres with staff, a patient, a device and an alert each)
and in-process client, for the reliability tests of the API."""

from tests.api.conftest import client, world  # noqa: F401 (fixtures)
