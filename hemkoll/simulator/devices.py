"""The devices in each home: which days they measure, when, with what clock, and what they send.

Per patient four devices: a scale, a blood-pressure monitor (systolic, diastolic, heart rate), a
pulse oximeter (SpO2) and a symptom questionnaire (three answers, and the follow-up "worse than
usual?" when one of them is high). On a day with a morning routine
each device is used with a fixed probability; nothing is measured on hospital days. Each device's
clock is off by a constant few seconds to a couple of minutes, which shows in ``measured_at`` and
``sent_at``. While the home is online a device sends each measurement within seconds; during an
outage it keeps them and sends the backlog on reconnection, in batches of at most
MAX_READINGS_PER_MESSAGE readings. The result is columnar: one table of readings, one of messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hemkoll.protocol.measurements import FOLLOW_UP, KG_PER_POUND
from hemkoll.protocol.payload import MAX_READINGS_PER_MESSAGE
from hemkoll.simulator.cohort import Cohort
from hemkoll.simulator.parameters import SimulationParameters
from hemkoll.simulator.physiology import Signals
from hemkoll.simulator.timeline import SECONDS_PER_HOUR, Timeline

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEVICE_KINDS = ("scale", "blood_pressure_monitor", "pulse_oximeter", "symptom_questionnaire")
SCALE, BP_MONITOR, OXIMETER, QUESTIONNAIRE = range(4)
# Metric names of protocol v1 (hemkoll.protocol.measurements), in the order the devices send them.
METRICS = (
    "body_weight",
    "systolic_bp",
    "diastolic_bp",
    "heart_rate",
    "spo2",
    "symptom_breathlessness",
    "symptom_ankle_swelling",
    "symptom_fatigue",
    FOLLOW_UP,
)
# The questionnaire's follow-up is sent only on the days it is asked (its value is NaN on the
# others).
KIND_METRICS: tuple[tuple[int, ...], ...] = ((0,), (1, 2, 3), (4,), (5, 6, 7, 8))
UNITS = ("kg", "[lb_av]", "mm[Hg]", "/min", "%", "{score}")
KG, LB, MMHG, PER_MIN, PERCENT, SCORE = range(6)
METRIC_UNIT = (KG, MMHG, MMHG, PER_MIN, PERCENT, SCORE, SCORE, SCORE, SCORE)
# The questionnaire (a tablet app) writes local times with their offset; the other devices UTC.
LOCAL_TIME_KINDS = frozenset({QUESTIONNAIRE})
# The oximeter leaves out the optional sent_at; the others include it.
SENT_AT_KINDS = frozenset({SCALE, BP_MONITOR, QUESTIONNAIRE})
# Reconnection after an outage: from 20:00 on the last offline day, within eight hours, i.e.
# after that day's measurements and before the next morning's [assumption].
RECONNECT_FROM_HOUR = 20.0
RECONNECT_WITHIN_HOURS = 8.0
_MINUTE = 1.0 / 60.0


@dataclass(frozen=True)
class Readings:
    """One entry per reading, grouped by message (a message's readings are contiguous)."""

    patient: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    metric: npt.NDArray[np.int8]
    unit: npt.NDArray[np.int8]
    value: FloatArray
    measured_at: IntArray  # device clock, UTC epoch seconds
    tz_offset: npt.NDArray[np.int32]  # seconds; 0 means written in UTC ("Z")


@dataclass(frozen=True)
class Messages:
    """One entry per message as first sent (duplicates and faults are added by the plan)."""

    kind: npt.NDArray[np.int8]
    patient: npt.NDArray[np.int32]
    publish_at: IntArray  # true UTC epoch seconds
    sent_at: IntArray  # device clock; meaningless for kinds outside SENT_AT_KINDS
    reading_start: IntArray
    reading_count: npt.NDArray[np.int32]
    backlog: BoolArray


def _outages(
    rng: np.random.Generator, patients: int, timeline: Timeline, params: SimulationParameters
) -> tuple[IntArray, FloatArray]:
    """Per patient and day the outage it belongs to (-1: online), and each outage's
    reconnection time (UTC epoch seconds)."""
    days = timeline.days
    low, high = params.offline_days
    counts = rng.poisson(params.offline_rate_per_day * (days + high), patients)
    who = np.repeat(np.arange(patients), counts)
    first = rng.integers(-high + 1, days, who.size)
    length = rng.integers(low, high + 1, who.size)
    offline = np.zeros((patients, days + high), dtype=np.bool_)
    span = np.arange(high)
    cells_day = first[:, np.newaxis] + span[np.newaxis, :]
    inside = (span[np.newaxis, :] < length[:, np.newaxis]) & (cells_day >= 0)
    rows = np.broadcast_to(who[:, np.newaxis], cells_day.shape)
    offline[rows[inside], cells_day[inside]] = True
    # Consecutive offline days form one outage; it ends on its last offline day.
    starts = offline & ~np.pad(offline, ((0, 0), (1, 0)))[:, :-1]
    run = np.cumsum(starts.ravel()).reshape(offline.shape) - 1
    outage = np.where(offline, run, -1)
    ends = offline & ~np.pad(offline, ((0, 0), (0, 1)))[:, 1:]
    end_patient, end_day = np.nonzero(ends)
    order = np.argsort(run[end_patient, end_day], kind="stable")
    end_day = end_day[order]
    hours = RECONNECT_FROM_HOUR + rng.uniform(0.0, RECONNECT_WITHIN_HOURS, end_day.size)
    # Outages past the last simulated day reconnect after it: extrapolate its noon by days.
    last = timeline.days - 1
    noon = timeline.noon_utc[np.minimum(end_day, last)] + 86400 * np.maximum(end_day - last, 0)
    reconnect = noon + np.rint((hours - 12.0) * SECONDS_PER_HOUR).astype(np.int64)
    return outage[:, :days], reconnect.astype(np.float64)


def _weights(values: FloatArray, pounds: BoolArray, params: SimulationParameters) -> FloatArray:
    """Scale display: 100 g steps, or 0.2 lb steps on a scale set to pounds."""
    per_kg = round(1.0 / params.weight_resolution_kg)
    per_lb = round(1.0 / params.weight_resolution_lb)
    kg = np.rint(values * per_kg) / per_kg
    lb = np.rint(values / KG_PER_POUND * per_lb) / per_lb
    return np.asarray(np.where(pounds, lb, kg), dtype=np.float64)


def simulate_devices(
    rng: np.random.Generator,
    *,
    cohort: Cohort,
    timeline: Timeline,
    measured: Signals,
    follow_up: FloatArray,
    in_hospital: BoolArray,
    params: SimulationParameters,
) -> tuple[Readings, Messages]:
    patients, days = cohort.size, timeline.days
    shape = (patients, days)
    weekend = (timeline.weekday >= 5)[np.newaxis, :]
    session = (rng.random(shape) < cohort.session_probability[:, np.newaxis]) & ~in_hospital
    session_hour = np.clip(
        cohort.habit_hour[:, np.newaxis]
        + weekend * params.weekend_delay_hours
        + rng.normal(0.0, params.session_jitter_hours, shape),
        *params.session_hour_range,
    )
    bp_hour = session_hour + rng.uniform(*params.bp_after_scale_minutes, shape) * _MINUTE
    kind_hour = (
        session_hour,
        bp_hour,
        bp_hour + rng.uniform(*params.oximeter_after_bp_minutes, shape) * _MINUTE,
        session_hour + rng.uniform(*params.questionnaire_after_scale_minutes, shape) * _MINUTE,
    )
    clock_error = np.clip(
        np.rint(rng.normal(0.0, params.clock_error_sd_seconds, (patients, len(DEVICE_KINDS)))),
        -params.clock_error_max_seconds,
        params.clock_error_max_seconds,
    ).astype(np.int64)
    outage, reconnect = _outages(rng, patients, timeline, params)
    signal = (
        _weights(measured.weight_kg, cohort.pound_scale[:, np.newaxis], params),
        measured.systolic,
        measured.diastolic,
        measured.heart_rate,
        measured.spo2,
        measured.breathlessness,
        measured.ankle_swelling,
        measured.fatigue,
        follow_up,
    )
    reading_parts: list[Readings] = []
    message_parts: list[Messages] = []
    reading_base = 0
    for kind, metrics in enumerate(KIND_METRICS):
        used = session & (rng.random(shape) < params.device_use_given_session)
        p, d = np.nonzero(used)
        n, m = p.size, len(metrics)
        true_time = timeline.to_utc(d, kind_hour[kind][p, d])
        device_time = true_time + clock_error[p, kind]
        run = outage[p, d]
        offline = run >= 0
        previous = np.concatenate(([-1], run[:-1]))
        new_group = offline & (run != previous)
        index = np.arange(n)
        group_first = np.maximum.accumulate(np.where(new_group, index, 0)) if n else index
        rank = index - group_first
        per_batch = MAX_READINGS_PER_MESSAGE // m
        starts = ~offline | new_group | (offline & (rank % per_batch == 0))
        first_session = np.flatnonzero(starts)
        delay = np.rint(rng.uniform(*params.publish_delay_seconds, first_session.size))
        batch = rank[first_session] // per_batch
        backlog = offline[first_session]
        publish = np.where(
            backlog,
            # Outage -1 (online) picks the padding at the end; np.where then ignores it.
            np.append(reconnect, 0.0)[run[first_session]]
            + batch * params.backlog_batch_spacing_seconds,
            true_time[first_session] + delay,
        ).astype(np.int64)
        sessions = np.diff(np.append(first_session, n))
        values = np.stack([signal[metric][p, d] for metric in metrics], axis=1).ravel()
        # Readings not sent (the follow-up where it is not asked), and each message's share of
        # those that are.
        sent = ~np.isnan(values)
        kept = np.concatenate(([0], np.cumsum(sent)))
        start_at = kept[first_session.astype(np.int64) * m]
        end_at = kept[(first_session + sessions).astype(np.int64) * m]
        message_parts.append(
            Messages(
                kind=np.full(first_session.size, kind, dtype=np.int8),
                patient=p[first_session].astype(np.int32),
                publish_at=publish,
                sent_at=publish + clock_error[p[first_session], kind],
                reading_start=reading_base + start_at,
                reading_count=(end_at - start_at).astype(np.int32),
                backlog=backlog,
            )
        )
        units = np.empty((n, m), dtype=np.int8)
        for j, metric in enumerate(metrics):
            units[:, j] = METRIC_UNIT[metric]
        if kind == SCALE:
            units[:, 0] = np.where(cohort.pound_scale[p], LB, KG)
        local = kind in LOCAL_TIME_KINDS
        offset = timeline.utc_offset[d].astype(np.int32) if local else np.zeros(n, np.int32)
        reading_parts.append(
            Readings(
                patient=np.repeat(p, m).astype(np.int32)[sent],
                day=np.repeat(d, m).astype(np.int32)[sent],
                metric=np.tile(np.asarray(metrics, dtype=np.int8), n)[sent],
                unit=units.ravel()[sent],
                value=values[sent],
                measured_at=np.repeat(device_time, m)[sent],
                tz_offset=np.repeat(offset, m)[sent],
            )
        )
        reading_base += int(kept[-1])
    return _concat_readings(reading_parts), _concat_messages(message_parts)


def _concat_readings(parts: list[Readings]) -> Readings:
    return Readings(
        patient=np.concatenate([r.patient for r in parts]),
        day=np.concatenate([r.day for r in parts]),
        metric=np.concatenate([r.metric for r in parts]),
        unit=np.concatenate([r.unit for r in parts]),
        value=np.concatenate([r.value for r in parts]),
        measured_at=np.concatenate([r.measured_at for r in parts]),
        tz_offset=np.concatenate([r.tz_offset for r in parts]),
    )


def _concat_messages(parts: list[Messages]) -> Messages:
    return Messages(
        kind=np.concatenate([m.kind for m in parts]),
        patient=np.concatenate([m.patient for m in parts]),
        publish_at=np.concatenate([m.publish_at for m in parts]),
        sent_at=np.concatenate([m.sent_at for m in parts]),
        reading_start=np.concatenate([m.reading_start for m in parts]),
        reading_count=np.concatenate([m.reading_count for m in parts]),
        backlog=np.concatenate([m.backlog for m in parts]),
    )
