"""A real OpenID Connect provider (panva/oidc-provider on Node.js, tests/oidc/provider.mjs),
started once per test session, and one world for the sign-in tests of a module: the API's two
health centres and their staff (tests/api/conftest.py) with HSA ids, served by uvicorn as the
API's deployed role, signing staff in with that provider.

The provider's packages are installed by ``npm ci`` in tests/oidc (README, "Run the tests";
.ci/run does it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from hemkoll.api.app import ApiConfig, create_app
from hemkoll.api.oidc_client import OidcConfig
from hemkoll.local_services.ports import free_port
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.simulator.receiver.server import ThreadedServer
from hemkoll.store import staff
from hemkoll.store.connect import connect
from tests.api.conftest import World, _centre
from tests.conftest import as_api_role, create_database_from, drop_database, url_for
from tests.oidc import accounts

HERE = Path(__file__).resolve().parent
# The provider starts in well under a second; a loaded CI machine may take a few.
PROVIDER_START_S = 30.0
# The provider's development login form: any password.
PASSWORD = "any-password"
_FORM_ACTION = re.compile(r'<form[^>]*action="(?P<action>[^"]+)"')


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Provider:
    issuer: str

    def config(self, **changes: object) -> OidcConfig:
        base: dict[str, object] = {
            "issuer": self.issuer,
            "client_id": accounts.CLIENT_ID,
            "client_secret": accounts.CLIENT_SECRET,
            "scope": accounts.SCOPE,
        }
        return OidcConfig(**{**base, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None:
        _unavailable("no node on PATH (apt-get install nodejs)")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        _unavailable("the test provider is not installed: (cd tests/oidc && npm ci)")
    accounts_file = tmp_path_factory.mktemp("oidc") / "accounts.json"
    accounts_file.write_text(json.dumps(accounts.ACCOUNTS), "utf-8")
    port = free_port()
    process = subprocess.Popen(
        [
            str(node),
            str(HERE / "provider.mjs"),
            str(port),
            str(accounts_file),
            accounts.CLIENT_ID,
            accounts.CLIENT_SECRET,
        ],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "ready <issuer>", or "" if it died
        if not line.startswith("ready "):
            pytest.fail(f"the OpenID provider did not start (exit {process.poll()})")
        yield Provider(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=PROVIDER_START_S)


@dataclass
class OidcWorld:
    world: World
    db_url: str
    base: str
    provider: Provider


def _hsa_ids(db_url: str, world: World) -> None:
    with psycopg.connect(db_url) as conn:
        for centre, hsa in ((world.a, accounts.UNIT_A), (world.b, accounts.UNIT_B)):
            conn.execute("UPDATE health_centres SET hsa_id = %s WHERE id = %s", (hsa, centre.id))
        for staff_id, hsa in (
            (world.a.staff_ids["nurse"], accounts.NURSE_A),
            (world.b.staff_ids["nurse"], accounts.NURSE_B),
            (world.a.staff_ids["clinician"], accounts.CLINICIAN_A),
            (world.region_admin_id, accounts.REGION_ADMIN),
        ):
            conn.execute("UPDATE staff SET hsa_id = %s WHERE id = %s", (hsa, staff_id))


@pytest.fixture(scope="module")
def oidc_world(template_db: str, provider: Provider) -> Iterator[OidcWorld]:
    """One database and server for a module's sign-in tests (each test signs in afresh)."""
    name = create_database_from(template_db)
    db_url = url_for(name)
    with connect(db_url) as conn, conn.transaction():
        region = staff.create_staff(conn, name="region admin", role="admin", health_centre_id=None)
        token = staff.issue_token(conn, region.id, now=datetime.now(UTC)).token
        world = World(
            token, region.id, _centre(conn, "Vårdcentral A"), _centre(conn, "Vårdcentral B")
        )
    _hsa_ids(db_url, world)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        ApiConfig(
            database_url=as_api_role(db_url),
            programme=HEART_FAILURE,
            public_url=base,
            oidc=provider.config(),
        )
    )
    with ThreadedServer(app, port=port, name="oidc-api", lifespan="on"):
        yield OidcWorld(world, db_url, base, provider)
    drop_database(name)


def login_at_provider(http: httpx.Client, response: httpx.Response, login: str) -> httpx.Response:
    """Fill in the provider's login form as a person would, and follow on from it."""
    assert response.status_code == 200, response.text[:500]
    match = _FORM_ACTION.search(response.text)
    assert match is not None, response.text[:500]
    action = httpx.URL(str(response.url)).join(match.group("action"))
    return http.post(action, data={"prompt": "login", "login": login, "password": PASSWORD})


def sign_in(http: httpx.Client, base: str, login: str) -> httpx.Response:
    """The whole flow with redirects followed: the console, the provider, back to the console."""
    page = http.get(f"{base}/console/oidc/start", params={"next": "/console/worklist"})
    return login_at_provider(http, page, login)
