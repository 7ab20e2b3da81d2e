"""Operators' endpoints: each worker serves /metrics and /healthz on HEMKOLL_METRICS_PORT; the
API serves /metrics; the figures move with the work, and no label carries a patient id."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx

from hemkoll.observability.health import Heartbeat
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


def test_the_rules_worker_serves_health_and_metrics_that_follow_its_work(db_url: str) -> None:
    e = enrol(db_url, kind="pulse_oximeter")
    port = _free_port()
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": db_url,
        "HEMKOLL_METRICS_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hemkoll", "rules"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 20, "the rules worker's /healthz")
        with connect(db_url) as conn:
            at = datetime.now(UTC) - timedelta(minutes=10)
            # Two readings in a row below the programme's urgent SpO2 limit: a red alert.
            ReadingWriter(conn).write(
                [
                    [
                        Reading(e.patient.id, e.device.id, "spo2", 84.0, at),
                        Reading(e.patient.id, e.device.id, "spo2", 85.0, at + timedelta(minutes=2)),
                    ]
                ],
                [],
            )

        def evaluated() -> bool:
            text = httpx.get(f"{base}/metrics", timeout=2).text
            return _value(text, "hemkoll_evaluations_total") >= 1

        wait_until(evaluated, 20, "the evaluation to be counted")
        text = httpx.get(f"{base}/metrics", timeout=2).text
        assert _value(text, 'hemkoll_alerts_opened_total{severity="red"}') == 1
        assert "hemkoll_evaluation_queue_depth" in text
        assert "hemkoll_notifications_pending" in text
        assert str(e.patient.id) not in text
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0


def test_a_heartbeat_goes_stale() -> None:
    beat = Heartbeat(stale_after_s=0.05)
    assert not beat.healthy()  # never beaten: not yet alive
    beat.beat()
    assert beat.healthy()
    wait_until(lambda: not beat.healthy(), 2, "the heartbeat to go stale")
