"""Protocol v1 payloads from the columnar tables, and the faults a broken device sends.

A well-formed payload is ``{"msg_id", "sent_at"?, "readings": [{"metric", "value", "unit",
"measured_at"}]}``, compact JSON as orjson writes it, built as text a chunk of messages at a
time (several times faster than building dicts; none of the strings needs escaping: they are
metric names, units, ids and times). Ordinal and integer-valued metrics are written as JSON
integers, weights with the scale's resolution. The faults, each with the rejection the ingest
service must answer with:

* ``truncated``: the payload cut in half (a broken upload), not JSON -> ``not_json``;
* ``wrong_unit``: one reading with a unit spelling the protocol does not accept (``"kgs"``,
  ``"mmHg"``, ``"bpm"``) -> ``unit_not_allowed`` at that reading;
* ``impossible_value``: one reading with a value outside the plausible range (a 0 kg weight,
  SpO2 127 %) -> ``value_implausible`` at that reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from hemkoll.protocol.payload import MAX_PAYLOAD_BYTES
from hemkoll.simulator.devices import METRICS, UNITS

FAULT_NONE: Final = 0
FAULT_TRUNCATED: Final = 1
FAULT_WRONG_UNIT: Final = 2
FAULT_IMPOSSIBLE_VALUE: Final = 3
FAULT_NAMES = (None, "truncated", "wrong_unit", "impossible_value")
# The rejection code hemkoll.ingest answers each fault with (whole message or one reading).
FAULT_REJECTION = (None, "not_json", "unit_not_allowed", "value_implausible")

# Unit spellings that are common on devices but are not UCUM, per metric (METRICS order).
_WRONG_UNIT = ("kgs", "mmHg", "mmHg", "bpm", "percent", "points", "points", "points", "points")
# Values no patient can have, per metric: scale faults read 0, oximeters glitch high, the
# questionnaire's yes/no follow-up sends a score.
_IMPOSSIBLE_VALUE = ("0.0", "0", "0", "0", "127", "9", "9", "9", "2")
# Metrics whose values are whole numbers from the devices, written as JSON integers; the weight
# is written as the shortest decimal that reads back as the same double (as orjson would).
_INTEGER_METRIC = np.asarray([False] + [True] * (len(METRICS) - 1))
_METRIC_OPEN = tuple(f'{{"metric":"{name}","value":' for name in METRICS)
# The units of protocol v1 (indices of UNITS), then each metric's wrong spelling.
_UNIT_TEXT = tuple(f',"unit":"{unit}","measured_at":"' for unit in (*UNITS, *_WRONG_UNIT))


def _suffix(offset_seconds: int) -> str:
    if offset_seconds == 0:
        return "Z"
    sign = "+" if offset_seconds > 0 else "-"
    minutes = abs(offset_seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def rfc3339(epoch: npt.NDArray[np.int64], offset: npt.NDArray[np.int32]) -> list[str]:
    """RFC 3339 strings with the given UTC offsets (0 written as ``Z``), vectorised."""
    local = (epoch + offset).astype("datetime64[s]")
    text = np.datetime_as_string(local, unit="s")
    distinct, which = np.unique(offset, return_inverse=True)
    suffixes = np.asarray([_suffix(int(o)) for o in distinct], dtype=np.str_)
    strings: list[str] = np.strings.add(text, suffixes[which]).tolist()
    return strings


@dataclass(frozen=True)
class ChunkReadings:
    """The readings of consecutive messages, message after message; ``bounds[j]`` to
    ``bounds[j + 1]`` are message j's."""

    bounds: npt.NDArray[np.int64]
    metric: npt.NDArray[np.int8]
    unit: npt.NDArray[np.int8]
    value: npt.NDArray[np.float64]
    measured_at: list[str]


def _reading_texts(
    readings: ChunkReadings, fault: npt.NDArray[np.int8], fault_index: npt.NDArray[np.int32]
) -> list[str]:
    """Each reading's JSON object, the faults' bad unit or value in place."""
    metric = readings.metric.astype(np.intp)
    values: list[str] = np.where(
        _INTEGER_METRIC[metric],
        np.rint(readings.value).astype(np.int64).astype(np.str_),
        readings.value.astype(np.str_),
    ).tolist()
    units: list[int] = readings.unit.tolist()
    metrics: list[int] = metric.tolist()
    bad = readings.bounds[:-1] + fault_index
    for i in bad[fault == FAULT_WRONG_UNIT].tolist():
        units[i] = len(UNITS) + metrics[i]
    for i in bad[fault == FAULT_IMPOSSIBLE_VALUE].tolist():
        values[i] = _IMPOSSIBLE_VALUE[metrics[i]]
    opening, unit_text = _METRIC_OPEN, _UNIT_TEXT
    return [
        f'{opening[m]}{v}{unit_text[u]}{at}"}}'
        for m, v, u, at in zip(metrics, values, units, readings.measured_at, strict=True)
    ]


def encode_chunk(
    msg_ids: list[str],
    sent_at: list[str | None],
    readings: ChunkReadings,
    fault: npt.NDArray[np.int8],
    fault_index: npt.NDArray[np.int32],
) -> list[bytes]:
    """The payloads of consecutive messages (``sent_at`` None leaves the field out)."""
    texts = _reading_texts(readings, fault, fault_index)
    bounds: list[int] = readings.bounds.tolist()
    truncated = set(np.flatnonzero(fault == FAULT_TRUNCATED).tolist())
    payloads: list[bytes] = []
    for j, (msg_id, sent) in enumerate(zip(msg_ids, sent_at, strict=True)):
        body = ",".join(texts[bounds[j] : bounds[j + 1]])
        if sent is None:
            text = f'{{"msg_id":"{msg_id}","readings":[{body}]}}'
        else:
            text = f'{{"msg_id":"{msg_id}","sent_at":"{sent}","readings":[{body}]}}'
        payload = text.encode("ascii")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"message {msg_id} is {len(payload)} bytes, over the protocol limit")
        if j in truncated:
            # A broken upload: the first half of the payload.
            payload = payload[: len(payload) // 2]
        payloads.append(payload)
    return payloads
