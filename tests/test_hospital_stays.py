"""Hospital stays end to end on the real PostgreSQL: a stay recorded through the API silences
the missing-measurement rules in the live worker for the stay and its grace (and a reminder
opens after the grace if she still does not measure), the backtest (what_if) over the same
period agrees, an open reminder is not auto-resolved by a stay recorded after it, and a
baseline leaves the stay's readings out in the worker too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from hemkoll.alerts.evaluation import evaluate_patient
from hemkoll.alerts.what_if import what_if
from hemkoll.api.app import ApiConfig, create_app
from hemkoll.rules.config import BaselineRule, MissingRule, RuleSet
from hemkoll.rules.stays import DISCHARGE_GRACE
from hemkoll.store import staff
from hemkoll.store.connect import connect
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import Reading
from tests.helpers import enrol

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
SILENCE_RULE = "weight_missing_48h"
SILENCE = RuleSet(
    name="stays silence v1",
    rules=(MissingRule(id=SILENCE_RULE, metric="body_weight", after_hours=48),),
)
BASELINE = RuleSet(
    name="stays baseline v1",
    rules=(
        BaselineRule(
            id="weight_above_baseline",
            metric="body_weight",
            baseline_days=14,
            min_days=5,
            min_deviation=1.0,
            yellow_sd=2.0,
            sd_floor=0.3,
        ),
    ),
)


@dataclass(frozen=True)
class Ward:
    """A patient and the API, with a nurse of her centre."""

    client: TestClient
    patient_id: UUID
    device_id: UUID
    nurse: dict[str, str]

    def admit(self, admitted_at: datetime) -> str:
        made = self.client.post(
            f"/api/v1/patients/{self.patient_id}/hospital-stays",
            json={"admitted_at": admitted_at.isoformat()},
            headers=self.nurse,
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def discharge(self, stay_id: str, discharged_at: datetime) -> None:
        done = self.client.patch(
            f"/api/v1/patients/{self.patient_id}/hospital-stays/{stay_id}",
            json={"discharged_at": discharged_at.isoformat()},
            headers=self.nurse,
        )
        assert done.status_code == 200, done.text


@pytest.fixture
def ward(db_url: str) -> Iterator[Ward]:
    e = enrol(db_url, kind="scale", enrolled_days_ago=40)
    with connect(db_url) as conn, conn.transaction():
        nurse = staff.create_staff(
            conn, name="nurse", role="nurse", health_centre_id=e.patient.health_centre_id
        )
        token = staff.issue_token(conn, nurse.id, now=datetime.now(UTC)).token
    app = create_app(ApiConfig(database_url=db_url, programme=SILENCE))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Ward(client, e.patient.id, e.device.id, {"Authorization": f"Bearer {token}"})


def _weigh(db_url: str, ward: Ward, at: list[datetime], values: list[float]) -> None:
    with connect(db_url) as conn:
        ReadingWriter(conn).write(
            [
                [
                    Reading(ward.patient_id, ward.device_id, "body_weight", v, t)
                    for t, v in zip(at, values, strict=True)
                ]
            ],
            [],
        )


def _evaluate(db_url: str, rules: RuleSet, patient_id: UUID, at: datetime) -> None:
    with connect(db_url) as conn, conn.transaction():
        evaluate_patient(conn, rules, patient_id, now=at)


def _alerts(db_url: str, rule_id: str) -> list[tuple[str, datetime, str | None]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT state, first_fired_at, outcome FROM alerts WHERE rule_id = %s"
            " ORDER BY first_fired_at",
            (rule_id,),
        ).fetchall()
    return [(str(s), f, o) for s, f, o in rows]


def _backtest_openings(db_url: str, patient_id: UUID) -> list[datetime]:
    with connect(db_url) as conn:
        result = what_if(conn, SILENCE, patient_id, proposed=None, now=NOW, days=30)
    return [a.opened_at for a in result.current_alerts if a.rule_id == SILENCE_RULE]


def test_a_stay_silences_the_missing_rule_live_and_in_the_backtest(db_url: str, ward: Ward) -> None:
    last = NOW - timedelta(days=10)
    _weigh(db_url, ward, [last - timedelta(days=d) for d in range(10, -1, -1)], [80.0] * 11)
    # Without a stay, two days without a weight open a reminder (the backtest says when).
    assert _backtest_openings(db_url, ward.patient_id) == [last + timedelta(hours=48)]

    admitted, discharged = NOW - timedelta(days=9), NOW - timedelta(days=5)
    ward.discharge(ward.admit(admitted), discharged)
    grace_ends = discharged + DISCHARGE_GRACE
    # The live worker, every six hours from her last weight until yesterday.
    at = last
    while at <= NOW - timedelta(days=1):
        _evaluate(db_url, SILENCE, ward.patient_id, at)
        opened = _alerts(db_url, SILENCE_RULE)
        if at <= grace_ends:
            assert opened == [], f"a reminder at {at} (stay and grace until {grace_ends})"
        else:  # she is home, the grace is over, and still no weight: one reminder
            assert opened == [("open", grace_ends, None)], at
        at += timedelta(hours=6)
    assert _backtest_openings(db_url, ward.patient_id) == [grace_ends]


def test_an_open_reminder_is_left_open_by_a_stay_recorded_after_it(db_url: str, ward: Ward) -> None:
    last = NOW - timedelta(days=5)
    _weigh(db_url, ward, [last - timedelta(days=d) for d in range(5, -1, -1)], [80.0] * 6)
    _evaluate(db_url, SILENCE, ward.patient_id, NOW - timedelta(days=2, hours=12))
    assert _alerts(db_url, SILENCE_RULE) == [("open", last + timedelta(hours=48), None)]
    # She had been admitted before the deadline; the nurse records it now. The missing rule
    # no longer fires, but no reading ended the silence: the reminder is not "reading arrived".
    ward.admit(last + timedelta(hours=30))
    _evaluate(db_url, SILENCE, ward.patient_id, NOW - timedelta(days=2))
    _evaluate(db_url, SILENCE, ward.patient_id, NOW)
    assert _alerts(db_url, SILENCE_RULE) == [("open", last + timedelta(hours=48), None)]


def test_the_worker_leaves_the_stays_readings_out_of_the_baseline(db_url: str, ward: Ward) -> None:
    # Ten days at home at 80 kg, six days in hospital at 77 kg (diuresed), home again at 80 kg,
    # then 81.5 kg: 1.5 kg above her home baseline, the regain to catch after a discharge; with
    # the ward days in the window the baseline is lower but far wider, and it does not fire.
    start = NOW - timedelta(days=19)
    days = [start + timedelta(days=d) for d in range(18)]
    _weigh(db_url, ward, days, [80.0] * 10 + [77.0] * 6 + [80.0, 81.5])
    _evaluate(db_url, BASELINE, ward.patient_id, NOW)
    assert _alerts(db_url, "weight_above_baseline") == []  # no stay recorded yet

    ward.discharge(
        ward.admit(start + timedelta(days=9, hours=12)), start + timedelta(days=15, hours=12)
    )
    _evaluate(db_url, BASELINE, ward.patient_id, NOW)
    assert _alerts(db_url, "weight_above_baseline") == [("open", days[17], None)]
