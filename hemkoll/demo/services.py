"""hemkoll's services, in threads of the demo's process, each stopped as its command would be.

The care-team API (uvicorn via ``ThreadedServer``, with its lifespan), the simulated health
centre (webhook receiver and, unless ``--nurse off``, the live simulated nurse, who takes
notifications once the replay is over), the dispatcher (webhooks, device messages, and its
escalation scheduler), the rules worker (with its look for passed deadlines, both on the
replay's simulated clock) and ingest. Each start pushes its stop onto the caller's
``ExitStack``, so they stop in the reverse order: ingest first (finishing the batch in
hand), the API last.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.api.app import ApiConfig, create_app
from hemkoll.demo.clock import SECONDS_PER_DAY
from hemkoll.demo.errors import DemoError
from hemkoll.demo.lockstep import SimulatedClock
from hemkoll.ingest.service import IngestConfig, IngestService
from hemkoll.notify.dispatcher import Dispatcher, DispatcherConfig
from hemkoll.rules.backtest import ACKNOWLEDGED_AFTER, RESOLVED_AFTER
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.urgency import urgent_limits
from hemkoll.settings import MqttEndpoint
from hemkoll.simulator.receiver import Nurse, NurseConfig, WebhookReceiver
from hemkoll.simulator.receiver.recorder import Delivery
from hemkoll.simulator.receiver.server import ThreadedServer
from hemkoll.store import evaluation_queue

log = logging.getLogger(__name__)

# A service thread finishes its work in hand within this after being asked to stop.
STOP_TIMEOUT_S = 30.0
# Ingest connects to a local broker in milliseconds.
CONNECT_TIMEOUT_S = 10.0


def nurse_delays_s(pace_s: int) -> tuple[float, float]:
    """The live simulated nurse's wall-clock seconds from a notification to acknowledging the
    alert and to resolving it: the backtest's nurse's simulated hours (``ACKNOWLEDGED_AFTER``,
    ``RESOLVED_AFTER``) at the demo's pace (``pace_s`` wall seconds per simulated day), so she
    acts on the live demo's alerts as the replay's nurse did on the replayed ones (at the
    default five minutes a day: 12.5 s and 50 s)."""
    scale = pace_s / SECONDS_PER_DAY
    return ACKNOWLEDGED_AFTER.total_seconds() * scale, RESOLVED_AFTER.total_seconds() * scale


@dataclass(frozen=True)
class ServiceConfig:
    database_url: str
    # The service user's broker endpoint (ingest and the dispatcher).
    mqtt: MqttEndpoint
    topic_prefix: str
    ingest_client_id: str
    dispatch_client_id: str
    api_port: int
    receiver_port: int
    public_url: str
    signing_secret: str
    # The simulated nurse's own token (never the visitor's); None: no simulated nurse.
    simulated_nurse_token: str | None
    notifications_file: Path
    seed: int
    # Wall seconds per simulated day once live (the live nurse's delays scale with it).
    pace_s: int
    # The rules worker's and the live nurse's clock: the replay's simulated one.
    clock: SimulatedClock


@dataclass
class Running:
    api: ThreadedServer
    receiver: WebhookReceiver
    nurse: Nurse | None
    ingest: IngestService
    rules: RulesWorker
    dispatcher: Dispatcher


def run_in_thread(
    stack: ExitStack, name: str, run: Callable[[], None], stop: Callable[[], None]
) -> None:
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def halt() -> None:
        stop()
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            log.error("%s did not stop within %.0f s", name, STOP_TIMEOUT_S)

    stack.callback(halt)


def wake_rules(database_url: str) -> None:
    """A NOTIFY, so that a stopping rules worker need not wait out its idle LISTEN."""
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        evaluation_queue.notify_workers(conn)


def start_services(stack: ExitStack, config: ServiceConfig) -> Running:
    app = create_app(
        ApiConfig(
            database_url=config.database_url,
            programme=HEART_FAILURE,
            public_url=config.public_url,
            topic_prefix=config.topic_prefix,
            alert_clock=config.clock.now,
        )
    )
    api = ThreadedServer(app, port=config.api_port, name="hemkoll-api", lifespan="on")
    try:
        api.start()
    except OSError as exc:
        raise DemoError(f"the API cannot listen on port {config.api_port}: {exc}") from exc
    stack.callback(api.stop)

    nurse = None
    if config.simulated_nurse_token is not None:
        acknowledge_after_s, resolve_after_s = nurse_delays_s(config.pace_s)
        nurse = Nurse(
            NurseConfig(
                api_url=api.base_url,
                token=config.simulated_nurse_token,
                acknowledge_after_s=acknowledge_after_s,
                resolve_after_s=resolve_after_s,
                seed=config.seed,
            )
        )
        nurse.start()
        stack.callback(nurse.stop)
    receiver = WebhookReceiver(
        config.signing_secret,
        port=config.receiver_port,
        jsonl_path=config.notifications_file,
        on_notification=None if nurse is None else live_only(nurse, config.clock),
    )
    receiver.start()
    stack.callback(receiver.stop)

    dispatcher = Dispatcher(
        DispatcherConfig(
            database_url=config.database_url,
            mqtt=config.mqtt,
            topic_prefix=config.topic_prefix,
            mqtt_client_id=config.dispatch_client_id,
            public_url=config.public_url,
        )
    )
    run_in_thread(stack, "hemkoll-dispatch", dispatcher.run, dispatcher.stop)
    rules = RulesWorker(
        RulesConfig(database_url=config.database_url, rule_set=HEART_FAILURE),
        clock=config.clock.now,
    )

    def stop_rules() -> None:
        rules.stop()
        wake_rules(config.database_url)

    run_in_thread(stack, "hemkoll-rules", rules.run, stop_rules)
    ingest = IngestService(
        IngestConfig(
            database_url=config.database_url,
            mqtt=config.mqtt,
            topic_prefix=config.topic_prefix,
            client_id=config.ingest_client_id,
            urgent=urgent_limits(HEART_FAILURE),
        )
    )
    run_in_thread(stack, "hemkoll-ingest", ingest.run, ingest.stop)
    if not ingest.wait_connected(CONNECT_TIMEOUT_S):
        raise DemoError("ingest could not connect to the broker (see demo.log)")
    return Running(api, receiver, nurse, ingest, rules, dispatcher)


def live_only(nurse: Nurse, clock: SimulatedClock) -> Callable[[Delivery], None]:
    """The live nurse's notifications once the replay is over: the replay's alerts are the
    replay's nurse's (``hemkoll.demo.replay_nurse``), and those still open when it catches up
    are handed to her then (``hand_to_nurse``)."""

    def on_notification(delivery: Delivery) -> None:
        if clock.live:
            nurse.on_notification(delivery)

    return on_notification


def hand_to_nurse(nurse: Nurse, alert_ids: list[UUID]) -> None:
    """Alerts left open by an earlier run: the nurse takes them from the worklist."""
    for alert_id in alert_ids:
        nurse.on_notification(
            Delivery(
                webhook_id=f"worklist-{alert_id}",
                webhook_timestamp=0,
                received_at=0.0,
                body=b"",
                payload={"type": "alert.opened", "data": {"alert_id": str(alert_id)}},
                duplicate=False,
            )
        )
