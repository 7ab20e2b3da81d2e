"""The national-scale bench's registry, history and morning (bench/scale.py).

* Registry, COPY'd: ``patients`` patients in health centres of ``PER_CENTRE``, one gateway
  each, enrolled before their history; each patient's deadline as a running rules worker would
  have left it (the programme's fingerprint, due 48 h after her last weighing), so that no
  worker's start-up pass re-evaluates everyone.
* History: ``history_days`` days of ``rules_cohort`` readings up to yesterday, COPY'd into
  ``readings`` (the statement trigger keeps ``readings_hourly``).
* The morning: the cohort's next day, as each gateway sends it: a weighing, a blood-pressure
  measurement (systolic, diastolic, heart rate), a questionnaire (SpO2 and three symptom
  answers), each on the days the cohort says the device is used (about four days in five).
  ``probe_share`` of the patients answer severe breathlessness (3, "at rest") in their
  questionnaire: the programme's breathlessness_at_rest rule opens a red alert on that answer
  alone, whose webhook gives the alert latency (publish -> signed webhook received).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from rules_cohort import CohortSpec, cohort

from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.series import Series
from hemkoll.store import enrolment
from hemkoll.store.connect import connect

SEED = 20261204
# The morning's local time when the bench starts: the patients live in a time zone where it is
# about this hour now (a whole-hour Etc/GMT zone, no daylight saving), so that the day's rules
# ("weighed by noon") and the history's mornings (05-09 local, rules_cohort) see a morning
# whatever the time of day the bench runs at.
MORNING_HOUR = 7
# A deadline a running worker had already passed would have been judged then (its alert open,
# or none due); one the history puts in the past is moved past the run.
DEADLINE_AFTER_RUN = timedelta(hours=6)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A Swedish health centre (vårdcentral) lists about 10,000 people, of whom a few hundred have
# heart failure: 500 patients a centre, 500 centres for the nation.
PER_CENTRE = 500
# The cohort is drawn over this many days and only its last days loaded: rules_cohort puts
# about one gain episode in a patient's span, which over a few days would put nearly every
# patient in one (a weight-trend alert each); over four months, a few in a hundred this week.
COHORT_SPAN_DAYS = 120
# Patients generated (and COPY'd) at a time: bounds the cohort's arrays in memory.
CHUNK = 5_000
# The missing-weight rule's silence (heart-failure preset, weight_missing_48h): the deadline a
# worker stores after an evaluation is at most this long after the last weighing.
WEIGHT_DEADLINE = timedelta(hours=48)
# Which device sends which of the morning's readings, one message each.
SESSIONS = (
    ("body_weight",),
    ("systolic_bp", "diastolic_bp", "heart_rate"),
    ("spo2", "symptom_breathlessness", "symptom_ankle_swelling", "symptom_fatigue"),
)
PROBE_METRIC = "symptom_breathlessness"
SYMPTOMS = ("symptom_breathlessness", "symptom_ankle_swelling", "symptom_fatigue")
# The cohort's symptom answers reach 3 on some days of a gain episode; a severe answer opens a
# red alert by itself, so that only the probes do, the others' answers are at most 2
# (moderate: no alert of its own), in the history and this morning.
SYMPTOM_MAX_OTHERS = 2.0
PROBE_SCORE = 3.0


@dataclass(frozen=True)
class Message:
    """One device message of the morning: its gateway, its readings, whether it is a probe."""

    device: int  # index into Morning.devices
    readings: tuple[tuple[str, str, float], ...]  # (metric, unit, value)
    probe: bool


@dataclass
class Morning:
    timezone: str
    patients: list[str]  # patient ids, by index
    devices: list[str]  # each patient's gateway id, by index
    messages: list[Message]
    history_readings: int


_STAGING = """
CREATE TEMPORARY TABLE bench_readings (
    patient_id uuid NOT NULL, metric text NOT NULL, at_us bigint NOT NULL,
    value double precision NOT NULL
)
"""
_MOVE = """
INSERT INTO readings (patient_id, device_id, metric, value, measured_at, received_at)
SELECT s.patient_id, d.id, s.metric, s.value,
       timestamptz 'epoch' + s.at_us * interval '1 microsecond',
       timestamptz 'epoch' + s.at_us * interval '1 microsecond' + interval '2 minutes'
