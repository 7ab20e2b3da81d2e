"""History import: readings from a previous system, one JSON object a line (docs/import.md).

Each line is checked as the device path checks a reading (``protocol.payload.check_reading``:
the same fields, units, ranges, clock and enrolment checks, the same rejection codes), after
the two things a device message carries in its topic and an import line in its fields: the
patient (the centre's reference) and the device (its id). The readings are stored through the
device path's writer (``ReadingWriter``: COPY into the staging table, one INSERT ... ON
CONFLICT DO NOTHING on the reading's identity, the device, metric and measured_at), a batch
of lines per transaction: a crash mid-file loses at most the batch in hand, and a rerun stores
each reading once. A refused line is dead-lettered, with its line number and the reason.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.payload import MAX_PAYLOAD_BYTES, ReadingIn, check_reading, decode_reading
from hemkoll.store import audit_log
from hemkoll.store.connect import Conn
from hemkoll.store.devices import devices_by_id
from hemkoll.store.imported_history import mark_history
from hemkoll.store.patients import patients_by_reference
from hemkoll.store.readings import Origin, ReadingWriter
from hemkoll.store.types import DeadLetter, Device, Reading

# The dead letters' topic: with the line number (reading_index) and the line's digest it is
# the dead letters' identity, so a rerun of the same file dead-letters each bad line once.
HISTORY_TOPIC = "history-import"
# Lines per transaction: large enough for COPY to pay off, small enough that a crash loses
# little and a progress line comes often (about 0.1 s of work).
BATCH_LINES = 10_000
# A refused line is kept whole up to this size; a longer one only in part (enough to see it).
KEPT_LINE_BYTES = 4 * 1024


class HistoryLine(ReadingIn, frozen=True):
    """One import line: a reading as a device sends it, and whose it is."""

    patient: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    device: UUID


class _Whose(msgspec.Struct, frozen=True):
    """The second pass over a line the first could not decode: whose it is, leniently."""

    patient: object = None
    device: object = None


_LINE = msgspec.json.Decoder(HistoryLine)
_WHOSE = msgspec.json.Decoder(_Whose)


# The audit log's entry of each patient an import batch touched (an operator's command).
AUDIT_ACTION = "history.import"
AUDIT_ROLE = "operator"


@dataclass
class Tally:
    """What an import has done so far (``history_report`` shows it)."""

    lines: int = 0
    bytes_read: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    patients: set[UUID] = field(default_factory=set)
    patients_with_new: set[UUID] = field(default_factory=set)
    newest: datetime | None = None
    # Per patient, her newest imported reading: where her history (no alerts) ends.
    newest_of: dict[UUID, datetime] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def refused(self) -> int:
        return sum(self.dead_lettered.values())


@dataclass(frozen=True)
class _Line:
    number: int
    raw: bytes


class _Registry:
    """The centre's patients and devices the file names, looked up a batch at a time."""

    def __init__(self, conn: Conn, health_centre_id: UUID) -> None:
        self._conn = conn
        self._centre = health_centre_id
        self.patients: dict[str, UUID | None] = {}
        self.devices: dict[UUID, Device | None] = {}

    def look_up(self, decoded: Iterable[HistoryLine]) -> None:
        lines = list(decoded)
        references = sorted({d.patient for d in lines} - self.patients.keys())
        if references:
            found = patients_by_reference(self._conn, self._centre, references)
            self.patients.update(
                {ref: found[ref].id if ref in found else None for ref in references}
            )
        device_ids = sorted({d.device for d in lines} - self.devices.keys())
        if device_ids:
            devices = devices_by_id(self._conn, device_ids)
            self.devices.update({d: devices.get(d) for d in device_ids})


def _rejection_at(rejection: Rejection, number: int) -> Rejection:
    """The device path's rejection, its reason saying the line rather than the reading."""
    reason = rejection.reason.replace(f"readings[{number}]", f"line {number}", 1)
    return Rejection(rejection.code, reason, number)


def _undecodable(line: _Line) -> tuple[UUID | None, Rejection]:
    """Why a line the first pass refused cannot be read: the device (if it says one) and the
    rejection, with the device path's codes."""
    n = line.number
    if len(line.raw) > MAX_PAYLOAD_BYTES:
        return None, Rejection(
            "payload_too_large", f"line {n}: longer than {MAX_PAYLOAD_BYTES} bytes", n
        )
    try:
        whose = _WHOSE.decode(line.raw)
    except msgspec.ValidationError:
        return None, Rejection("field_invalid", f"line {n}: must be a JSON object", n)
    except (msgspec.DecodeError, RecursionError) as exc:
        return None, Rejection("not_json", f"line {n}: not JSON: {exc}", n)
    for name, value in (("patient", whose.patient), ("device", whose.device)):
        if value is None:
            return None, Rejection("field_missing", f"line {n}: {name} is missing", n)
    if not isinstance(whose.patient, str) or not 1 <= len(whose.patient) <= 64:
        return None, Rejection(
            "field_invalid", f"line {n}: patient must be a reference of 1-64 characters", n
        )
    try:
        device_id = UUID(str(whose.device))
    except ValueError:
        return None, Rejection("field_invalid", f"line {n}: device must be a device id", n)
    # Whose it is reads; the reading's own fields do not: the device path says which and why.
    outcome = decode_reading(n, line.raw)
    if isinstance(outcome, Rejection):
        return device_id, _rejection_at(outcome, n)
    return device_id, Rejection("field_invalid", f"line {n}: not a reading", n)


