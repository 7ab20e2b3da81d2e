"""The simulator speaks device protocol v1, is reproducible, and writes its ground truth."""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pytest

from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.measurements import KG_PER_POUND
from hemkoll.protocol.payload import (
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    Envelope,
    check_reading,
    parse_envelope,
)
from hemkoll.simulator import (
    DEFAULT_PARAMETERS,
    PlannedMessage,
    Simulation,
    read_episodes,
    simulate,
)
from hemkoll.simulator.cohort import patient_references
from hemkoll.store.types import Device

START = date(2025, 3, 1)  # crosses the switch to summer time on 30 March


def _device(kind: str) -> Device:
    enrolled = datetime(2020, 1, 1, tzinfo=UTC)
    return Device(uuid.uuid4(), uuid.uuid4(), kind, True, enrolled)


def _digest(sim: Simulation) -> str:
    h = hashlib.sha256()
    for m in sim.plan:
        h.update(m.publish_at.isoformat().encode() + m.device_key.encode() + m.payload)
    for e in sim.episodes:
        h.update(e.to_json())
    return h.hexdigest()


@pytest.fixture(scope="module")
def faulty() -> Simulation:
    """Many faults and resends, to see every kind often."""
    params = replace(DEFAULT_PARAMETERS, malformed_rate=0.05, duplicate_rate=0.05)
    return simulate(60, 120, seed=99, start=START, parameters=params)


@pytest.fixture(scope="module")
def messages(faulty: Simulation) -> list[PlannedMessage]:
    return list(faulty.plan)


def test_same_seed_same_bytes_other_seed_differs() -> None:
    first = simulate(20, 60, seed=1)
    assert _digest(first) == _digest(simulate(20, 60, seed=1))
    assert _digest(first) != _digest(simulate(20, 60, seed=2))


def test_every_message_parses_or_is_rejected_as_expected(messages: list[PlannedMessage]) -> None:
    devices = {kind: _device(kind) for kind in {m.device_kind for m in messages}}
    faults: dict[str, int] = {}
    for m in messages:
        envelope = parse_envelope(m.payload)
        if m.fault == "truncated":
            assert isinstance(envelope, Rejection)
            assert envelope.code == m.expected_rejection == "not_json"
            faults["truncated"] = faults.get("truncated", 0) + 1
            continue
        assert isinstance(envelope, Envelope), (m.msg_id, envelope)
        assert envelope.msg_id == m.msg_id
        assert len(envelope.readings) == m.reading_count
        if envelope.sent_at is not None and not m.duplicate:
            # sent_at is the device clock at publication: off by at most 150 s.
            assert abs((envelope.sent_at - m.publish_at).total_seconds()) <= 150
        for index, raw in enumerate(envelope.readings):
            outcome = check_reading(index, raw, device=devices[m.device_kind], now=m.publish_at)
            if m.fault is not None and index == m.rejected_index:
                assert isinstance(outcome, Rejection)
                assert outcome.code == m.expected_rejection
                assert outcome.index == index
            else:
                assert not isinstance(outcome, Rejection), (m.msg_id, outcome)
        if m.fault is not None:
            faults[m.fault] = faults.get(m.fault, 0) + 1
    assert set(faults) == {"truncated", "wrong_unit", "impossible_value"}


def test_plan_is_time_ordered_and_duplicates_repeat_bytes(messages: list[PlannedMessage]) -> None:
    times = [m.publish_at for m in messages]
    assert times == sorted(times)
    first_send: dict[tuple[str, str], bytes] = {}
    for m in messages:
        key = (m.device_key, m.msg_id)
        if m.duplicate:
            assert first_send[key] == m.payload
        else:
            assert key not in first_send
            first_send[key] = m.payload
    assert any(m.duplicate for m in messages)


def test_publish_time_follows_measurement(messages: list[PlannedMessage]) -> None:
    backlog = 0
    for m in messages:
        if m.fault == "truncated":
            continue
        doc = orjson.loads(m.payload)
        measured = [datetime.fromisoformat(r["measured_at"]) for r in doc["readings"]]
        lag = (m.publish_at - max(measured)).total_seconds()
        # Device clocks are off by at most 150 s; online sends go out within 20 s.
        if m.backlog:
            backlog += 1
            assert lag > 3600
        elif not m.duplicate:
            assert -150 <= lag <= 20 + 150
    assert backlog > 0


def test_long_outage_uploads_in_batches_of_at_most_500() -> None:
    params = replace(DEFAULT_PARAMETERS, offline_rate_per_day=0.05, offline_days=(250, 250))
    sim = simulate(3, 300, seed=5, parameters=params)
    counts = sim.plan.reading_count[sim.plan.backlog]
    assert counts.max() <= MAX_READINGS_PER_MESSAGE
    # Three readings a session: a full batch holds 166 sessions.
    assert (counts == 498).any()
    biggest = max((m for m in sim.plan if m.backlog), key=lambda m: len(m.payload))
    assert len(biggest.payload) <= MAX_PAYLOAD_BYTES
    assert isinstance(parse_envelope(biggest.payload), Envelope)


def test_weights_in_payloads_match_the_true_weight_within_noise() -> None:
    sim = simulate(100, 90, seed=4, start=START)
    residuals = []
    for m in sim.plan:
        if m.device_kind != "scale" or m.fault or m.duplicate:
            continue
        patient = int(m.patient.removeprefix("SIM-")) - 1
        for reading in orjson.loads(m.payload)["readings"]:
            kg = reading["value"] * (KG_PER_POUND if reading["unit"] == "[lb_av]" else 1.0)
            measured = datetime.fromisoformat(reading["measured_at"])
            day = sim.timeline.day_of_epoch(int(measured.timestamp()))
            residuals.append(kg - sim.true.weight_kg[patient, day])
    expected = math.sqrt(float(np.mean(sim.cohort.weight_noise_sd_kg**2)))
    # About 6,500 weights: SE of the SD about 1 %, plus patients' unequal shares; allow 8 %.
    assert np.std(residuals) == pytest.approx(expected, rel=0.08)


def test_ground_truth_file_round_trip(faulty: Simulation, tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    assert faulty.write_ground_truth(path) == len(faulty.episodes) > 0
    back = read_episodes(path)
    assert [(e.patient, e.onset_at, e.kind, e.in_window) for e in back] == [
        (e.patient, e.onset_at.replace(microsecond=0), e.kind, e.in_window) for e in faulty.episodes
    ]
    for read, written in zip(back, faulty.episodes, strict=True):
        assert read.weight_gain_kg == pytest.approx(written.weight_gain_kg, abs=0.001)
        assert read.onset_at.tzinfo is not None
        assert read.prodrome_start == written.onset_date - timedelta(days=written.prodrome_days)
    assert {e.kind for e in back} <= {"weight", "silent"}


def test_references_are_pseudonymous_and_wide_enough() -> None:
    assert patient_references(3) == ("SIM-0001", "SIM-0002", "SIM-0003")
    assert patient_references(12000)[-1] == "SIM-12000"
