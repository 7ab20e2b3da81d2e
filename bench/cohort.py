"""The load benchmarks' patients (alert_latency, soak), enrolled with a history of in-range
days, and their health centre (the simulator's WebhookReceiver, in the bench's process).

The rules worker reads up to 92 days per evaluation (the preset's required history): a patient
with no history would make every evaluation artificially cheap. Nothing here fires a rule:
weight within a few tenths of a kilogram of the patient's usual, every day, so neither the
weight trend nor a missing-measurement rule has anything to say; the vital signs are clamped
well inside the heart-failure preset's limits; symptom answers are 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from hemkoll.simulator.receiver import WebhookReceiver
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.health_centres import new_signing_secret

# Vital signs well inside the preset's limits (BP 80-170, HR 40-110, SpO2 >= 90).
CLAMP = {
    "systolic_bp": (105.0, 150.0),
    "diastolic_bp": (62.0, 92.0),
    "heart_rate": (55.0, 95.0),
    "spo2": (93.0, 99.0),
}
# A patient's usual weight, uniform in this range (kg).
WEIGHT_KG = (60.0, 100.0)
# Measurement sessions, one message each: (metric, unit, mean, sd) per reading; the mean of
# body_weight is 0 (the patient's own weight is added).
Sessions = tuple[tuple[tuple[str, str, float, float], ...], ...]


@dataclass(frozen=True)
class Enrolled:
    patient_id: str
    device_id: str
    weight: float  # the patient's usual weight (kg)


def enrol(
    url: str,
    references: Sequence[str],
    *,
    centre: str,
    seed: int,
    enrolled_days_ago: int,
    kind: str = "gateway",
) -> list[Enrolled]:
    """A device of ``kind`` for each patient reference (a second device of the same patient if
    the reference exists); every device backdated to before the history starts."""
    rng = np.random.default_rng(seed)
    out = []
    with connect(url) as conn:
        for reference in references:
            e = enrol_device(
                conn, health_centre_name=centre, patient_reference=reference, device_kind=kind
            )
            weight = float(rng.uniform(*WEIGHT_KG))
            out.append(Enrolled(str(e.patient.id), str(e.device.id), weight))
        conn.execute(
            "UPDATE devices SET enrolled_at = now() - make_interval(days => %s)",
            (enrolled_days_ago,),
        )
        conn.commit()
    return out


def in_range_value(
    rng: np.random.Generator, weight: float, metric: str, mean: float, sd: float
) -> float:
    """Weight about the patient's own, symptom answers 0, the vital signs clamped in range."""
    if metric == "body_weight":
        return round(weight + float(rng.normal(0, sd)), 1)
    if metric.startswith("symptom_"):
        return 0.0
    low, high = CLAMP[metric]
    return float(round(min(max(mean + float(rng.normal(0, sd)), low), high)))


def seed_history(
    url: str,
    patients: Sequence[Enrolled],
    sessions: Sessions,
    *,
    days: int,
    seed: int,
    spread_min: float,
    session_gap_min: float,
    vacuum: bool,
) -> int:
    """A morning of ``sessions`` a day for ``days`` days up to yesterday, written straight to the
    store; each morning within +-``spread_min`` minutes of the time of day the run started, its
    sessions ``session_gap_min`` apart. Then ANALYZE (``vacuum``: VACUUM ANALYZE); the rows."""
    if days <= 0:
        return 0
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY readings (patient_id, device_id, metric, value, measured_at) FROM STDIN"
        ) as copy:
            for p in patients:
                for day in range(days, 0, -1):
                    at = now - timedelta(
                        days=day, minutes=float(rng.uniform(-spread_min, spread_min))
                    )
                    for s, session in enumerate(sessions):
                        t = at + timedelta(minutes=session_gap_min * s)
                        for metric, _unit, mean, sd in session:
                            value = in_range_value(rng, p.weight, metric, mean, sd)
                            copy.write_row((p.patient_id, p.device_id, metric, value, t))
                            rows += 1
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
    return rows


def start_centre(url: str) -> WebhookReceiver:
    """The simulated health centre, started: every centre's notifications go to it, signed with
    a new secret it verifies."""
    secret = new_signing_secret()
    receiver = WebhookReceiver(secret)
    receiver.start()
    with connect(url) as conn:
        conn.execute(
            "UPDATE health_centres SET notification_url = %s, signing_secret = %s",
            (receiver.url, secret),
        )
        conn.commit()
    return receiver
