"""A simulated cohort's readings as a history import file (NDJSON, docs/import.md).

One line per reading the devices measured (no resends, no faulty messages: a previous system
exports what it stored), in measurement order, each naming the patient by reference and the
device by the id the registry gave it (``device_ids``: ``SIM-0001/scale`` -> id).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import orjson

from hemkoll.simulator.devices import DEVICE_KINDS, KIND_METRICS, METRICS, UNITS
from hemkoll.simulator.encoding import rfc3339
from hemkoll.simulator.plan import device_key
from hemkoll.simulator.simulation import Simulation

# Each metric's device kind (index into DEVICE_KINDS).
_KIND_OF_METRIC = {m: k for k, metrics in enumerate(KIND_METRICS) for m in metrics}
# Metrics whose values are whole numbers (all but the weight), written as JSON integers.
_WHOLE = frozenset(range(1, len(METRICS)))


def history_lines(simulation: Simulation, device_ids: Mapping[str, str]) -> Iterator[bytes]:
    """The simulation's readings, one NDJSON line each (newline included)."""
    r = simulation.plan.readings
    references = simulation.cohort.references
    order = np.argsort(r.measured_at, kind="stable")
    times = rfc3339(r.measured_at[order], r.tz_offset[order])
    rows = zip(
        r.patient[order].tolist(),
        r.metric[order].tolist(),
        r.unit[order].tolist(),
        r.value[order].tolist(),
        times,
        strict=True,
    )
    for patient, metric, unit, value, measured_at in rows:
        reference = references[patient]
        kind = DEVICE_KINDS[_KIND_OF_METRIC[metric]]
        line = {
            "patient": reference,
            "device": device_ids[device_key(reference, kind)],
            "metric": METRICS[metric],
            "value": round(value) if metric in _WHOLE else value,
            "unit": UNITS[unit],
            "measured_at": measured_at,
        }
        yield orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


def write_history(path: Path, simulation: Simulation, device_ids: Mapping[str, str]) -> int:
    """Write the file; how many readings (lines) it holds."""
    count = 0
    with path.open("wb") as out:
        for line in history_lines(simulation, device_ids):
            out.write(line)
            count += 1
    return count
