"""hemkoll.fhir's pure parts: an Observation id names its reading exactly (to the microsecond)
and anything else is refused; the outbox's evidence snapshot reads back as the reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from hemkoll.fhir.mapping import observation_id, parse_observation_id, reading_from_snapshot
from hemkoll.store.readings_query import RawReading


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 11, 9, 8, 0, 0, 999999, tzinfo=UTC),
        datetime(2026, 11, 9, 8, 0, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    ],
)
def test_an_observation_id_names_its_reading_to_the_microsecond(at: datetime) -> None:
    device = uuid4()
    reading = RawReading("symptom_fatigue", 2.0, at, device, at)
    assert parse_observation_id(observation_id(reading)) == (device, at, "symptom_fatigue")


# A fixed device id: parametrised ids must be the same in every pytest-xdist worker.
DEVICE_HEX = "63618d499a1c45d7bf0fc83726ae0baa"


@pytest.mark.parametrize(
    "value",
    ["", "abc", "a.b.c", f"{DEVICE_HEX}.12.no-such-metric", f"{DEVICE_HEX}.x1.spo2", "1.2.spo2"],
)
def test_anything_else_is_not_an_observation_id(value: str) -> None:
    assert parse_observation_id(value) is None


def test_a_snapshot_reads_back_as_the_reading() -> None:
    at = datetime(2026, 11, 9, 8, tzinfo=UTC)
    device = uuid4()
    reading = reading_from_snapshot(
        {
            "metric": "spo2",
            "value": 88,
            "measured_at": "2026-11-09T09:00:00+01:00",
            "device_id": str(device),
            "received_at": (at + timedelta(seconds=2)).isoformat(),
        }
    )
    assert reading == RawReading("spo2", 88.0, at, device, at + timedelta(seconds=2))
    with pytest.raises(ValueError, match="no UTC offset"):
        reading_from_snapshot({**reading.__dict__, "measured_at": "2026-11-09T08:00:00"})
