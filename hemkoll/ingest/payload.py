"""Parsing and validating a readings message (device protocol v1). Pure: no I/O.

A message is checked in two steps. The envelope (size, encoding, JSON, ``msg_id``, ``sent_at``,
the list of readings) decides whether the message can be read at all; then every reading is
checked on its own, so that one bad reading does not reject the good ones beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from hemkoll.ingest.metrics import (
    METRICS,
    METRICS_BY_DEVICE_KIND,
    ReadingRejected,
    canonical_value,
)
from hemkoll.ingest.protocol import (
    MAX_CLOCK_AHEAD_S,
    MAX_MSG_ID_LENGTH,
    MAX_PAYLOAD_BYTES,
    MAX_READINGS_PER_MESSAGE,
    Rejection,
)
from hemkoll.store.types import Device


def _require_string(value: object) -> object:
    if not isinstance(value, str):
        # pydantic reports ValueError as a validation error (a TypeError would escape it).
        raise ValueError(  # noqa: TRY004
            "must be an RFC 3339 date-time string with a UTC offset"
        )
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_require_string)]


class _Envelope(BaseModel):
    # Unknown fields are ignored so that a newer device can talk to an older hemkoll.
    model_config = ConfigDict(frozen=True, extra="ignore")

    msg_id: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MSG_ID_LENGTH)]
    sent_at: Timestamp | None = None
    readings: Annotated[list[Any], Field(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)]


class _ReadingIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    metric: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    value: StrictFloat | StrictInt
    unit: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    measured_at: Timestamp


@dataclass(frozen=True)
class ValidReading:
    """A checked reading: its value in the metric's canonical unit, its time in UTC."""

    index: int
    metric: str
    value: float
    measured_at: datetime


@dataclass(frozen=True)
class Envelope:
    msg_id: str
    sent_at: datetime | None
    readings: tuple[Any, ...]


@dataclass(frozen=True)
class CheckedMessage:
    """The outcome of checking one message against its device."""

    msg_id: str | None
    readings: tuple[ValidReading, ...]
    rejections: tuple[Rejection, ...]


def _describe(error: ValidationError, *, prefix: str) -> Rejection:
    """The first validation error as a rejection with a specific, field-naming reason."""
    first = error.errors(include_url=False, include_input=False)[0]
    location = prefix + ".".join(str(part) for part in first["loc"])
    code = "field_missing" if first["type"] == "missing" else "field_invalid"
    message = str(first["msg"]).removeprefix("Value error, ")
    return Rejection(code, f"{location or 'message'}: {message}")


def parse_envelope(payload: bytes) -> Envelope | Rejection:
    """Read a message's envelope, or say precisely why it cannot be read."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(
            "payload_too_large",
            f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes",
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection("not_utf8", f"payload is not UTF-8: invalid byte at offset {exc.start}")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Rejection("not_json", f"payload is not JSON: {exc}")
    if not isinstance(document, dict):
        return Rejection("field_invalid", "message: must be a JSON object")
    try:
        envelope = _Envelope.model_validate(document)
    except ValidationError as exc:
        return _describe(exc, prefix="")
    return Envelope(envelope.msg_id, envelope.sent_at, tuple(envelope.readings))


def check_reading(
    index: int, raw: object, *, device: Device, now: datetime
) -> ValidReading | Rejection:
    """Check one reading of a message from ``device`` received at ``now``."""
    try:
        reading = _ReadingIn.model_validate(raw)
    except ValidationError as exc:
        rejection = _describe(exc, prefix=f"readings[{index}].")
        return Rejection(rejection.code, rejection.reason, index)
    if reading.metric in METRICS and reading.metric not in METRICS_BY_DEVICE_KIND[device.kind]:
        return Rejection(
            "metric_not_for_device",
            f"readings[{index}]: a {device.kind} device does not report {reading.metric}",
            index,
        )
    try:
        value = canonical_value(reading.metric, float(reading.value), reading.unit)
    except ReadingRejected as exc:
        return Rejection(exc.code, f"readings[{index}]: {exc.reason}", index)
    except OverflowError:
        return Rejection(
            "value_not_finite", f"readings[{index}]: value is too large to be a number", index
        )
    measured_at = reading.measured_at.astimezone(UTC)
    if measured_at > now + timedelta(seconds=MAX_CLOCK_AHEAD_S):
        return Rejection(
            "measured_at_future",
            f"readings[{index}]: measured_at is more than {MAX_CLOCK_AHEAD_S // 60} minutes "
            "ahead of the server clock",
            index,
        )
    if measured_at < device.enrolled_at:
        return Rejection(
            "measured_at_before_enrolment",
            f"readings[{index}]: measured_at is before the device was enrolled",
            index,
        )
    return ValidReading(index, reading.metric, value, measured_at)


def check_message(envelope: Envelope, *, device: Device, now: datetime) -> CheckedMessage:
    valid: list[ValidReading] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(envelope.readings):
        outcome = check_reading(index, raw, device=device, now=now)
        if isinstance(outcome, ValidReading):
            valid.append(outcome)
        else:
            rejected.append(outcome)
    return CheckedMessage(envelope.msg_id, tuple(valid), tuple(rejected))
