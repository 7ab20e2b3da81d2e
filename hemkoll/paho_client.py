"""The one place hemkoll's services build a paho-mqtt client: ingest and the dispatcher.

MQTT 5 with paho's version-2 callbacks, the service user's credentials, and TLS verified
against the configured CA (or the system store) for ``mqtts://``. What differs between the
services (manual acknowledgement, the client class, the in-flight window, who drives the
network loop) is the caller's. The reconnect backoff of a broker connection is here too, so a
loop of our own (ingest) and paho's own (the dispatcher) wait alike.
"""

from __future__ import annotations

import ssl
from typing import TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hemkoll.backoff import Backoff
from hemkoll.settings import MqttEndpoint

C = TypeVar("C", bound=mqtt.Client)

# Broker reconnects: start at once a second (a broker restart takes about that), double, and
# cap at 30 s so that the end of an outage is noticed within half a minute.
BROKER_RECONNECT = Backoff(first_s=1.0, max_s=30.0)


def build_client(
    client_class: type[C],
    endpoint: MqttEndpoint,
    *,
    client_id: str,
    ca_file: str | None = None,
    manual_ack: bool = False,
) -> C:
    """A paho client (``mqtt.Client`` or a subclass) for ``endpoint``, not yet connected."""
    client = client_class(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return client
