"""The demo's own Mosquitto: devices log in with their enrolment passwords, as in production.

MQTT 5 is needed (ingest's persistent session with a session expiry and receive maximum, the
devices' and the dispatcher's clients), so the broker is the ``mosquitto`` binary: the
pip-installable amqtt (0.12) speaks only MQTT 3.1.1 and refuses MQTT 5 clients. The password
and ACL files are written by ``hemkoll.ingest.broker_auth`` from the device registry, with a
service user for ingest and the dispatcher; the project's queue limits
(deploy/mosquitto/conf.d) are included when the source tree has them. Sessions and queued
messages persist in the data directory across runs.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hemkoll.demo import processes
from hemkoll.demo.processes import DemoError
from hemkoll.ingest.broker_auth import acl_file, password_file, write_atomically
from hemkoll.ingest.local_broker import LIMITS_DIR, free_port, wait_for_port
from hemkoll.settings import MqttEndpoint
from hemkoll.store.credentials import hash_secret
from hemkoll.store.types import DeviceCredential

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SERVICE_USER = "hemkoll-service"
STOP_SIGNALS = ((signal.SIGTERM, 10.0),)
NO_MOSQUITTO = (
    "hemkoll demo needs the Mosquitto broker (an MQTT 5 broker; the pip-installable amqtt "
    "speaks only MQTT 3.1.1): install it (Debian/Ubuntu: apt-get install mosquitto; macOS: "
    "brew install mosquitto), or set HEMKOLL_MQTT_URL to an MQTT 5 broker of yours"
)


def find_mosquitto() -> Path:
    for candidate in (
        shutil.which("mosquitto"),
        "/usr/sbin/mosquitto",
        "/opt/homebrew/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise DemoError(NO_MOSQUITTO)


class EmbeddedMosquitto:
    """``write_auth(...)`` then ``start()``; ``endpoint(...)``; ``stop()``."""

    def __init__(self, directory: Path, topic_prefix: str) -> None:
        self.binary = find_mosquitto()
        self.directory = directory
        self.topic_prefix = topic_prefix
        self.config = directory / "mosquitto.conf"
        self.passwords = directory / "passwd"
        self.acl = directory / "acl"
        self.log = directory / "mosquitto.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def version(self) -> str:
        out = subprocess.run(  # noqa: S603 (a fixed binary)
            [str(self.binary), "-h"], capture_output=True, text=True, check=False
        ).stdout
        first = out.splitlines()[0] if out else ""
        return first.removeprefix("mosquitto version ").strip() or "?"

    def write_auth(self, devices: Sequence[DeviceCredential], service_password: str) -> None:
        """Password and ACL files: the service user, then every active device."""
        users = {SERVICE_USER: hash_secret(service_password)}
        write_atomically(self.passwords, password_file(devices, users), mode=0o600)
        write_atomically(self.acl, acl_file(self.topic_prefix, SERVICE_USER), mode=0o600)

    def endpoint(self, username: str | None = None, password: str | None = None) -> MqttEndpoint:
        return MqttEndpoint(HOST, self.port, tls=False, username=username, password=password)

    def start(self) -> None:
        self.port = free_port()
        lines = [
            f"listener {self.port} {HOST}",
            "allow_anonymous false",
            f"password_file {self.passwords}",
            f"acl_file {self.acl}",
            # Started as root, Mosquitto would switch to its own user, which cannot read a
            # private data directory (ignored when not root).
            "user root",
            "persistence true",
            f"persistence_location {self.directory}/",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if LIMITS_DIR.is_dir():
            lines.append(f"include_dir {LIMITS_DIR}")
        else:
            log.warning("hemkoll's broker limits (%s) not found: Mosquitto's defaults", LIMITS_DIR)
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process = processes.start(
            [str(self.binary), "-c", str(self.config)], log=self.log, death_signal=signal.SIGTERM
        )
        try:
            wait_for_port(HOST, self.port)
        except TimeoutError:
            self.stop()
            raise DemoError(f"Mosquitto did not start; see {self.log}") from None
        if self.process.poll() is not None:
            raise DemoError(f"Mosquitto exited at start; see {self.log}")

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process, signals=STOP_SIGNALS)
            self.process = None