FROM bench_readings AS s
JOIN devices AS d ON d.patient_id = s.patient_id
ORDER BY s.patient_id, s.metric, s.at_us
"""


def morning_zone(now: datetime) -> tuple[str, timedelta]:
    """A whole-hour zone where it is about MORNING_HOUR now: its name and UTC offset."""
    hours = (MORNING_HOUR - now.hour + 12) % 24 - 12  # -12 .. +11
    # POSIX sign: Etc/GMT+5 is five hours behind UTC.
    return ("Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"), timedelta(hours=hours)


def load(
    url: str, *, patients: int, history_days: int, probe_share: float, now: datetime
) -> Morning:
    rng = np.random.default_rng(SEED)
    tz, offset = morning_zone(now)
    # Local midnight today, as a UTC instant: rules_cohort's days start there.
    today = (now + offset).replace(hour=0, minute=0, second=0, microsecond=0) - offset
    start = today - timedelta(days=history_days)
    enrolled = start - timedelta(days=1)
    ids = sorted(uuid.uuid4() for _ in range(patients))
    devices = [uuid.uuid4() for _ in range(patients)]
    centres = [uuid.uuid4() for _ in range(-(-patients // PER_CENTRE))]
    morning = Morning(tz, [str(p) for p in ids], [str(d) for d in devices], [], 0)
    units = {m: METRICS[m].canonical_unit for s in SESSIONS for m in s}
    with connect(url) as conn:
        conn.execute(_STAGING)
        with conn.cursor() as cur:
            # The care provider migration 0020 creates: every centre is the region's.
            provider = cur.execute("SELECT min(id::text)::uuid FROM care_providers").fetchone()
            with cur.copy(
                "COPY health_centres (id, name, timezone, care_provider_id) FROM STDIN"
            ) as copy:
                for i, c in enumerate(centres):
                    copy.write_row((c, f"VC Riket {i + 1:04d}", tz, provider and provider[0]))
            with cur.copy(
                "COPY patients (id, health_centre_id, reference, language, timezone, enrolled_at)"
                " FROM STDIN"
            ) as copy:
                for i, p in enumerate(ids):
                    centre = centres[i // PER_CENTRE]
                    copy.write_row((p, centre, f"R-{i:06d}", "sv", tz, enrolled))
            with cur.copy(
                "COPY devices (id, patient_id, kind, enrolled_at, credential_hash) FROM STDIN"
            ) as copy:
                for p, d in zip(ids, devices, strict=True):
                    copy.write_row((d, p, "gateway", enrolled, "bench"))
            enrolment.start_care_relationships(cur, ids)
        conn.commit()
        for first in range(0, patients, CHUNK):
            chunk = ids[first : first + CHUNK]
            span = max(COHORT_SPAN_DAYS, history_days + 1)
            first_day = today - timedelta(days=span - 1)
            series = cohort(CohortSpec(len(chunk), span, epoch_us(first_day), SEED + first))
            cut = epoch_us(today)
            since = epoch_us(start)
            lines: list[str] = []
            deadlines: list[tuple[object, ...]] = []
            for k, (pid, one) in enumerate(zip(chunk, series, strict=True)):
                probe = bool(rng.random() < probe_share)
                today_values = _history(
                    pid, one, since=since, cut=cut, lines=lines, deadlines=deadlines, now=now
                )
                morning.messages += _messages(first + k, today_values, probe, units)
            morning.history_readings += len(lines)
            with conn.cursor() as cur:
                with cur.copy("COPY bench_readings FROM STDIN") as copy:
                    copy.write("".join(lines))
                with cur.copy(
                    "COPY evaluation_deadlines (patient_id, due_at, programme) FROM STDIN"
                ) as copy:
                    for row in deadlines:
                        copy.write_row(row)
            conn.execute(_MOVE)
            conn.execute("TRUNCATE bench_readings")
            conn.commit()
    with connect(url) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    rng.shuffle(morning.messages)  # type: ignore[arg-type]
    return morning


def _history(
    pid: uuid.UUID,
    one: Series,
    *,
    since: int,
    cut: int,
    lines: list[str],
    deadlines: list[tuple[object, ...]],
    now: datetime,
) -> dict[str, float]:
    """A patient's history in [since, cut) as COPY lines (into ``lines``), her deadline (into
    ``deadlines``), and her first value of each metric from ``cut`` on (this morning's)."""
    today: dict[str, float] = {}
    for metric, (t, v) in one.items():
        t_us = np.asarray(t, dtype=np.int64)
        v_f = np.asarray(v, dtype=np.float64)
        if metric in SYMPTOMS:  # severe answers are the probes' alone
            v_f = np.minimum(v_f, SYMPTOM_MAX_OTHERS)
        past = t_us < cut
        kept = past & (t_us >= since)
        lines.extend(
            f"{pid}\t{metric}\t{a}\t{b!r}\n"
            for a, b in zip(t_us[kept].tolist(), v_f[kept].tolist(), strict=True)
        )
        if (~past).any():
            today[metric] = float(v_f[~past][0])
        if metric == "body_weight" and kept.any():
            last = EPOCH + timedelta(microseconds=int(t_us[kept][-1]))
            due = last + WEIGHT_DEADLINE
            due = due if due > now else now + DEADLINE_AFTER_RUN
            deadlines.append((pid, due, HEART_FAILURE.fingerprint))
    return today


def _messages(
    index: int, today: dict[str, float], probe: bool, units: dict[str, str]
) -> list[Message]:
    """The patient's morning, a message per device she uses today."""
    if probe:  # she answers the questionnaire this morning, breathless at rest
        today.setdefault("spo2", 95.0)
        for m in ("symptom_ankle_swelling", "symptom_fatigue"):
            today.setdefault(m, 1.0)
        today[PROBE_METRIC] = PROBE_SCORE
    out = []
    for session in SESSIONS:
        found = tuple((m, units[m], today[m]) for m in session if m in today)
        if len(found) == len(session):
            out.append(Message(index, found, probe and PROBE_METRIC in session))
    return out
