"""Schemathesis against the API's own OpenAPI document: generated requests, no server error.

The API runs under uvicorn (the real lifespan and pool) on a fresh database with two centres;
each generated request is sent with a clinician's and with a region administrator's token (and
a device's HTTP Basic login, which POST /fhir/R4 takes), so
requests get past authentication into each route's own validation and logic. The number of
examples per operation is bounded so that this runs in CI in well under a minute.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.api.guards import ApiLimits
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.simulator.receiver.server import ThreadedServer
from hemkoll.store import devices
from hemkoll.store.connect import connect
from tests.api.conftest import World
from tests.conftest import as_api_role

# Examples per operation: enough for each route to see malformed ids, bodies, ranges and
# cursors, few enough that ~50 operations x 2 tokens (and FHIR ingest's device login) stay
# near half a minute here, inside CI's 20-minute budget.
EXAMPLES_PER_OPERATION = 8


@pytest.fixture
def served_api(db_url: str, world: World) -> Iterator[tuple[str, World]]:
    # Generated requests come faster than any person's: the rate limit is not under test here.
    app = create_app(
        ApiConfig(
            database_url=as_api_role(db_url),
            programme=HEART_FAILURE,
            limits=ApiLimits(per_second=100000, per_minute=10**7),
        )
    )
    with ThreadedServer(app, name="api", lifespan="on") as server:
        yield server.base_url, world


@pytest.mark.long
def test_no_generated_request_gets_a_server_error(
    served_api: tuple[str, World], db_url: str
) -> None:
    base_url, world = served_api
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    with connect(db_url) as conn, conn.transaction():
        gateway = devices.add_device(conn, world.a.patient_id, "gateway")
    login = f"{gateway.device.id}:{gateway.mqtt_password}".encode()
    # POST /fhir/R4 takes a device's login: its generated bodies reach the Bundle parser.
    authorizations = (
        *(f"Bearer {token}" for token in (world.a.tokens["clinician"], world.region_admin)),
        "Basic " + base64.b64encode(login).decode(),
    )
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            for authorization in authorizations:
                case.call_and_validate(
                    headers={"Authorization": authorization}, checks=[not_a_server_error]
                )

        try:
            exercise()
        except Exception as exc:  # noqa: BLE001 (collected, then the test fails with all of them)
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
