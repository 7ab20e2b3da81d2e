"""``hemkoll demo``: the whole system with a simulated cohort, on one machine, in one command.

Start order: data directory (locked) -> PostgreSQL (embedded unless HEMKOLL_DATABASE_URL is
set) and migrations -> the cohort (health centre, nurse, devices enrolled) -> Mosquitto
(embedded unless HEMKOLL_MQTT_URL is set) -> API, health centre, dispatcher, rules, ingest ->
the simulated devices. Every start pushes its stop onto one ExitStack, so SIGINT or SIGTERM,
an error, or a failed start stops whatever runs in the reverse order, and no child process is
left behind.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from hemkoll.demo import cohort, console
from hemkoll.demo.broker import SERVICE_USER, EmbeddedMosquitto
from hemkoll.demo.clock import SECONDS_PER_DAY
from hemkoll.demo.errors import DemoError
from hemkoll.demo.lockstep import LockstepParts, SimulatedClock
from hemkoll.demo.replay import Replay
from hemkoll.demo.replay_nurse import ReplayNurse
from hemkoll.demo.services import (
    Running,
    ServiceConfig,
    hand_to_nurse,
    nurse_delays_s,
    start_services,
)
from hemkoll.demo.state import TIMEZONE, DemoOptions, DemoState, cohort_state
from hemkoll.demo.watch import Watcher
from hemkoll.local_services.ports import free_port
from hemkoll.local_services.postgres import EmbeddedPostgres
from hemkoll.settings import MqttEndpoint, Settings
from hemkoll.simulator import simulate
from hemkoll.simulator.publisher import PublisherConfig
from hemkoll.store.connect import connect
from hemkoll.store.devices import active_device_credentials
from hemkoll.store.migrate import ensure_database, migrate

DEFAULT_PORT = 8000


@dataclass(frozen=True)
class Cohort:
    state: DemoState
    centre: UUID
    signing_secret: str
    token: str  # the visitor's (printed)
    visitor_id: UUID
    # The simulated nurse's own (never printed); None with --nurse off.
    simulated_nurse: tuple[UUID, str] | None


@dataclass(frozen=True)
class Broker:
    service: MqttEndpoint  # for ingest and the dispatcher
    device_host: str
    device_port: int
    text: str


class Stopped(Exception):
    """SIGINT or SIGTERM came during start-up."""


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Demo:
    def __init__(self, options: DemoOptions, settings: Settings, stop: threading.Event) -> None:
        self.options, self.settings, self.stop = options, settings, stop
        self.data = options.data_dir
        self.started = time.monotonic()
        self.watcher: Watcher | None = None

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped

    def database(self, stack: ExitStack) -> tuple[str, str]:
        if "database_url" in self.settings.model_fields_set:
            url, text = self.settings.database_url, "yours (HEMKOLL_DATABASE_URL)"
        else:
            pg = EmbeddedPostgres(self.data.path)
            pg.start()
            stack.callback(pg.stop)
            url, text = pg.url(), pg.description
        ensure_database(url)
        migrate(url)
        return url, text

    def set_up_cohort(
        self, url: str, state: DemoState, device_keys: list[str], receiver_url: str
    ) -> Cohort:
        with connect(url) as conn:
            centre, secret = cohort.prepare_centre(conn, state.centre, receiver_url)
            if not state.devices:
                if cohort.has_devices(conn, centre):
                    raise DemoError("an earlier start-up was cut short; run with --reset")
                enrolled_at = cohort.enrolment_time(state.start, TIMEZONE)
                state = replace(
                    state, devices=cohort.enrol_cohort(conn, state.centre, device_keys, enrolled_at)
                )
                self.data.save(state)
            else:
                cohort.check_enrolled(conn, centre, state.devices)
            now = datetime.now(UTC)
            visitor_id, token = cohort.staff_token(conn, centre, cohort.NURSE_NAME, now)
            simulated = None
            if self.options.nurse:
                simulated = cohort.staff_token(
                    conn, centre, cohort.SIMULATED_NURSE_NAME, now, revoke_earlier=True
                )
        return Cohort(state, centre, secret, token, visitor_id, simulated)

    def broker(self, stack: ExitStack, url: str) -> Broker:
        if "mqtt_url" in self.settings.model_fields_set:
            endpoint = self.settings.mqtt
            if endpoint.tls:
                raise DemoError("the simulated devices connect without TLS: use an mqtt:// URL")
            text = f"yours (HEMKOLL_MQTT_URL, {endpoint.host}:{endpoint.port})"
            return Broker(endpoint, endpoint.host, endpoint.port, text)
        mosquitto = EmbeddedMosquitto(self.data.file("mosquitto"), self.settings.mqtt_topic_prefix)
        with connect(url) as conn:
            devices = active_device_credentials(conn)
        password = secrets.token_urlsafe(24)
        mosquitto.write_auth(devices, password)
        mosquitto.start()
        stack.callback(mosquitto.stop)
        text = (
            f"Mosquitto {mosquitto.version} on 127.0.0.1:{mosquitto.port}; each device logs in "
            "with its own enrolment password"
        )
        service = mosquitto.endpoint(SERVICE_USER, password)
        return Broker(service, service.host, service.port, text)

    def run(self, stack: ExitStack) -> None:
        self.check()
        state = cohort_state(self.options, self.data.load())
        sim = simulate(
            state.patients, state.days + state.live_days, seed=state.seed, start=state.start
        )
        sim.write_ground_truth(self.data.file("episodes.jsonl"))
        self.check()
        url, db_text = self.database(stack)
        self.check()
        receiver_port = free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}/webhook"
        found = self.set_up_cohort(url, state, sim.plan.device_keys(), receiver_url)
        # Where simulated time lands on the wall clock from now on, saved before anything is
        # published with it (a resend or the next run stamps the same readings the same way).
        state = replace(
            found.state,
            clock=found.state.clock.going_live(
                datetime.now(UTC), found.state.saved_at, self.options.pace_s
            ),
        )
        self.data.save(state)
        plan = state.clock.retime(sim.plan)
        broker = self.broker(stack, url)
        # The final summary: after the services stop (pushed later, so unwound earlier), before
        # the broker and the database do.
        stack.callback(self._final)
        self.check()
        api_port = self.options.port
        if api_port == 0 or not port_free(api_port):
            if api_port not in (0, DEFAULT_PORT):
                raise DemoError(f"port {api_port} is in use; choose another with --port")
            api_port = free_port()  # 0, or the default taken: any free port
        api_url = f"http://127.0.0.1:{api_port}"
        settings = self.settings
        # The replay's simulated clock, from where the replay starts (the rules worker starts
        # on it before the first message is published); the wall clock once it has caught up.
        resume = state.checkpoint
        first = datetime.fromtimestamp(int(plan.publish_at[0]), UTC) if len(plan) else None
        clock = SimulatedClock(resume or first)
        running = start_services(
            stack,
            ServiceConfig(
                database_url=url,
                mqtt=broker.service,
                topic_prefix=settings.mqtt_topic_prefix,
                ingest_client_id=settings.mqtt_client_id,
                dispatch_client_id=settings.dispatch_client_id,
                api_port=api_port,
                receiver_port=receiver_port,
                public_url=(
                    settings.public_url if "public_url" in settings.model_fields_set else api_url
                ),
                signing_secret=found.signing_secret,
                simulated_nurse_token=(
                    None if found.simulated_nurse is None else found.simulated_nurse[1]
                ),
                notifications_file=self.data.file("notifications.jsonl"),
                seed=state.seed,
                pace_s=self.options.pace_s,
                clock=clock,
            ),
        )
        self.check()
        replay = Replay(
            plan,
            {key: (ids[0], ids[1]) for key, ids in state.devices.items()},
            PublisherConfig(
                host=broker.device_host,
                port=broker.device_port,
                topic_prefix=settings.mqtt_topic_prefix,
                realtime=True,
                show_progress=False,
            ),
            resume_at=state.checkpoint,
            lockstep=self.lockstep(url, found, running, clock, state.seed),
        )
        watcher = Watcher(
            self.data,
            url,
            found.centre,
            sim,
            state,
            running,
            replay,
            self.started,
            time.monotonic(),
        )
        self.watcher = watcher
        progress = replay.progress()
        if progress.replayed < progress.backlog:
            watcher.pause()
        replay.start()
        stack.callback(replay.stop)
        banner = console.Banner(
            patients=state.patients,
            seed=state.seed,
            start=str(state.start),
            replay_days=(datetime.now(ZoneInfo(TIMEZONE)).date() - state.start).days,
            devices=len(state.devices),
            data_dir=self.data.path,
            database=db_text,
            database_url=None if "database_url" in settings.model_fields_set else url,
            broker=broker.text,
            api_url=api_url,
            token=found.token,
            receiver_url=running.receiver.url,
            nurse=(
                console.NurseText(*nurse_delays_s(self.options.pace_s))
                if running.nurse is not None
                else None
            ),
            nurse_name=cohort.SIMULATED_NURSE_NAME,
            visitor_name=cohort.NURSE_NAME,
            pace_s=self.options.pace_s,
            seconds_per_day=SECONDS_PER_DAY,
            messages=len(sim.plan),
            resumed_from=None if state.checkpoint is None else state.checkpoint.isoformat(),
            summary_every_s=self.options.summary_every_s,
            startup_s=time.monotonic() - self.started,
        )
        console.say()
        for line in banner.lines():
            console.say(line)
        while not self.stop.wait(self.options.summary_every_s):
            watcher.tick()
        console.say("stopping ...")

    def lockstep(
        self, url: str, found: Cohort, running: Running, clock: SimulatedClock, seed: int
    ) -> LockstepParts:
        """The replay's lockstep: the rules worker's look for passed deadlines, the replay's
        nurse (the simulated nurse's staff member), and the live nurse's hand-over."""
        nurse = None
        if found.simulated_nurse is not None:
            nurse = ReplayNurse(found.centre, running.api.base_url, found.simulated_nurse[1], seed)
        live = running.nurse

        def caught_up() -> None:
            if live is not None:  # what the replay's nurse left open, the live one takes
                with connect(url) as conn:
                    hand_to_nurse(live, cohort.unresolved_alerts(conn, found.centre))

        return LockstepParts(url, clock, running.rules.queue_due, nurse, caught_up)

    def _final(self) -> None:
        if self.watcher is not None:
            self.watcher.final()
            self.watcher.close()


def run_demo(options: DemoOptions, settings: Settings, stop: threading.Event) -> None:
    """Run until ``stop`` is set (the caller's SIGINT/SIGTERM handler sets it).

    A set-up that cannot go on raises ``DemoError``, once everything started is stopped.
    """
    if options.reset:
        options.data_dir.check_resettable()
    options.data_dir.lock()
    if options.reset:
        options.data_dir.reset()
    console.log_to_file(options.data_dir.file("demo.log"), settings.log_level)
    try:
        with ExitStack() as stack:
            Demo(options, settings, stop).run(stack)
    except Stopped:
        console.say("stopped during start-up")
    finally:
        options.data_dir.unlock()
    console.say(console.goodbye(options.data_dir.path))
