"""The fault scenarios of bench/faults.py, short (``--quick``), in CI.

Each scenario runs in a bench process of its own, all at once (they spend most of their time
waiting: a restart, an outage, a lease): its own PostgreSQL cluster, the deployed Mosquitto
configuration, ``hemkoll ingest``, ``rules`` and ``dispatch`` as processes, resending devices and
the simulated health centre. The full-length run (ten ingest kills, a ten-minute outage, the
real retry schedule) is documented in docs/reliability.md; this proves the same guarantees
with fewer and shorter faults: 2 ingest SIGKILLs; a clean and a kill -9 broker restart; a fast
and an immediate PostgreSQL restart with ingest's transaction open; the endpoint down 10 s, then
slow, 500 and 429 with Retry-After; the dispatcher SIGKILLed once between send and record and
once with the send in flight.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "faults.py"
SCENARIOS = ("ingest-kill", "broker-restart", "postgres-restart", "endpoint", "dispatcher-kill")


@pytest.mark.long
@pytest.mark.broker
@pytest.mark.timeout(420)
def test_every_fault_scenario_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    runs = {}
    for scenario in SCENARIOS:
        out = tmp_path / f"{scenario}.json"
        log = (tmp_path / f"{scenario}.log").open("wb")
        runs[scenario] = (
            subprocess.Popen(
                [
                    sys.executable,
                    str(BENCH),
                    "--quick",
                    "--scenarios",
                    scenario,
                    "--json",
                    str(out),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            out,
            log,
        )
    failures = []
    for scenario, (process, out, log) in runs.items():
        try:
            code = process.wait(timeout=400)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        log.close()
        text = (tmp_path / f"{scenario}.log").read_text(errors="replace")
        print(text)
        if code != 0 or not out.exists():
            failures.append(f"{scenario}: exit {code}\n{text[-3000:]}")
            continue
        [result] = orjson.loads(out.read_bytes())["results"]
        if result["failed"]:
            failures.append(f"{scenario}: {result['failed']}")
    assert not failures, "\n".join(failures)
