"""One fault scenario's world: its database, broker, centre, services and patients.

``build_world`` enrols the patients (stream and probe) in a fresh database of the scenario's own
cluster, points the centre's two endpoints at the simulated health centre (a WebhookReceiver
in this process), starts Mosquitto on the deployed configuration with the registry's users and
``hemkoll ingest``, ``rules`` and ``dispatch`` as processes; ``teardown`` stops it all.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import PUBLIC_URL, Service, service_env, stop_services, wait_for_log

from hemkoll.local_services.deployed_mosquitto import SYSTEMD_CONF, DeployedMosquitto, render
from hemkoll.local_services.postgres_cluster import PostgresCluster
from hemkoll.local_services.tls import Tls
from hemkoll.simulator.publisher import PlanPublisher, PublishReport
from hemkoll.simulator.receiver import Delivery, WebhookReceiver
from hemkoll.store.connect import connect
from hemkoll.store.devices import enrol_device
from hemkoll.store.health_centres import new_signing_secret

SERVICE_USER = "hemkoll-service"
CENTRE = "Faults VC"
ESCALATION_CONTACT = "On-call home-care nurse"
# A string every payload carries in a field ingest ignores; no log may ever contain it.
CANARY = f"canary-{uuid.uuid4().hex[:12]}"
# Ingest connects within seconds of its start, or of the broker's return.
CONNECT_TIMEOUT_S = 60.0
# Once the broker has logged ingest's connection, the time for its SUBSCRIBE to be handled.
SUBSCRIBE_SETTLE_S = 0.2
# hemkoll broker-auth reads the registry and writes two files: seconds.
BROKER_AUTH_TIMEOUT_S = 120


@dataclass(frozen=True)
class Patient:
    reference: str
    patient_id: str
    device_id: str
    password: str
    probe: bool

    @property
    def key(self) -> str:
        return f"{self.reference}/gateway"


@dataclass
class Published:
    """What the plan publishes: every reading's identity and value, and when probes go."""

    readings: dict[tuple[str, str, str], float] = field(default_factory=dict)
    messages: int = 0
    probe_times: list[float] = field(default_factory=list)


@dataclass
class World:
    name: str
    args: argparse.Namespace
    folder: Path
    pg: PostgresCluster
    tls: Tls
    url: str = ""
    prefix: str = ""
    service_password: str = ""
    broker: DeployedMosquitto | None = None
    receiver: WebhookReceiver | None = None
    services: dict[str, Service] = field(default_factory=dict)
    patients: list[Patient] = field(default_factory=list)
    centre_id: str = ""
    published: Published = field(default_factory=Published)
    devices: PlanPublisher | None = None
    report: PublishReport | None = None
    publisher_error: BaseException | None = None
    stop_publishing: threading.Event = field(default_factory=threading.Event)
    faults: dict[str, Any] = field(default_factory=dict)
    on_delivery: Callable[[Delivery], None] | None = None
    started_wall: float = 0.0

    @property
    def ingest(self) -> Service:
        return self.services["ingest"]

    @property
    def dispatcher(self) -> Service:
        return self.services["dispatch"]

    @property
    def probes(self) -> list[Patient]:
        return [p for p in self.patients if p.probe]

    def env(self, **extra: str) -> dict[str, str]:
        assert self.broker is not None
        mqtt_url = (
            f"mqtt://{SERVICE_USER}:{self.service_password}@127.0.0.1:{self.broker.plain_port}"
        )
        return service_env(
            self.url,
            mqtt_url,
            self.prefix,
            dispatch_client_id=f"{self.prefix}-dispatch",
            public_url=PUBLIC_URL,
            log_level=self.args.log_level,
            **extra,
        )


