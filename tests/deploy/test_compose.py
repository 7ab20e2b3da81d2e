"""deploy/compose.yaml: valid against the Compose Specification, and what the issue asks of it.

Docker cannot run here, so the file is checked, not started: against the Compose
Specification's JSON schema (compose-spec.json, see compose-spec.SOURCE.md); every hemkoll
service's command against ``hemkoll``'s own parser; a health check, a restart policy and
resource limits on every long-running service; every HEMKOLL_* setting in .env.example with a
placeholder and no secret in the compose file. When a Docker Compose binary is on the PATH,
``docker compose config`` also resolves the file with .env.example. That the commands start
and answer their health checks is tests/deploy/test_services.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hemkoll.cli.parser import build_parser
from hemkoll.settings import Settings
from tests.deploy.conftest import DEPLOY

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
SCHEMA = Path(__file__).with_name("compose-spec.json")
HEMKOLL_SERVICES = {"migrate", "broker-auth", "ingest-1", "ingest-2", "rules", "dispatch", "api"}
ONE_SHOT = {"migrate", "db-roles", "broker-auth"}
WORKERS = {"ingest-1", "ingest-2", "rules", "dispatch"}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in ENV_EXAMPLE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _validate(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Schema errors; ``jsonschema`` if installed, else ``jsonschema_rs`` (schemathesis's)."""
    try:
        import jsonschema  # noqa: PLC0415
    except ImportError:
        import jsonschema_rs  # noqa: PLC0415

        return [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(document)]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["title"] == "Compose Specification"
    assert _validate(_compose(), schema) == []


def test_the_schema_check_would_catch_a_mistake() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = _compose()
    broken["services"]["api"]["healthcheck"]["intervall"] = "5s"
    broken["services"]["rules"]["deploy"]["resources"]["limits"]["memroy"] = "1G"
    assert len(_validate(broken, schema)) == 2


def test_every_hemkoll_command_is_a_real_subcommand() -> None:
    services = _compose()["services"]
    parser = build_parser()
    for name in HEMKOLL_SERVICES:
        command = services[name]["command"]
        # Compose interpolates ${...} before the command runs; any value parses the same.
        argv = [re.sub(r"\$\{[^}]*\}", "127.0.0.1", part) for part in command]
        args = parser.parse_args(argv)
        assert args.command == argv[0], name
    assert services["ingest-1"]["command"] == ["ingest"]
    assert services["rules"]["command"] == ["rules"]
    assert services["dispatch"]["command"] == ["dispatch"]
    assert services["api"]["command"][0] == "serve"


def test_long_running_services_have_health_checks_restarts_and_limits() -> None:
    services = _compose()["services"]
    assert set(services) == HEMKOLL_SERVICES | {"timescaledb", "db-roles", "mosquitto"}
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
        limits = service["deploy"]["resources"]["limits"]
        assert limits["cpus"], name
        assert limits["memory"], name
    for name in WORKERS:
        env = services[name]["environment"]
        assert env["HEMKOLL_METRICS_PORT"] == "9100", name
        assert services[name]["healthcheck"]["test"] == [
            "CMD",
            "hemkoll-healthcheck",
            f"http://127.0.0.1:{env['HEMKOLL_METRICS_PORT']}/healthz",
        ]
    assert services["api"]["healthcheck"]["test"][-1] == "http://127.0.0.1:8000/healthz"


def test_two_ingest_workers_share_the_readings_with_their_own_client_ids() -> None:
    services = _compose()["services"]
    one, two = services["ingest-1"]["environment"], services["ingest-2"]["environment"]
    assert one["HEMKOLL_MQTT_CLIENT_ID"] != two["HEMKOLL_MQTT_CLIENT_ID"]
    assert one["HEMKOLL_INGEST_SHARE_GROUP"] == two["HEMKOLL_INGEST_SHARE_GROUP"]
    assert services["ingest-2"]["command"] == ["ingest"]


def test_each_service_connects_as_its_own_database_role() -> None:
    services = _compose()["services"]
    roles = {
        "migrate": "hemkoll_owner",
        "broker-auth": "hemkoll_broker_auth",
        "ingest-1": "hemkoll_ingest",
        "ingest-2": "hemkoll_ingest",
        "rules": "hemkoll_rules",
        "dispatch": "hemkoll_dispatch",
        "api": "hemkoll_api",
    }
    for name, role in roles.items():
        url = services[name]["environment"]["HEMKOLL_DATABASE_URL"]
        assert url.startswith(f"postgresql://{role}:${{"), (name, url)


def test_timescaledb_is_an_official_2x_image_on_postgresql_16_or_17_with_the_extension() -> None:
    db = _compose()["services"]["timescaledb"]
    version = re.fullmatch(r"timescale/timescaledb:(2\.\d+\.\d+)-pg1[67]", db["image"])
    assert version, db["image"]
    # timescale/timescaledb#7672: before 2.18.1 ON CONFLICT DO NOTHING into a compressed chunk
    # dropped the rest of the statement's rows after the first conflict.
    assert tuple(int(part) for part in version[1].split(".")) >= (2, 18, 1), db["image"]
    assert "shared_preload_libraries=timescaledb" in db["command"]


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = COMPOSE.read_text()
    # Every password comes from a ${VARIABLE}; none is spelled out.
    keys = re.finditer(r"^\s*([A-Z_]*(?:PASSWORD|SECRET)[A-Z_]*):\s*(\S+)", text, re.MULTILINE)
    found = 0
    for match in keys:
        found += 1
        assert match[2].startswith("${"), match[0]
    assert found >= 6
    for match in re.finditer(r"://[^:@/\s]+:([^@\s]+)@", text):
        assert match[1].startswith("${"), match[0]


def test_env_example_lists_every_setting_with_placeholders_only() -> None:
    example = _env_example()
    settings = {f"HEMKOLL_{name.upper()}" for name in Settings.model_fields}
    missing = settings - {name.lstrip("# ") for name in _all_names_in_env_example()}
    assert not missing, f".env.example does not mention {sorted(missing)}"
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert used <= set(example), f".env.example lacks {sorted(used - set(example))}"
    for name, value in example.items():
        if re.search(r"PASSWORD|SECRET", name):
            assert value.startswith("change-me"), f"{name} must be a placeholder"


def _all_names_in_env_example() -> set[str]:
    """Names set in .env.example, and those documented there commented out."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="no docker-compose binary on the PATH"
)
def test_docker_compose_resolves_the_file_with_the_example_environment(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    tls.mkdir()
    env = ENV_EXAMPLE.read_text().replace("HEMKOLL_TLS_DIR=./tls", f"HEMKOLL_TLS_DIR={tls}")
    (tmp_path / ".env").write_text(env)
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "--env-file", str(tmp_path / ".env"), "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == HEMKOLL_SERVICES | {"timescaledb", "db-roles", "mosquitto"}
