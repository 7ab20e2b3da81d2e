"""The care-team API against hostile input, beyond tests/api (which has schemathesis, the
authorization matrix, SQL injection in every string parameter, the body size limit and the rate
limit).

* Bodies no client should send (nesting thousands deep, NaN and Infinity, numbers beyond a
  double, integers of thousands of digits, UTF-16 and Latin-1, NUL and lone surrogates, the
  wrong JSON type) and time stamps at the ends of the calendar in every date parameter: each
  gets a 4xx problem that says what is wrong, never a 500.
* Another centre's ids in every query parameter and body field that takes one: nothing of the
  other centre comes back, and nothing is done to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import World, bearer
from tests.console.conftest import sign_in

HOSTILE_BODIES: dict[str, bytes] = {
    "nested 50,000 deep": b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "objects 5,000 deep": b'{"text": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}",
    "NaN": b'{"text": NaN, "note": NaN, "days": NaN}',
    "Infinity": b'{"text": Infinity, "days": -Infinity}',
    "1e400": b'{"text": 1e400, "days": 1e400}',
    "5,000-digit integer": b'{"days": 1' + b"0" * 5_000 + b"}",
    "utf-16": '{"text": "x", "note": "x"}'.encode("utf-16"),
    "latin-1": '{"text": "å", "note": "å"}'.encode("latin-1"),
    "NUL": b'{"text": "a\\u0000b", "note": "a\\u0000b", "name": "a\\u0000b"}',
    "lone surrogate": b'{"text": "a\\ud800b", "note": "a\\ud800b"}',
    "array": b"[1, 2, 3]",
    "null": b"null",
    "empty": b"",
    "truncated": b'{"text": "abc',
}
CALENDAR_ENDS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999+00:00",
]


def _explained(answer: Any, what: str) -> None:
    assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("application/problem+json"), what
    problem = answer.json()
    assert problem["status"] == answer.status_code, what
    assert problem.get("detail"), (what, problem)


def _body_routes(world: World) -> Iterator[tuple[str, str, str]]:
    a = world.a
    yield "nurse", "POST", f"/api/v1/alerts/{a.alert_id}/comments"
    yield "nurse", "POST", f"/api/v1/alerts/{a.alert_id}/acknowledge"
    yield "nurse", "POST", f"/api/v1/alerts/{a.alert_id}/resolve"
    yield "nurse", "POST", f"/api/v1/alerts/{a.alert_id}/assign"
    yield "clinician", "PUT", f"/api/v1/patients/{a.patient_id}/thresholds"
    yield "clinician", "POST", f"/api/v1/patients/{a.patient_id}/thresholds/backtest"
    yield "admin", "POST", "/api/v1/staff"
    yield "admin", "POST", "/api/v1/patients"
    yield "admin", "PATCH", f"/api/v1/health-centres/{a.id}"
    yield "admin", "POST", f"/api/v1/patients/{a.patient_id}/devices"


def test_hostile_bodies_get_an_explained_4xx(client: TestClient, world: World) -> None:
    for role, method, path in _body_routes(world):
        token = bearer(world.a.tokens[role])
        for name, body in HOSTILE_BODIES.items():
            answer = client.request(
                method, path, content=body, headers={**token, "content-type": "application/json"}
            )
            _explained(answer, f"{method} {path} with {name}")


def test_dates_at_the_ends_of_the_calendar_get_an_answer_never_a_500(
    client: TestClient, world: World
) -> None:
    nurse = bearer(world.a.tokens["nurse"])
    admin = bearer(world.region_admin)
    path = f"/api/v1/patients/{world.a.patient_id}/readings"
    for start in CALENDAR_ENDS:
        for end in CALENDAR_ENDS:
            for resolution in ("raw", "day"):
                params = {"from": start, "until": end, "resolution": resolution}
                answer = client.get(path, params=params, headers=nurse)
                if answer.status_code != 200:
                    _explained(answer, f"readings {params}")
            answer = client.get(
                "/api/v1/audit", params={"since": start, "until": end}, headers=admin
            )
            if answer.status_code != 200:
                _explained(answer, f"audit {start} {end}")
    sign_in(client, world.a.tokens["nurse"])
    for query in ("until=0001-01-01", "from=0001-01-01", "from=9999-12-30&until=9999-12-31"):
        answer = client.get(f"/console/follow-up?{query}")
        assert answer.status_code in (200, 422), (query, answer.status_code)


def _b_secrets(world: World, db_url: str) -> list[str]:
    """What of centre B must never reach A's staff: ids and the patient's reference."""
    b = world.b
    with psycopg.connect(db_url) as conn:
        reference = conn.execute(
            "SELECT reference FROM patients WHERE id = %s", (b.patient_id,)
        ).fetchone()
    assert reference is not None
    return [reference[0], str(b.patient_id), str(b.alert_id), str(b.device_id)] + [
        str(i) for i in b.staff_ids.values()
    ]


def test_another_centres_ids_in_any_parameter_reveal_and_change_nothing(
    client: TestClient, world: World, db_url: str
) -> None:
    a, b = world.a, world.b
    secrets = _b_secrets(world, db_url)
    b_ids = [b.patient_id, b.alert_id, b.device_id, b.id, *b.staff_ids.values()]
    answers: list[tuple[str, Any]] = []
    for role in ("nurse", "clinician", "admin"):
        token = bearer(a.tokens[role])
        for other in b_ids:
            for path, params in [
                ("/api/v1/alerts", {"patient_id": other}),
                ("/api/v1/alerts", {"assigned_to": other}),
                ("/api/v1/alerts", {"state": ["open", "acknowledged", "resolved"]}),
                ("/api/v1/audit", {"patient_id": other}),
                ("/api/v1/audit", {"staff_id": other}),
                ("/api/v1/patients", {"reference": secrets[0]}),
                ("/api/v1/patients", {"include_discharged": "true"}),
                ("/api/v1/staff", {}),
                ("/api/v1/health-centres", {}),
                (f"/api/v1/patients/{other}", {}),
                (f"/api/v1/patients/{other}/readings", {}),
                (f"/api/v1/alerts/{other}", {}),
                (f"/api/v1/alerts/{other}/notifications", {}),
                (f"/api/v1/health-centres/{other}", {}),
            ]:
                answers.append(
                    (f"{role} GET {path} {params}", client.get(path, params=params, headers=token))
                )
            for path, body in [
                (f"/api/v1/alerts/{a.alert_id}/assign", {"staff_id": str(other)}),
                ("/api/v1/staff", {"name": "x", "role": "nurse", "health_centre_id": str(other)}),
                ("/api/v1/patients", {"reference": "X-1", "health_centre_id": str(other)}),
                (f"/api/v1/staff/{other}/tokens", {"valid_days": 1}),
                (f"/api/v1/alerts/{other}/comments", {"text": "x"}),
                (f"/api/v1/notifications/{other}/redeliver", None),
            ]:
                answers.append(
                    (f"{role} POST {path} {body}", client.post(path, json=body, headers=token))
                )
    for what, answer in answers:
        assert answer.status_code < 500, what
        for secret in secrets:
            # An id the request itself carried may be echoed in a refusal; nothing else.
            if answer.status_code >= 400 and secret in what:
                continue
            assert secret not in answer.text, (what, secret)
    with psycopg.connect(db_url) as conn:
        b_staff = conn.execute(
            "SELECT count(*) FROM staff WHERE health_centre_id = %s", (b.id,)
        ).fetchone()
        b_patients = conn.execute(
            "SELECT count(*) FROM patients WHERE health_centre_id = %s", (b.id,)
        ).fetchone()
        assigned = conn.execute(
            "SELECT assigned_to FROM alerts WHERE id = %s", (a.alert_id,)
        ).fetchone()
        comments = conn.execute(
            "SELECT count(*) FROM alert_events WHERE alert_id = %s AND kind = 'commented'",
            (b.alert_id,),
        ).fetchone()
    assert b_staff == (len(b.staff_ids),)
    assert b_patients == (1,)
    assert assigned is not None
    assert assigned[0] not in set(b.staff_ids.values())
    assert comments == (0,)


@pytest.fixture
def centre_ids(world: World) -> tuple[UUID, UUID]:
    return world.a.id, world.b.id


def test_the_console_follow_up_of_another_centre_is_not_found(
    client: TestClient, world: World, centre_ids: tuple[UUID, UUID]
) -> None:
    sign_in(client, world.a.tokens["nurse"])
    answer = client.get(f"/console/follow-up?centre={centre_ids[1]}")
    assert answer.status_code == 404
