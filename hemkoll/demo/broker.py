"""The demo's own Mosquitto: devices log in with their enrolment passwords, as in production.

MQTT 5 is needed (ingest's persistent session with a session expiry and receive maximum, the
devices' and the dispatcher's clients), so the broker is the ``mosquitto`` binary: the
pip-installable amqtt (0.12) speaks only MQTT 3.1.1 and refuses MQTT 5 clients. The broker is
hemkoll.local_services' LocalMosquitto; the demo's policy is added here: no anonymous clients,
the password and ACL files written by ``hemkoll.ingest.broker_auth`` from the device registry,
with a service user for ingest and the dispatcher; the project's queue limits
(deploy/mosquitto/conf.d) when the source tree has them; sessions and queued messages persist
in the data directory across runs; and the broker dies with the demo.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from hemkoll.demo.errors import DemoError
from hemkoll.ingest.broker_auth import acl_file, password_file, write_atomically
from hemkoll.local_services.mosquitto import LIMITS_DIR, LocalMosquitto
from hemkoll.settings import MqttEndpoint
from hemkoll.store.credentials import hash_secret
from hemkoll.store.types import DeviceCredential

log = logging.getLogger(__name__)

SERVICE_USER = "hemkoll-service"
NO_MOSQUITTO = (
    "hemkoll demo needs the Mosquitto broker (an MQTT 5 broker; the pip-installable amqtt "
    "speaks only MQTT 3.1.1): install it (Debian/Ubuntu: apt-get install mosquitto; macOS: "
    "brew install mosquitto), or set HEMKOLL_MQTT_URL to an MQTT 5 broker of yours"
)


class EmbeddedMosquitto(LocalMosquitto):
    """``write_auth(...)`` then ``start()``; ``endpoint(...)``; ``stop()``."""

    def __init__(self, directory: Path, topic_prefix: str) -> None:
        self.directory = directory
        self.topic_prefix = topic_prefix
        self.passwords = directory / "passwd"
        self.acl = directory / "acl"
        limits = LIMITS_DIR.is_dir()
        if not limits:
            log.warning("hemkoll's broker limits (%s) not found: Mosquitto's defaults", LIMITS_DIR)
        try:
            super().__init__(
                directory,
                f"password_file {self.passwords}\nacl_file {self.acl}",
                include_limits=limits,
                anonymous=False,
                persistence=directory,
                die_with_parent=True,
            )
        except FileNotFoundError:
            raise DemoError(NO_MOSQUITTO) from None

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
        return MqttEndpoint(self.host, self.port, tls=False, username=username, password=password)

    def start(self) -> Self:
        try:
            super().start()
        except TimeoutError:
            raise DemoError(f"Mosquitto did not start; see {self.log}") from None
        return self
