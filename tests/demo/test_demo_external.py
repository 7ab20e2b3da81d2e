"""``hemkoll demo`` with HEMKOLL_DATABASE_URL and HEMKOLL_MQTT_URL set: it uses them (the
machine's PostgreSQL and broker), starts no PostgreSQL or Mosquitto of its own, and counts only
its own health centre."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import orjson
import psycopg
import pytest

from hemkoll.demo.summary import read_counts
from tests.demo.support import READY_TIMEOUT_S, SETTLE_TIMEOUT_S, Demo, descendants
from tests.helpers import enrol

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def test_demo_uses_the_configured_database_and_broker(
    db_url: str, machine_broker_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    enrol(db_url, kind="scale", patient="OTHER-1", centre="Someone else's centre")
    env = {
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_MQTT_URL": machine_broker_url,
        "HEMKOLL_MQTT_TOPIC_PREFIX": topic_prefix,
        "HEMKOLL_MQTT_CLIENT_ID": f"{topic_prefix}-ingest",
        "HEMKOLL_DISPATCH_CLIENT_ID": f"{topic_prefix}-dispatch",
    }
    demo = Demo(tmp_path / "demo", "--patients", "2", "--days", "3", env=env)
    try:
        demo.read_until(r"^ready:", READY_TIMEOUT_S)
        assert demo.read_until(r"database\s+yours \(HEMKOLL_DATABASE_URL\)", 1)
        assert demo.read_until(r"broker\s+yours \(HEMKOLL_MQTT_URL", 1)
        demo.read_until(r"^replay done", SETTLE_TIMEOUT_S)
        children = descendants(demo.process.pid)
    finally:
        code, err = demo.interrupt()
    assert code == 0, err
    password = psycopg.conninfo.conninfo_to_dict(db_url).get("password")
    assert not any(db_url in line for line in demo.lines), "printed the user's database URL"
    assert not password or not any(str(password) in line for line in demo.lines)
    assert not children, f"started processes of its own: {children}"
    assert not (tmp_path / "demo" / "postgres").exists()

    summary = orjson.loads((tmp_path / "demo" / "summary.json").read_bytes())
    state = orjson.loads((tmp_path / "demo" / "state.json").read_bytes())
    with psycopg.connect(db_url) as conn:
        (centre,) = conn.execute(
            "SELECT id FROM health_centres WHERE name = %s", (state["centre"],)
        ).fetchone()  # type: ignore[misc]
        counts = read_counts(conn, centre)
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()
    assert summary["database"] == asdict(counts)
    assert counts.readings > 0
    assert devices == (1 + 2 * 4,)  # the other centre's device and the demo's
