"""``hemkoll enrol-bulk FILE``: the bulk file from the shell, all or nothing, a rerun unchanged,
each new device's password once, audited per patient with the reason for her history."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tests.helpers import scalar


def _hemkoll(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEMKOLL_")}
    env["HEMKOLL_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "hemkoll", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_enrol_bulk_from_csv_then_rerun_then_a_bad_file(db_url: str, tmp_path: Path) -> None:
    start = (datetime.now(UTC) - timedelta(days=200)).replace(microsecond=0).isoformat()
    file = tmp_path / "programme.csv"
    file.write_text(
        "reference,device_kind,monitoring_started_at,reason\n"
        f"T-1,scale,{start},moved from the previous programme\n"
        f"T-1,thermometer,{start},moved from the previous programme\n"
        "T-2,scale,,\n"
    )
    centre = ["--health-centre", "Vårdcentralen Tuna"]
    first = _hemkoll(db_url, "enrol-bulk", str(file), *centre)
    assert first.returncode == 0, first.stderr
    lines = [orjson.loads(line) for line in first.stdout.splitlines()]
    assert [(p["reference"], p["outcome"], len(p["devices"])) for p in lines] == [
        ("T-1", "created", 2),
        ("T-2", "created", 1),
    ]
    assert datetime.fromisoformat(lines[0]["enrolled_at"]) == datetime.fromisoformat(start)
    assert all(d["mqtt_password"] for p in lines for d in p["devices"])
    assert "2 patients created" in first.stderr

    again = _hemkoll(db_url, "enrol-bulk", str(file), *centre)
    assert again.returncode == 0, again.stderr
    assert [orjson.loads(line)["outcome"] for line in again.stdout.splitlines()] == [
        "unchanged",
        "unchanged",
    ]
    assert "mqtt_password" not in again.stdout
    assert scalar(db_url, "SELECT count(*) FROM devices") == 3
    reasons = "SELECT count(*) FROM audit_log WHERE reason = 'moved from the previous programme'"
    # The backdated patient and her two devices, once: the rerun backdated nothing.
    assert scalar(db_url, reasons) == 3
    sql = "SELECT count(*) FROM audit_log WHERE action = 'hemkoll enrol-bulk' AND object_type = %s"
    assert scalar(db_url, sql, ("patient",)) == 4

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"reference": "T-3"}\n{"reference": "T-4", "devices": ["toaster"]}\n')
    refused = _hemkoll(db_url, "enrol-bulk", str(bad), *centre)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "row 2 devices: unknown kind 'toaster'" in refused.stderr
    assert scalar(db_url, "SELECT count(*) FROM patients WHERE reference = 'T-3'") == 0
