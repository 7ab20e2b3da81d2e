"""From a batch of inbound messages to rows to store and feedback to send. Pure: no I/O.

The service (``service.py``) feeds it messages in arrival order, looks up the devices they name,
writes what ``plan_batch`` returns in one transaction, and then asks ``feedback_for`` what to tell
each device.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from hemkoll.protocol.feedback import Feedback, Rejection
from hemkoll.protocol.payload import MAX_PAYLOAD_BYTES, Envelope, check_message
from hemkoll.protocol.topics import device_id_from_topic
from hemkoll.store.readings import BatchResult
from hemkoll.store.types import DeadLetter, Device, Reading

# A payload over the protocol's limit is kept only in part: enough to see what sent it.
OVERSIZED_PAYLOAD_KEPT_BYTES = 4 * 1024


@dataclass(frozen=True)
class InboundMessage:
    """A message as the MQTT callback hands it on: nothing parsed yet.

    ``generation`` counts broker connections; a message received on an earlier connection is not
    acknowledged on a later one (the broker redelivers it, and the store dedupes).
    """

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    generation: int


@dataclass(frozen=True)
class MessagePlan:
    message: InboundMessage
    device_id: UUID | None
    msg_id: str | None
    readings: tuple[Reading, ...]
    rejections: tuple[Rejection, ...]


def plan_message(
    prefix: str,
    message: InboundMessage,
    envelope: Envelope | Rejection,
    devices: Mapping[UUID, Device],
) -> MessagePlan:
    device_id = device_id_from_topic(prefix, message.topic)
    msg_id = envelope.msg_id if isinstance(envelope, Envelope) else None

    def rejected(code: str, reason: str) -> MessagePlan:
        return MessagePlan(message, device_id, msg_id, (), (Rejection(code, reason),))

    if device_id is None:
        return rejected(
            "topic_invalid",
            f"topic does not match {prefix}/v1/devices/<device-id>/readings",
        )
    device = devices.get(device_id)
    if device is None:
        return rejected("device_unknown", "no device is enrolled with this id")
    if not device.active:
        return rejected("device_inactive", "the device has been deactivated")
    if isinstance(envelope, Rejection):
        return MessagePlan(message, device_id, None, (), (envelope,))
    checked = check_message(envelope, device=device, now=message.received_at)
    return MessagePlan(message, device_id, msg_id, checked.readings, checked.rejections)


def plan_batch(
    prefix: str,
    messages: Sequence[tuple[InboundMessage, Envelope | Rejection]],
    devices: Mapping[UUID, Device],
) -> list[MessagePlan]:
    return [plan_message(prefix, message, envelope, devices) for message, envelope in messages]


def dead_letters(plans: Sequence[MessagePlan]) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    for plan in plans:
        if not plan.rejections:
            continue
        raw = plan.message.payload
        kept = raw if len(raw) <= MAX_PAYLOAD_BYTES else raw[:OVERSIZED_PAYLOAD_KEPT_BYTES]
        digest = hashlib.sha256(raw).digest()
        letters.extend(
            DeadLetter(
                received_at=plan.message.received_at,
                topic=plan.message.topic,
                device_id=plan.device_id,
                msg_id=plan.msg_id,
                reading_index=rejection.index,
                reason_code=rejection.code,
                reason=rejection.reason,
                payload=kept,
                payload_size=len(raw),
                payload_sha256=digest,
            )
            for rejection in plan.rejections
        )
    return letters


def feedback_for(plans: Sequence[MessagePlan], result: BatchResult) -> list[Feedback]:
    """Per message: readings it stored, readings already stored, and what was rejected."""
    return [
        Feedback(plan.msg_id, stored, len(plan.readings) - stored, plan.rejections)
        for plan, stored in zip(plans, result.stored, strict=True)
    ]
