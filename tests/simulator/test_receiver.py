"""The simulated health centre over real HTTP on loopback: Standard Webhooks verification,
dedupe by webhook-id, the failure modes, stop/start on one port, and the nurse against a small
fake care-team API served the same way."""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hemkoll.simulator.receiver import (
    OUTCOME_WEIGHTS,
    Delivery,
    Mode,
    Nurse,
    NurseConfig,
    ThreadedServer,
    WebhookReceiver,
    outcome_for,
)

SECRET = "whsec_" + base64.b64encode(b"hemkoll receiver test secret, 32B").decode()
ROTATED_SECRET = "whsec_" + base64.b64encode(b"the next secret after a rotation!").decode()
WRONG_SECRET = "whsec_" + base64.b64encode(b"a secret the centre never agreed").decode()
PATIENT_REFERENCE = "HC-0001"
SUMMARY_EN = "Weight up 2.4 kg in 3 days"
SUMMARY_SV = "Vikten har ökat 2,4 kg på 3 dagar"
NURSE_TOKEN = "nurse-bearer-token"
WAIT_S = 10.0


def notification(event: str = "alert.opened", alert_id: str | None = None) -> bytes:
    alert_id = alert_id or str(uuid.uuid4())
    return orjson.dumps(
        {
            "type": event,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": {
                "alert_id": alert_id,
                "health_centre_id": str(uuid.uuid4()),
                "patient_id": str(uuid.uuid4()),
                "patient_reference": PATIENT_REFERENCE,
                "severity": "yellow",
                "rule_id": "weight_gain_3d",
                "rule_kind": "change",
                "opened_at": "2026-01-05T07:12:00Z",
                "summary_en": SUMMARY_EN,
                "summary_sv": SUMMARY_SV,
                "link": f"http://127.0.0.1:8000/api/v1/alerts/{alert_id}",
            },
        }
    )


def signed(
    body: bytes,
    *,
    secret: str = SECRET,
    msg_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
        "content-type": "application/json",
    }


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hemkoll-webhook-receiver"]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=WAIT_S) as client:
        yield client


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET, jsonl_path=tmp_path / "notifications.jsonl") as centre:
        yield centre
    assert not server_threads()


# --- verification and recording -------------------------------------------------------------


def test_valid_delivery_is_recorded_with_its_receive_time(
    receiver: WebhookReceiver, http: httpx.Client
) -> None:
    alert_id = str(uuid.uuid4())
    body = notification(alert_id=alert_id)
    headers = signed(body)
    before = time.time()
    response = http.post(receiver.url, content=body, headers=headers)
    after = time.time()

    assert response.status_code == 204
    [delivery] = receiver.recorder.notifications()
    assert delivery.webhook_id == headers["webhook-id"]
    assert delivery.body == body
    assert delivery.event_type == "alert.opened"
    assert delivery.alert_id == alert_id
    assert delivery.payload["data"]["patient_reference"] == PATIENT_REFERENCE
    assert before <= delivery.received_at <= after
    assert delivery.webhook_timestamp == int(headers["webhook-timestamp"])
    assert not delivery.duplicate
    stats = receiver.recorder.stats()
    assert (stats.deliveries, stats.notifications, stats.duplicates) == (1, 1, 0)
    assert stats.statuses == {204: 1}

    assert receiver.recorder.jsonl_path is not None
    [line] = receiver.recorder.jsonl_path.read_bytes().splitlines()
    doc = orjson.loads(line)
    assert doc["webhook_id"] == headers["webhook-id"]
    assert doc["duplicate"] is False
    assert doc["received_at_epoch"] == delivery.received_at
    assert doc["received_at"].endswith("Z")
    assert doc["payload"]["data"]["alert_id"] == alert_id


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong_secret", "bad_signature"),
        ("altered_body", "bad_signature"),
        ("ten_minutes_old", "timestamp_too_old"),
        ("ten_minutes_ahead", "timestamp_too_new"),
        ("no_signature", "missing_headers"),
        ("garbled_signature", "malformed_signature"),
    ],
)
def test_unverified_requests_are_refused_and_not_recorded(
    receiver: WebhookReceiver, http: httpx.Client, case: str, reason: str
) -> None:
    body = notification()
    now = datetime.now(UTC)
    if case == "wrong_secret":
        headers = signed(body, secret=WRONG_SECRET)
    elif case == "altered_body":
        headers = signed(body)
        body = body.replace(b'"yellow"', b'"red"')
    elif case == "ten_minutes_old":
        headers = signed(body, at=now - timedelta(minutes=10))
    elif case == "ten_minutes_ahead":
        headers = signed(body, at=now + timedelta(minutes=10))
    elif case == "no_signature":
        headers = signed(body)
        del headers["webhook-signature"]
    else:
        headers = signed(body) | {"webhook-signature": "v1"}

    response = http.post(receiver.url, content=body, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "unverified", "reason": reason}
    assert receiver.recorder.deliveries() == ()
    stats = receiver.recorder.stats()
    assert stats.rejected == {reason: 1}
    assert stats.notifications == 0


