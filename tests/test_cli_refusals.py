"""The command line's refusals (hemkoll/cli/entry.py's EXIT_STATUS), against the real PostgreSQL.

Each kind of error a command meets ends the same way: its message on stderr after the command's
words (``hemkoll thresholds set: ...``), nothing on stdout, nothing written, exit status 2. Any
other exception is a fault: a traceback and status 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hemkoll.rules.overrides import OverrideLayer, RuleOverride
from tests.helpers import enrol, scalar

NOBODY = "00000000-0000-0000-0000-000000000000"


def _hemkoll(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``python -m hemkoll ARGS`` with only the given HEMKOLL_* settings (``database_url=...``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEMKOLL_")}
    env.update({f"HEMKOLL_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "hemkoll", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _refused(out: subprocess.CompletedProcess[str], *lines: str) -> None:
    assert (out.returncode, out.stdout, out.stderr.splitlines()) == (2, "", list(lines))


def test_thresholds_set_with_an_invalid_override_file(db_url: str, tmp_path: Path) -> None:
    e = enrol(db_url)
    options = ["--patient", str(e.patient.id), "--reason", "COPD", "--by", "dr. Lind"]

    not_a_layer = tmp_path / "layer.json"
    not_a_layer.write_text('{"overrides": []}')
    out = _hemkoll(
        "thresholds", "set", *options, "--overrides", str(not_a_layer), database_url=db_url
    )
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith(
        f"hemkoll thresholds set: {not_a_layer}: 1 validation error for OverrideLayer\nsource\n"
        "  Field required"
    )

    not_json = tmp_path / "notes.txt"
    not_json.write_text("spo2 below 92, please")
    out = _hemkoll("thresholds", "set", *options, "--overrides", str(not_json), database_url=db_url)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith(f"hemkoll thresholds set: {not_json}: 1 validation error")
    assert "Invalid JSON" in out.stderr

    missing = tmp_path / "missing.json"
    out = _hemkoll("thresholds", "set", *options, "--overrides", str(missing), database_url=db_url)
    _refused(
        out,
        f"hemkoll thresholds set: {missing}: [Errno 2] No such file or directory: '{missing}'",
    )
    assert scalar(db_url, "SELECT count(*) FROM rule_overrides") == 0


def test_thresholds_set_refused_by_the_programme(db_url: str, tmp_path: Path) -> None:
    e = enrol(db_url)
    layer = tmp_path / "layer.json"
    layer.write_text(
        OverrideLayer(
            source="patient", overrides=(RuleOverride(id="spo2", patch={"kind": "trend"}),)
        ).model_dump_json()
    )
    out = _hemkoll(
        "thresholds",
        "set",
        "--patient",
        str(e.patient.id),
        "--overrides",
        str(layer),
        "--reason",
        "COPD",
        "--by",
        "dr. Lind",
        database_url=db_url,
    )
    _refused(out, "hemkoll thresholds set: override of spo2: cannot change kind")
    assert scalar(db_url, "SELECT count(*) FROM rule_overrides") == 0


def test_thresholds_set_needs_its_three_options(db_url: str) -> None:
    e = enrol(db_url)
    out = _hemkoll("thresholds", "set", "--patient", str(e.patient.id), database_url=db_url)
    _refused(out, "hemkoll thresholds set: --overrides, --reason and --by are required")


@pytest.mark.parametrize(
    "command",
    [
        ("thresholds", "show"),
        ("thresholds", "history"),
        ("monitoring", "pause"),
        ("monitoring", "resume"),
        ("backtest",),
    ],
)
def test_an_unknown_patient(db_url: str, command: tuple[str, ...]) -> None:
    out = _hemkoll(*command, "--patient", NOBODY, database_url=db_url)
    _refused(out, f"hemkoll {' '.join(command)}: no patient {NOBODY}")


def test_enrol_refusals(db_url: str) -> None:
    enrol_ = ("enrol", "--health-centre", "VC Tuna", "--patient-ref")
    out = _hemkoll(*enrol_, "TUNA-1", "--device-kind", "toaster", database_url=db_url)
    _refused(
        out,
        "hemkoll enrol: unknown device kind 'toaster'; expected one of scale, "
        "blood_pressure_monitor, pulse_oximeter, thermometer, symptom_questionnaire, gateway",
    )
    out = _hemkoll(*enrol_, "19121212-1212", "--device-kind", "scale", database_url=db_url)
    _refused(
        out,
        "hemkoll enrol: patient reference looks like a personal identity number; hemkoll "
        "stores only the health centre's own pseudonymous reference",
    )
    assert scalar(db_url, "SELECT count(*) FROM devices") == 0


def test_token_create_refusals(db_url: str) -> None:
    out = _hemkoll("token", "create", "--role", "nurse", database_url=db_url)
    _refused(out, "hemkoll token create: a nurse belongs to a health centre; give its id")
    out = _hemkoll(
        "token", "create", "--role", "nurse", "--health-centre", NOBODY, database_url=db_url
    )
    _refused(out, f"hemkoll token create: no health centre {NOBODY}")
    out = _hemkoll("token", "create", "--role", "admin", "--days", "0", database_url=db_url)
    _refused(
        out,
        "hemkoll token create: a token must be valid for some time: give a positive number of days",
    )
    assert scalar(db_url, "SELECT count(*) FROM staff") == 0  # nothing half-made


def test_backtest_with_an_unreadable_rule_set(db_url: str, tmp_path: Path) -> None:
    e = enrol(db_url)
    missing = tmp_path / "proposed.json"
    out = _hemkoll(
        "backtest", "--patient", str(e.patient.id), "--rules", str(missing), database_url=db_url
    )
    _refused(out, f"hemkoll backtest: {missing}: [Errno 2] No such file or directory: '{missing}'")


def test_broker_auth_without_the_service_credentials(db_url: str, tmp_path: Path) -> None:
    passwords, acl = tmp_path / "passwords", tmp_path / "acl"
    out = _hemkoll(
        "broker-auth",
        "--password-file",
        str(passwords),
        "--acl-file",
        str(acl),
        database_url=db_url,
        mqtt_url="mqtt://127.0.0.1:1883",
    )
    _refused(
        out,
        "hemkoll broker-auth: HEMKOLL_MQTT_URL must carry the ingest service's user and "
        "password (mqtt://user:password@host:port)",
    )
    assert not passwords.exists()
    assert not acl.exists()


def test_malformed_settings_one_line_each(db_url: str) -> None:
    out = _hemkoll("migrate", database_url=db_url, mqtt_url="ftp://x", metrics_port="0")
    _refused(
        out,
        "hemkoll: setting HEMKOLL_MQTT_URL: Value error, MQTT URL scheme must be mqtt or mqtts, "
        "not 'ftp'",
        "hemkoll: setting HEMKOLL_METRICS_PORT: Input should be greater than or equal to 1",
    )


def test_demo_refuses_to_reset_a_folder_not_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.md").write_text("precious")
    out = _hemkoll("demo", "--reset", "--data-dir", str(folder))
    _refused(
        out, f"hemkoll demo: {folder} is not a demo data directory (no state.json); not deleting it"
    )
    assert [p.name for p in folder.iterdir()] == ["chapter1.md"]


def test_a_fault_is_no_refusal() -> None:
    """The database gone is not something the person got wrong: a traceback and status 1."""
    out = _hemkoll(
        "monitoring",
        "pause",
        "--patient",
        NOBODY,
        database_url="postgresql://postgres@127.0.0.1:1/hemkoll?connect_timeout=2",
    )
    assert out.returncode == 1
    assert "Traceback" in out.stderr
    assert "psycopg.OperationalError" in out.stderr
    assert "hemkoll monitoring pause:" not in out.stderr
