"""deploy/systemd: units that systemd accepts, hardened, each running a real hemkoll command.

``systemd-analyze verify`` loads the units as systemd would (unknown keys, bad values, a
missing executable are reported); the units are copied with ExecStart pointing at this
checkout's ``hemkoll`` (installed, it is /opt/hemkoll/venv/bin/hemkoll). ``systemd-analyze
security --offline`` scores their sandboxing. Starting them needs systemd as PID 1, which this
machine does not run: tests/deploy/test_services.py runs the same commands as plain processes.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hemkoll.cli.parser import build_parser
from hemkoll.settings import Settings
from tests.deploy.conftest import DEPLOY

SYSTEMD = DEPLOY / "systemd"
INSTALLED_HEMKOLL = "/opt/hemkoll/venv/bin/hemkoll"
INSTALLED_ROLES = "/opt/hemkoll/deploy/postgres/apply-roles.sh"
LONG_RUNNING = {
    "hemkoll-ingest@.service": "ingest",
    "hemkoll-rules.service": "rules",
    "hemkoll-dispatch.service": "dispatch",
    "hemkoll-api.service": "serve",
}
HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter=@system-service",
    "MemoryDenyWriteExecute=yes",
    "UMask=0077",
)
systemd_analyze = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    systemd_analyze is None, reason="systemd-analyze is not installed"
)


def _units() -> list[Path]:
    return sorted(p for p in SYSTEMD.iterdir() if p.suffix in {".service", ".timer", ".target"})


def _lines(unit: Path) -> list[str]:
    return [line.strip() for line in unit.read_text().splitlines()]


def _here(folder: Path) -> Path:
    """The units with their executables at this checkout's paths."""
    hemkoll = Path(sys.executable).with_name("hemkoll")
    assert hemkoll.exists(), hemkoll
    for unit in _units():
        text = unit.read_text().replace(INSTALLED_HEMKOLL, str(hemkoll))
        text = text.replace(INSTALLED_ROLES, str(DEPLOY / "postgres" / "apply-roles.sh"))
        (folder / unit.name).write_text(text)
    return folder


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_every_unit_without_a_warning(tmp_path: Path) -> None:
    folder = _here(tmp_path)
    names = [p.name for p in _units() if not p.name.endswith("@.service")]
    names.append("hemkoll-ingest@1.service")
    assert systemd_analyze is not None
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", *names],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # verify reports unknown keys and bad values on stderr but still exits 0: both must be clean.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_systemd_analyze
def test_the_verify_check_would_catch_a_mistake(tmp_path: Path) -> None:
    folder = _here(tmp_path)
    unit = folder / "hemkoll-rules.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    assert systemd_analyze is not None
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", unit.name],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "Unknown key" in result.stderr


@needs_systemd_analyze
@pytest.mark.parametrize("name", [*LONG_RUNNING, "hemkoll-migrate.service"])
def test_each_service_is_sandboxed(tmp_path: Path, name: str) -> None:
    folder = _here(tmp_path)
    assert systemd_analyze is not None
    result = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--no-pager", name],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    assert float(match[1]) <= 2.0, result.stdout  # systemd's scale: 0 (safe) to 10 (exposed)


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_each_long_running_unit_runs_its_hemkoll_command_hardened(name: str) -> None:
    lines = _lines(SYSTEMD / name)
    for option in HARDENING:
        assert option in lines, f"{name}: {option}"
    assert "Restart=on-failure" in lines
    assert "User=hemkoll" in lines
    assert "EnvironmentFile=/etc/hemkoll/hemkoll.env" in lines
    assert any(line.startswith("MemoryMax=") for line in lines)
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[0] == INSTALLED_HEMKOLL
    if "$HEMKOLL_API_ARGS" in argv:
        default = next(line for line in lines if line.startswith('Environment="HEMKOLL_API_ARGS='))
        argv.remove("$HEMKOLL_API_ARGS")
        argv += shlex.split(default.split("=", 2)[2].rstrip('"'))
    args = build_parser().parse_args(argv[1:])
    assert args.command == LONG_RUNNING[name]


def test_ingest_instances_get_their_own_client_id_and_share_the_readings() -> None:
    lines = _lines(SYSTEMD / "hemkoll-ingest@.service")
    assert "Environment=HEMKOLL_MQTT_CLIENT_ID=hemkoll-ingest-%i" in lines
    assert any(line.startswith("Environment=HEMKOLL_INGEST_SHARE_GROUP=") for line in lines)
    assert "EnvironmentFile=-/etc/hemkoll/ingest@%i.env" in lines
    target = (SYSTEMD / "hemkoll.target").read_text()
    assert "hemkoll-ingest@1.service hemkoll-ingest@2.service" in target


def test_the_env_examples_cover_every_setting_with_placeholder_secrets() -> None:
    text = "\n".join(p.read_text() for p in sorted((SYSTEMD / "env").glob("*.env.example")))
    named = set(re.findall(r"^#?\s*(HEMKOLL_[A-Z0-9_]+)=", text, re.MULTILINE))
    units = "\n".join(p.read_text() for p in _units())
    named |= set(re.findall(r"(HEMKOLL_[A-Z0-9_]+)=", units))
    settings = {f"HEMKOLL_{field.upper()}" for field in Settings.model_fields}
    assert settings <= named, f"not in deploy/systemd: {sorted(settings - named)}"
    for match in re.finditer(r"^([A-Z_]*PASSWORD[A-Z_]*)=(.*)$", text, re.MULTILINE):
        assert match[2].startswith("change-me"), match[0]
    for match in re.finditer(r"://[^:@/\s]+:([^@\s]+)@", text):
        assert match[1].startswith(("change-me", "<")), match[0]
