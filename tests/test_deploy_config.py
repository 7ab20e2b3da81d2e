"""deploy/mosquitto/mosquitto.conf is accepted by this Mosquitto and behaves as documented."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.ingest.local_broker import LIMITS_DIR, free_port, wait_for_port
from tests.helpers import wait_until

DEPLOY_CONF = LIMITS_DIR.parent / "mosquitto.conf"


def _render(tmp: Path, port: int) -> Path:
    """The deployed file with only its port and absolute paths moved into the test's folder."""
    text = DEPLOY_CONF.read_text()
    (tmp / "hemkoll.d").mkdir()
    for conf in LIMITS_DIR.glob("*.conf"):
        shutil.copy(conf, tmp / "hemkoll.d" / conf.name)
    (tmp / "hemkoll.passwd").write_text("")
    (tmp / "hemkoll.acl").write_text("")
    (tmp / "data").mkdir()
    replacements = {
        r"^listener 1883$": f"listener {port} 127.0.0.1",
        r"^password_file .*$": f"password_file {tmp / 'hemkoll.passwd'}",
        r"^acl_file .*$": f"acl_file {tmp / 'hemkoll.acl'}",
        r"^persistence_location .*$": f"persistence_location {tmp / 'data'}/",
        r"^include_dir .*$": f"include_dir {tmp / 'hemkoll.d'}",
    }
    for pattern, value in replacements.items():
        text, count = re.subn(pattern, value, text, flags=re.MULTILINE)
        assert count == 1, pattern
    rendered = tmp / "mosquitto.conf"
    rendered.write_text(text + "user root\n")
    return rendered


def test_deploy_config_starts_and_refuses_anonymous_clients(tmp_path: Path) -> None:
    port = free_port()
    config = _render(tmp_path, port)
    broker = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port("127.0.0.1", port)
        outcomes: list[str] = []
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"anon-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.on_connect = lambda c, u, f, rc, p: outcomes.append(str(rc))
        client.connect("127.0.0.1", port)
        client.loop_start()
        wait_until(lambda: bool(outcomes), 5, "CONNACK")
        client.loop_stop()
        assert outcomes[0] == "Not authorized"
    finally:
        broker.terminate()
        _, log = broker.communicate(timeout=10)
    assert b"Error" not in log, log.decode()