def _letter(line: _Line, device_id: UUID | None, rejection: Rejection, now: datetime) -> DeadLetter:
    raw = line.raw
    return DeadLetter(
        received_at=now,
        topic=HISTORY_TOPIC,
        device_id=device_id,
        msg_id=None,
        reading_index=line.number,
        reason_code=rejection.code,
        reason=rejection.reason,
        payload=raw if len(raw) <= KEPT_LINE_BYTES else raw[:KEPT_LINE_BYTES],
        payload_size=len(raw),
        payload_sha256=hashlib.sha256(raw).digest(),
    )


class HistoryImport:
    """One import into one health centre, a batch of lines at a time, on one connection."""

    def __init__(
        self, conn: Conn, health_centre_id: UUID, *, alerts: bool = False, batch: int = BATCH_LINES
    ) -> None:
        self._conn = conn
        self._centre = health_centre_id
        self._registry = _Registry(conn, health_centre_id)
        self._writer = ReadingWriter(conn)
        self._alerts = alerts
        self._batch = batch
        self.tally = Tally()

    def run(
        self, lines: Iterable[bytes], *, progress: Callable[[Tally], None] | None = None
    ) -> Tally:
        """Import every line; ``progress`` is called after each batch."""
        for batch in _batches(lines, self._batch, self.tally):
            # The look-ups and the writer's batch in one transaction, committed per batch.
            with self._conn.transaction():
                self._import(batch)
            if progress is not None:
                progress(self.tally)
        return self.tally

    def _import(self, batch: list[_Line]) -> None:
        now = datetime.now(UTC)
        letters: list[DeadLetter] = []
        decoded: list[tuple[_Line, HistoryLine]] = []
        for line in batch:
            try:
                decoded.append((line, _LINE.decode(line.raw)))
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
                device_id, rejection = _undecodable(line)
                letters.append(_letter(line, device_id, rejection, now))
        self._registry.look_up(d for _, d in decoded)
        by_patient: dict[UUID, list[Reading]] = {}
        for line, d in decoded:
            outcome = self._check(line.number, d, now)
            if isinstance(outcome, Reading):
                by_patient.setdefault(outcome.patient_id, []).append(outcome)
            else:
                letters.append(_letter(line, d.device, outcome, now))
        patients = sorted(by_patient)
        messages = [by_patient[p] for p in patients]
        result = self._writer.write(messages, letters, origin=Origin.IMPORT)
        self._count(patients, messages, result.stored, letters)
        if not self._alerts and patients:
            # In the batch's transaction: no evaluation sees its readings without the mark.
            # Each patient's own newest reading: a live finding of hers after it is news.
            mark_history(self._conn, {p: self.tally.newest_of[p] for p in patients})
        # Each patient the batch touched is in the audit log with the batch's readings.
        audit_log.append(
            self._conn,
            [
                audit_log.AuditEntry(
                    staff_id=None,
                    role=AUDIT_ROLE,
                    action=AUDIT_ACTION,
                    status=200,
                    health_centre_id=self._centre,
                    patient_id=patient_id,
                    object_type="readings",
                    object_id=None,
                    client_address=None,
                )
                for patient_id in patients
            ],
        )

    def _check(self, number: int, line: HistoryLine, now: datetime) -> Reading | Rejection:
        patient_id = self._registry.patients.get(line.patient)
        if patient_id is None:
            return Rejection(
                "patient_unknown", f"line {number}: no patient with this reference here", number
            )
        device = self._registry.devices.get(line.device)
        if device is None:
            return Rejection(
                "device_unknown", f"line {number}: no device is enrolled with this id", number
            )
        if device.patient_id != patient_id:
            return Rejection(
                "device_not_patients",
                f"line {number}: the device is enrolled for another patient",
                number,
            )
        # A deactivated device's history is still the patient's: only its sending is over.
        outcome = check_reading(number, line, device=device, now=now)
        return _rejection_at(outcome, number) if isinstance(outcome, Rejection) else outcome

    def _count(
        self,
        patients: list[UUID],
        messages: list[list[Reading]],
        stored: tuple[int, ...],
        letters: list[DeadLetter],
    ) -> None:
        t = self.tally
        for patient_id, readings, new in zip(patients, messages, stored, strict=True):
            t.patients.add(patient_id)
            if new:
                t.patients_with_new.add(patient_id)
            t.stored += new
            t.duplicates += len(readings) - new
            newest = max(r.measured_at for r in readings)
            t.newest = newest if t.newest is None else max(t.newest, newest)
            known = t.newest_of.get(patient_id)
            t.newest_of[patient_id] = newest if known is None else max(known, newest)
        for letter in letters:
            t.dead_lettered[letter.reason_code] = t.dead_lettered.get(letter.reason_code, 0) + 1


def _batches(lines: Iterable[bytes], size: int, tally: Tally) -> Iterator[list[_Line]]:
    """Numbered non-blank lines, ``size`` at a time; the tally counts every line read."""
    batch: list[_Line] = []
    for number, raw in enumerate(lines, start=1):
        tally.lines = number
        tally.bytes_read += len(raw)
        text = raw.strip()
        if not text:
            continue
        batch.append(_Line(number, text))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