def test_verified_body_that_is_not_a_notification_is_refused(
    receiver: WebhookReceiver, http: httpx.Client
) -> None:
    for body in (b"not json", b"[1, 2]", b'{"data": {}}'):
        response = http.post(receiver.url, content=body, headers=signed(body))
        assert response.status_code == 400
    assert receiver.recorder.deliveries() == ()
    assert receiver.recorder.stats().rejected == {"malformed_payload": 3}


def test_any_of_several_secrets_verifies(http: httpx.Client) -> None:
    with WebhookReceiver([SECRET, ROTATED_SECRET]) as centre:
        for secret in (SECRET, ROTATED_SECRET, WRONG_SECRET):
            body = notification()
            http.post(centre.url, content=body, headers=signed(body, secret=secret))
        stats = centre.recorder.stats()
    assert stats.notifications == 2
    assert stats.rejected == {"bad_signature": 1}


def test_a_repeated_webhook_id_is_counted_once(
    receiver: WebhookReceiver, http: httpx.Client
) -> None:
    body = notification()
    headers = signed(body)
    first = http.post(receiver.url, content=body, headers=headers)
    replay = http.post(receiver.url, content=body, headers=headers)
    # A retry is signed afresh (new timestamp) but keeps its webhook-id.
    later = datetime.now(UTC) + timedelta(seconds=30)
    retry = http.post(
        receiver.url, content=body, headers=signed(body, msg_id=headers["webhook-id"], at=later)
    )

    assert first.status_code == 204
    assert (replay.status_code, retry.status_code) == (200, 200)
    assert replay.json() == {"duplicate": True}
    notifications = receiver.recorder.notifications()
    assert [d.webhook_id for d in notifications] == [headers["webhook-id"]]
    assert receiver.recorder.duplicate_counts() == {headers["webhook-id"]: 2}
    assert [d.duplicate for d in receiver.recorder.deliveries()] == [False, True, True]
    stats = receiver.recorder.stats()
    assert (stats.deliveries, stats.notifications, stats.duplicates) == (3, 1, 2)
    assert receiver.recorder.jsonl_path is not None
    lines = receiver.recorder.jsonl_path.read_bytes().splitlines()
    assert [orjson.loads(line)["duplicate"] for line in lines] == [False, True, True]


# --- failure modes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "retry_after"),
    [
        (Mode.fail(500), 500, None),
        (Mode.fail(503), 503, None),
        (Mode.throttle(30), 429, "30"),
        (Mode.gone(), 410, None),
    ],
)
def test_failure_modes_answer_as_set_and_record_nothing(
    receiver: WebhookReceiver,
    http: httpx.Client,
    mode: Mode,
    status: int,
    retry_after: str | None,
) -> None:
    receiver.set_mode(mode)
    body = notification()
    headers = signed(body)
    responses = [http.post(receiver.url, content=body, headers=headers) for _ in range(3)]

    assert [r.status_code for r in responses] == [status] * 3
    assert [r.headers.get("retry-after") for r in responses] == [retry_after] * 3
    assert receiver.recorder.deliveries() == ()
    stats = receiver.recorder.stats()
    assert stats.modes == {mode.name: 3}
    assert stats.statuses == {status: 3}

    receiver.set_mode(Mode.normal())
    assert http.post(receiver.url, content=body, headers=headers).status_code == 204
    assert receiver.recorder.stats().notifications == 1
    assert receiver.recorder.stats().modes == {mode.name: 3, "normal": 1}


