"""Each compose service's command, run as a plain process here, as compose would run it.

Docker cannot run on this machine. Each hemkoll service of deploy/compose.yaml is started with
its own ``command`` and ``environment`` from the file (values from .env.example), moved to
this machine: the local PostgreSQL, in a database set up as deployed and connected as the
service's own role; the machine's Mosquitto; free ports. The long-running ones must keep
running and answer the compose health check (the same ``hemkoll-healthcheck`` script the image
carries), and stop cleanly on SIGTERM within their stop_grace_period; the one-shot ones must
finish with 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict

from hemkoll.local_services.ports import free_port
from tests.conftest import MACHINE_BROKER
from tests.deploy.conftest import DEPLOY, DeployedDb
from tests.helpers import wait_until

COMPOSE = DEPLOY / "compose.yaml"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"
# Long enough to see a worker that cannot start (a bad setting, a refused connection, a missing
# privilege on its first query) exit: they do within a second or two.
STAYS_UP_S = 5.0


def _example_env() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}."""

    def one(match: re.Match[str]) -> str:
        name, default = match[1], match[3] or ""
        if match[2] == ":?":
            assert env.get(name), f"{name} must be set ({match[3]})"
        return env.get(name) or (default if match[2] == ":-" else "")

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"][name]
    return service


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match[1])


def _here(name: str, db: DeployedDb, prefix: str) -> tuple[list[str], dict[str, str], int | None]:
    """The service's argv and environment, moved to this machine; its health-check port."""
    example = _example_env()
    service = _service(name)
    env = {k: _interpolate(str(v), example) for k, v in service["environment"].items()}
    role = conninfo_to_dict(env["HEMKOLL_DATABASE_URL"])["user"]
    env["HEMKOLL_DATABASE_URL"] = db.url(str(role))  # trust authentication here
    if "HEMKOLL_MQTT_URL" in env:
        host, port = MACHINE_BROKER
        env["HEMKOLL_MQTT_URL"] = f"mqtt://{host}:{port}"
    env["HEMKOLL_MQTT_TOPIC_PREFIX"] = prefix
    for key in ("HEMKOLL_MQTT_CLIENT_ID", "HEMKOLL_DISPATCH_CLIENT_ID"):
        if key in env:
            env[key] = f"{prefix}-{env[key]}"
    argv = [_interpolate(part, example) for part in service["command"]]
    port: int | None = None
    if "HEMKOLL_METRICS_PORT" in env:
        port = free_port()
        env["HEMKOLL_METRICS_PORT"] = str(port)
        env["HEMKOLL_METRICS_HOST"] = "127.0.0.1"
    if argv[0] == "serve":
        port = free_port()
        argv[argv.index("--host") + 1] = "127.0.0.1"
        argv[argv.index("--port") + 1] = str(port)
    return argv, env, port


def _healthy(name: str, port: int) -> bool:
    """The service's compose health check, with this machine's port."""
    test = _service(name)["healthcheck"]["test"]
    assert test[:2] == ["CMD", "hemkoll-healthcheck"], test
    url = re.sub(r":\d+/", f":{port}/", test[2])
    return (
        subprocess.run(
            [sys.executable, str(HEALTHCHECK), url], capture_output=True, check=False, timeout=10
        ).returncode
        == 0
    )


class Running:
    def __init__(self, name: str, db: DeployedDb, prefix: str) -> None:
        argv, env, self.port = _here(name, db, prefix)
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hemkoll", *argv],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as compose stops it; the exit code and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        grace = _seconds(_service(self.name).get("stop_grace_period", "10s"))
        try:
            _, err = self.process.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            return -9, err.decode(errors="replace")
        return self.process.returncode, err.decode(errors="replace")


@pytest.fixture
def start(deployed_db: DeployedDb, topic_prefix: str) -> Iterator[Any]:
    started: list[Running] = []

    def starter(name: str) -> Running:
        running = Running(name, deployed_db, topic_prefix)
        started.append(running)
        return running

    yield starter
    for running in started:
        running.stop()


@pytest.mark.parametrize("name", ["ingest-1", "ingest-2", "rules", "dispatch"])
def test_a_worker_starts_keeps_running_and_stops_cleanly(start: Any, name: str) -> None:
    worker: Running = start(name)
    if worker.port is not None:
        # Started (its signal handlers are set before its metrics server), so the SIGTERM
        # below tests its stop, not Python's default for a process still importing: on a
        # loaded machine start-up alone has taken longer than STAYS_UP_S.
        wait_until(lambda: _healthy(name, worker.port), 30, f"{name} healthy")
    time.sleep(STAYS_UP_S)
    assert worker.process.poll() is None, worker.stop()[1][-3000:]
    code, err = worker.stop()
    assert code == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "InsufficientPrivilege" not in err, err[-3000:]


@pytest.mark.parametrize("name", ["ingest-1", "rules", "dispatch"])
def test_a_worker_answers_its_compose_health_check(start: Any, name: str) -> None:
    worker: Running = start(name)
    assert worker.port is not None
    try:
        wait_until(lambda: _healthy(name, worker.port), 20, f"{name} healthy")
    finally:
        assert worker.process.poll() is None, worker.stop()[1][-3000:]


def test_the_api_answers_its_compose_health_check_and_stops_cleanly(start: Any) -> None:
    api: Running = start("api")
    assert api.port is not None
    wait_until(lambda: _healthy("api", api.port), 30, "the API healthy")
    code, err = api.stop()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught: the process ends by
    # that signal, which compose and systemd count as a clean stop.
    assert code in (0, -signal.SIGTERM), err[-3000:]
    assert "Application shutdown complete" in err, err[-3000:]
    assert not _healthy("api", api.port)


@pytest.mark.parametrize("name", ["migrate", "broker-auth"])
def test_a_one_shot_step_finishes_with_success(
    deployed_db: DeployedDb, topic_prefix: str, tmp_path: Any, name: str
) -> None:
    argv, env, _ = _here(name, deployed_db, topic_prefix)
    if name == "broker-auth":
        # The compose step writes into its volume; here into the test's folder. It needs the
        # service user in the URL to write the password file.
        argv = [str(tmp_path / os.path.basename(a)) if a.startswith("/") else a for a in argv]
        env["HEMKOLL_MQTT_URL"] = "mqtt://hemkoll-service:change-me@127.0.0.1:1883"
    result = subprocess.run(
        [sys.executable, "-m", "hemkoll", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if name == "migrate":
        assert "schema is up to date" in result.stdout
    else:
        assert (tmp_path / "passwd").exists()
        assert (tmp_path / "acl").exists()


def test_the_healthcheck_script_fails_on_an_unhealthy_answer() -> None:
    port = free_port()
    assert not _healthy("api", port)  # nothing listening
    bad = subprocess.run(
        [sys.executable, str(HEALTHCHECK), "file:///etc/passwd"], capture_output=True, check=False
    )
    assert bad.returncode == 2
