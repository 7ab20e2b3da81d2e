"""deploy/mosquitto/mosquitto.conf is accepted by this Mosquitto and behaves as documented.

The deeper checks (TLS with registry credentials, the ACL, persistence through a kill -9, the
container variant) are in tests/deploy/test_mosquitto.py.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.local_services.deployed_mosquitto import SYSTEMD_CONF, DeployedMosquitto, render
from hemkoll.local_services.tls import tls_material
from tests.helpers import wait_until


def test_deploy_config_starts_and_refuses_anonymous_clients(tmp_path: Path) -> None:
    (tmp_path / "hemkoll.passwd").write_text("")
    (tmp_path / "hemkoll.acl").write_text("")
    tls_port, plain_port = DeployedMosquitto.ports()
    config = render(
        SYSTEMD_CONF,
        tmp_path,
        tls_port=tls_port,
        plain_port=plain_port,
        tls=tls_material(tmp_path / "tls"),
        passwd=tmp_path / "hemkoll.passwd",
        acl=tmp_path / "hemkoll.acl",
    )
    broker = DeployedMosquitto(config, tls_port, plain_port).start()
    try:
        outcomes: list[str] = []
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"anon-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.on_connect = lambda c, u, f, rc, p: outcomes.append(str(rc))
        client.connect("127.0.0.1", plain_port)
        client.loop_start()
        wait_until(lambda: bool(outcomes), 5, "CONNACK")
        client.loop_stop()
        assert outcomes[0] == "Not authorized"
    finally:
        broker.stop()
    log = broker.log_text()
    assert not re.search(r": Error\b", log), log