def test_slow_mode_answers_normally_after_the_delay(
    receiver: WebhookReceiver, http: httpx.Client
) -> None:
    receiver.set_mode(Mode.slow(0.5))
    body = notification()
    started = time.monotonic()
    response = http.post(receiver.url, content=body, headers=signed(body))
    elapsed = time.monotonic() - started

    assert response.status_code == 204
    assert elapsed >= 0.5
    assert receiver.recorder.stats().notifications == 1
    assert receiver.recorder.stats().modes == {"slow": 1}


def test_invalid_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Mode.fail(204)
    with pytest.raises(ValueError, match="negative"):
        Mode.throttle(-1)
    with pytest.raises(ValueError, match="negative"):
        Mode.slow(-0.1)


def test_stopped_is_down_and_starts_again_on_the_same_port(http: httpx.Client) -> None:
    centre = WebhookReceiver(SECRET)
    centre.start()
    url, port = centre.url, centre.port
    body = notification()
    assert http.post(url, content=body, headers=signed(body)).status_code == 204

    centre.stop()
    assert not centre.running
    assert not server_threads()
    body = notification()
    with pytest.raises(httpx.ConnectError):
        http.post(url, content=body, headers=signed(body))

    centre.start()
    try:
        assert (centre.url, centre.port) == (url, port)
        assert http.post(url, content=body, headers=signed(body)).status_code == 204
        assert centre.recorder.stats().notifications == 2
    finally:
        centre.stop()
    assert not server_threads()


def test_stop_cancels_a_slow_request_in_flight_without_recording_it(
    receiver: WebhookReceiver,
) -> None:
    receiver.set_mode(Mode.slow(30))
    body = notification()
    answers: list[int | str] = []

    def deliver() -> None:
        try:
            answers.append(httpx.post(receiver.url, content=body, headers=signed(body)).status_code)
        except httpx.TransportError as exc:
            answers.append(type(exc).__name__)

    sender = threading.Thread(target=deliver)
    sender.start()
    time.sleep(0.3)  # the request reaches the handler (had it not, it is refused: same result)
    started = time.monotonic()
    receiver.stop()
    sender.join(WAIT_S)

    assert time.monotonic() - started < 5
    [answer] = answers  # a 500 from the cancelled handler, or a dropped connection
    assert answer != 204
    assert receiver.recorder.deliveries() == ()


def test_a_port_in_use_fails_start(receiver: WebhookReceiver) -> None:
    other = WebhookReceiver(SECRET, port=receiver.port)
    with pytest.raises(OSError, match="in use"):
        other.start()
    assert not other.running


