"""``hemkoll demo`` end to end, as a person runs it: embedded PostgreSQL and Mosquitto (no
HEMKOLL_DATABASE_URL / HEMKOLL_MQTT_URL), a tiny cohort replayed, Ctrl-C (SIGINT). Checks the
exit code, that no child process (postgres and its backends, mosquitto) outlives it, that the
final summary says what the database holds, and that a second run reuses the data directory.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import orjson
import psycopg
import pytest

from hemkoll.demo.summary import read_counts
from hemkoll.local_services.postgres import EmbeddedPostgres
from tests.demo.support import READY_TIMEOUT_S, SETTLE_TIMEOUT_S, Demo, alive, descendants

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def test_demo_runs_embedded_stops_cleanly_and_reuses_its_data(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = Demo(data, "--patients", "3", "--days", "7", "--seed", "5")
    try:
        demo.read_until(r"^ready:", READY_TIMEOUT_S)
        docs = demo.read_until(r"API docs\s+http://127\.0\.0\.1:\d+/docs", 1)
        assert "/docs" in docs
        assert demo.read_until(r"nurse token\s+hk_", 1)
        assert demo.read_until(r"curl -s -H 'Authorization: Bearer hk_.*/api/v1/alerts", 1)
        demo.read_until(r"^replay done", SETTLE_TIMEOUT_S)
        children = descendants(demo.process.pid)
    finally:
        code, err = demo.interrupt()
    assert code == 0, err
    commands = " | ".join(children.values())
    assert f"{data}/postgres" in commands
    assert f"{data}/mosquitto/mosquitto.conf" in commands
    left = {pid: cmd for pid, cmd in children.items() if alive(pid)}
    assert not left, f"left behind: {left}"
    assert any(line.startswith("final: ") for line in demo.lines)
    assert "Traceback" not in err

    summary = orjson.loads((data / "summary.json").read_bytes())
    state = orjson.loads((data / "state.json").read_bytes())
    final = next(line for line in demo.lines if line.startswith("final: "))
    pg = EmbeddedPostgres(data)
    pg.start()
    try:
        with psycopg.connect(pg.url()) as conn:
            (centre,) = conn.execute(
                "SELECT id FROM health_centres WHERE name = %s", (state["centre"],)
            ).fetchone()  # type: ignore[misc]
            counts = read_counts(conn, centre)
            paused = conn.execute(
                "SELECT count(*) FROM patients WHERE monitoring_paused_since IS NOT NULL"
            ).fetchone()
            devices = conn.execute("SELECT count(*), min(enrolled_at) FROM devices").fetchone()
    finally:
        pg.stop()
    assert summary["database"] == asdict(counts)
    assert counts.readings > 0
    assert f"readings {counts.readings:,}," in final
    assert f"dead letters {counts.dead_letters:,}" in final
    assert f"{counts.alerts_open} open, {counts.alerts_acknowledged} acknowledged" in final
    # Every webhook the dispatcher recorded as delivered reached the health centre, once.
    assert summary["receiver"]["notifications"] == counts.webhooks_delivered
    assert summary["receiver"]["rejected"] == {}
    jsonl = data / "notifications.jsonl"
    received = jsonl.read_bytes().splitlines() if jsonl.exists() else []
    assert len(received) == summary["receiver"]["deliveries"]
    assert paused == (0,), "monitoring was left paused"
    assert devices is not None
    assert devices[0] == 12

    # A second run reuses the database and the cohort, and starts where the first stopped.
    again = Demo(data)
    try:
        again.read_until(r"^ready:", READY_TIMEOUT_S)
        assert again.read_until(r"3 simulated patients \(seed 5\).*resuming at", 1)
        again.read_until(r"^replay done", SETTLE_TIMEOUT_S)
    finally:
        code, err = again.interrupt()
    assert code == 0, err
    second = orjson.loads((data / "summary.json").read_bytes())
    # Nothing the first run had feedback for is published again.
    first = summary["replay"]
    assert second["replay"]["skipped_as_published_before"] >= (
        first["published"] - first["awaiting_feedback"]
    )
    assert second["database"]["readings"] >= counts.readings