def build_world(
    name: str,
    args: argparse.Namespace,
    pg: PostgresCluster,
    tls: Tls,
    workdir: Path,
    *,
    probes: int,
) -> World:
    tag = uuid.uuid4().hex[:6]
    world = World(name, args, workdir / name, pg, tls)
    world.folder.mkdir(parents=True)
    world.prefix = f"faults-{tag}"
    world.service_password = uuid.uuid4().hex
    world.url = pg.create_database(f"hemkoll_faults_{name.replace('-', '_')}_{tag}")
    care_secret, escalation_secret = new_signing_secret(), new_signing_secret()
    with connect(world.url) as conn:
        for i in range(args.devices + probes):
            probe = i >= args.devices
            reference = f"FLT{tag}-{'P' if probe else 'S'}{i:04d}"
            e = enrol_device(
                conn, health_centre_name=CENTRE, patient_reference=reference, device_kind="gateway"
            )
            world.patients.append(
                Patient(reference, str(e.patient.id), str(e.device.id), e.mqtt_password, probe)
            )
            world.centre_id = str(e.health_centre.id)
        conn.execute("UPDATE devices SET enrolled_at = now() - interval '1 day'")
        conn.commit()
    # The centre's endpoints are known once the receiver has its port.
    world.receiver = WebhookReceiver(
        [care_secret, escalation_secret], on_notification=lambda d: _delivered(world, d)
    )
    world.receiver.start()
    with connect(world.url) as conn:
        conn.execute(
            "UPDATE health_centres SET notification_url = %s, signing_secret = %s,"
            " escalation_url = %s, escalation_signing_secret = %s, escalation_contact = %s,"
            " escalate_after = make_interval(secs => %s)",
            (
                world.receiver.url,
                care_secret,
                world.receiver.url,
                escalation_secret,
                ESCALATION_CONTACT,
                args.escalate_after,
            ),
        )
        conn.commit()
    start_broker(world)
    for service in ("ingest", "rules", "dispatch"):
        world.services[service] = Service(service, service, world.env(), world.folder).start()
    wait_for_ingest_session(world)
    return world


def _delivered(world: World, delivery: Delivery) -> None:
    if world.on_delivery is not None:
        world.on_delivery(delivery)


def start_broker(world: World) -> None:
    """deploy/mosquitto/mosquitto.conf with ports and paths moved; the registry's users."""
    auth = world.folder / "auth"
    passwd, acl = auth / "passwd", auth / "acl"
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": world.url,
        "HEMKOLL_MQTT_URL": f"mqtt://{SERVICE_USER}:{world.service_password}@127.0.0.1:1883",
        "HEMKOLL_MQTT_TOPIC_PREFIX": world.prefix,
    }
    subprocess.run(
        [sys.executable, "-m", "hemkoll", "broker-auth", "--password-file", str(passwd),
         "--acl-file", str(acl)],
        env=env, check=True, capture_output=True, timeout=BROKER_AUTH_TIMEOUT_S,
    )  # fmt: skip
    tls_port, plain_port = DeployedMosquitto.ports()
    config = render(
        SYSTEMD_CONF,
        world.folder / "broker",
        tls_port=tls_port,
        plain_port=plain_port,
        tls=world.tls,
        passwd=passwd,
        acl=acl,
    )
    world.broker = DeployedMosquitto(config, tls_port, plain_port).start()


def wait_for_ingest_session(world: World, connections: int = 1) -> None:
    """Until the broker has seen ingest connect ``connections`` times (then its SUBSCRIBE)."""
    assert world.broker is not None
    wait_for_log(
        world.broker.log,
        f" as {world.prefix}-ingest ",
        CONNECT_TIMEOUT_S,
        "ingest to connect to the broker",
        count=connections,
    )
    time.sleep(SUBSCRIBE_SETTLE_S)


def teardown(world: World) -> dict[str, int | None]:
    world.stop_publishing.set()
    if world.devices is not None:
        # paho's loop_stop takes up to a second per device: not on the bench's time.
        threading.Thread(target=world.devices.close, name="devices-close", daemon=True).start()
    codes = stop_services(world.services.values())
    if world.receiver is not None:
        world.receiver.stop()
    if world.broker is not None:
        world.broker.stop()
    return codes