def test_logs_carry_no_patient_data(
    receiver: WebhookReceiver, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hemkoll")
    body = notification()
    headers = signed(body)
    http.post(receiver.url, content=body, headers=headers)
    http.post(receiver.url, content=body, headers=headers)
    http.post(receiver.url, content=body, headers=signed(body, secret=WRONG_SECRET))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert headers["webhook-id"] in text
    for secret in (PATIENT_REFERENCE, SUMMARY_EN, SUMMARY_SV):
        assert secret not in text


# --- the nurse against a fake care-team API --------------------------------------------------


@dataclass
class FakeApi:
    """Records each acknowledge/resolve call; answers what ``answers`` says (default 200)."""

    answers: dict[tuple[str, str], int] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: Request) -> Response:
        alert_id, action = request.path_params["alert_id"], request.path_params["action"]
        with self.lock:
            self.calls.append(
                {
                    "alert_id": alert_id,
                    "action": action,
                    "authorization": request.headers.get("authorization"),
                    "json": await request.json(),
                    "at": time.time(),
                }
            )
        status = self.answers.get((alert_id, action), 200)
        return JSONResponse({"id": alert_id}, status)

    def app(self) -> Starlette:
        path = "/api/v1/alerts/{alert_id}/{action}"
        return Starlette(routes=[Route(path, self.handle, methods=["POST"])])

    def calls_for(self, alert_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [call for call in self.calls if call["alert_id"] == alert_id]


def test_nurse_acknowledges_then_resolves_and_tolerates_409(http: httpx.Client) -> None:
    api = FakeApi()
    taken, conflicted, failed = (str(uuid.uuid4()) for _ in range(3))
    api.answers[(conflicted, "acknowledge")] = 409
    api.answers[(failed, "acknowledge")] = 500
    with ThreadedServer(api.app(), name="fake-api") as api_server:
        config = NurseConfig(
            api_url=api_server.base_url,
            token=NURSE_TOKEN,
            acknowledge_after_s=0.2,
            resolve_after_s=0.5,
            seed=7,
        )
        with (
            Nurse(config) as nurse,
            WebhookReceiver(SECRET, on_notification=nurse.on_notification) as centre,
        ):
            sent_at = {}
            for alert_id in (taken, conflicted, failed):
                body = notification(alert_id=alert_id)
                sent_at[alert_id] = time.time()
                http.post(centre.url, content=body, headers=signed(body))
            # Later news about an alert already taken on, a duplicate, and a non-alert event.
            body = notification("alert.severity_raised", alert_id=taken)
            headers = signed(body)
            http.post(centre.url, content=body, headers=headers)
            http.post(centre.url, content=body, headers=headers)
            body = orjson.dumps({"type": "endpoint.test", "data": {}})
            http.post(centre.url, content=body, headers=signed(body))
            assert nurse.wait_idle(WAIT_S)
            stats = nurse.stats()

    assert (stats.alerts, stats.repeat_notifications) == (3, 1)
    assert (stats.acknowledged, stats.resolved) == (1, 3)
    assert (stats.conflicts, stats.failures) == (1, 1)
    assert (stats.pending, stats.abandoned) == (0, 0)
    for alert_id in (taken, conflicted, failed):
        acknowledge, resolve = api.calls_for(alert_id)
        assert (acknowledge["action"], resolve["action"]) == ("acknowledge", "resolve")
        assert acknowledge["authorization"] == resolve["authorization"] == f"Bearer {NURSE_TOKEN}"
        assert set(acknowledge["json"]) == {"note"}
        assert resolve["json"]["outcome"] == outcome_for(alert_id, seed=7)
        assert resolve["json"]["note"]
        assert acknowledge["at"] - sent_at[alert_id] >= 0.2
        assert resolve["at"] - sent_at[alert_id] >= 0.5
    calls = {(c.alert_id, c.action): c for c in nurse.calls()}
    assert calls[(conflicted, "acknowledge")].status_code == 409
    assert calls[(failed, "acknowledge")].status_code == 500
    assert not any(t.name == "hemkoll-sim-nurse" for t in threading.enumerate())


def delivery_for(alert_id: str | None, event: str = "alert.opened") -> Delivery:
    payload = {"type": event, "data": {"alert_id": alert_id}}
    return Delivery(f"msg_{uuid.uuid4().hex}", 0, time.time(), b"", payload, duplicate=False)


def test_nurse_counts_an_api_that_does_not_answer() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    config = NurseConfig(
        api_url="http://api.invalid", token=NURSE_TOKEN, acknowledge_after_s=0, resolve_after_s=0
    )
    with Nurse(config, transport=httpx.MockTransport(refuse)) as nurse:
        nurse.on_notification(delivery_for(str(uuid.uuid4())))
        nurse.on_notification(delivery_for("not-a-uuid"))
        assert nurse.wait_idle(WAIT_S)
    stats = nurse.stats()
    assert (stats.failures, stats.unusable_notifications) == (2, 1)
    assert [c.status_code for c in nurse.calls()] == [None, None]
    assert all(c.error and "ConnectError" in c.error for c in nurse.calls())


def test_nurse_stopped_with_actions_scheduled_counts_them() -> None:
    config = NurseConfig(api_url="http://api.invalid", token=NURSE_TOKEN)
    with Nurse(config, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as nurse:
        nurse.on_notification(delivery_for(str(uuid.uuid4())))
        assert nurse.stats().pending == 2
    assert (nurse.stats().abandoned, nurse.stats().pending) == (2, 0)
    assert nurse.calls() == ()


def test_outcomes_are_reproducible_and_in_the_documented_proportions() -> None:
    alert_ids = [str(uuid.UUID(int=i)) for i in range(5000)]
    outcomes = [outcome_for(alert_id, seed=3) for alert_id in alert_ids]
    assert outcomes == [outcome_for(alert_id, seed=3) for alert_id in alert_ids]
    assert outcomes != [outcome_for(alert_id, seed=4) for alert_id in alert_ids]
    for outcome, weight in OUTCOME_WEIGHTS.items():
        assert abs(outcomes.count(outcome) / len(outcomes) - weight) < 0.025
