"""Device protocol v1: MQTT topics and their QoS (see docs/protocol.md).

Pure: no I/O. The simulator and real device firmware follow what is written here.
"""

from __future__ import annotations

import functools
from uuid import UUID

PROTOCOL_VERSION = "v1"
READINGS_QOS = 1
# Feedback is a hint the device may miss: a device that gets no feedback for a message resends
# it, and the resend comes back as duplicates. At QoS 1 every feedback message would also cost
# a PUBACK round and paho's in-flight bookkeeping (it rescans its queue on each PUBACK), which
# measured here as the largest single cost of the ingest network thread.
FEEDBACK_QOS = 0


def readings_topic(prefix: str, device_id: UUID | str) -> str:
    return f"{prefix}/{PROTOCOL_VERSION}/devices/{device_id}/readings"


def feedback_topic(prefix: str, device_id: UUID | str) -> str:
    return f"{prefix}/{PROTOCOL_VERSION}/devices/{device_id}/feedback"


def readings_subscription(prefix: str) -> str:
    """The filter the ingest service subscribes to: every device's readings topic."""
    return f"{prefix}/{PROTOCOL_VERSION}/devices/+/readings"


def shared_readings_subscription(prefix: str, group: str) -> str:
    """The same filter as an MQTT 5 shared subscription: each message goes to one member."""
    return f"$share/{group}/{readings_subscription(prefix)}"


# Topics whose device id is remembered: every device publishes on one topic, so this holds a
# large fleet's; a miss only costs parsing the UUID again (1-2 us).
TOPICS_REMEMBERED = 16_384


@functools.lru_cache(maxsize=TOPICS_REMEMBERED)
def device_id_from_topic(prefix: str, topic: str) -> UUID | None:
    """The device id in a readings topic, or None when the topic does not follow the protocol."""
    head = f"{prefix}/{PROTOCOL_VERSION}/devices/"
    if not topic.startswith(head) or not topic.endswith("/readings"):
        return None
    middle = topic[len(head) : -len("/readings")]
    if "/" in middle:
        return None
    try:
        device_id = UUID(middle)
    except ValueError:
        return None
    # Only the canonical lower-case hyphenated spelling is the device's topic.
    return device_id if str(device_id) == middle else None
