"""A bulk enrolment file, read and checked as a whole: patients with their devices, one problem
per row and field, before anything is written (``enrolment.enrol_bulk`` writes it).

Formats (docs/api.md, "Bulk enrolment"):

* ``jsonl``: one JSON object per line, a patient with her devices (``devices``: a list of
  kinds); row n is line n (blank lines are skipped but counted).
* ``json``: a JSON array of the same objects; row n is the n-th element.
* ``csv``: a header line, then one line per device with the patient's columns repeated
  (``device_kind`` empty: a patient without devices); row n is line n, the header line 1.

The fields: ``reference`` (required), ``language`` (sv, en; default sv), ``timezone`` (IANA;
default the centre's), ``monitoring_started_at`` (an earlier monitoring start, with its UTC
offset) and ``reason`` (required with it), ``devices`` / ``device_kind``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from hemkoll.store.patients import RegistryError, check_monitoring_start, check_reference
from hemkoll.store.types import DEVICE_KINDS

Format = Literal["jsonl", "json", "csv"]

# One file enrols at most this many patients (a programme of a few thousand; bigger ones are
# split into several files, each its own transaction). 1,000 patients with four devices each
# are about 100 KiB of JSON lines, well inside the API's 1 MiB body limit.
MAX_PATIENTS = 5000
# Each patient names at most this many devices.
MAX_DEVICES_PER_PATIENT = 16
# At most this many problems are listed (with a count of all of them).
MAX_PROBLEMS_LISTED = 200

_FIELDS = frozenset(
    {"reference", "language", "timezone", "monitoring_started_at", "reason", "devices"}
)
_CSV_FIELDS = (_FIELDS - {"devices"}) | {"device_kind"}


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str | None
    message: str


@dataclass(frozen=True)
class FilePatient:
    """A patient of the file, with the devices she is to have (kinds, with repeats)."""

    row: int
    reference: str
    language: str
    timezone: str | None
    monitoring_started_at: datetime | None
    reason: str | None
    devices: tuple[str, ...]


class FileRefused(ValueError):
    """The file has problems; nothing of it is to be written."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        first = problems[0]
        where = f"row {first.row}" + (f" {first.field}" if first.field else "")
        super().__init__(
            f"{len(problems)} problem(s) in the file, nothing was written; {where}: {first.message}"
        )


def format_for(content_type: str | None, filename: str | None = None) -> Format | None:
    """The file's format, from a media type (API) or a file name's suffix (CLI)."""
    if filename is not None:
        suffixes: dict[str, Format] = {"jsonl": "jsonl", "ndjson": "jsonl", "json": "json"}
        suffixes["csv"] = "csv"
        return suffixes.get(filename.rsplit(".", 1)[-1].lower())
    media = (content_type or "").split(";", 1)[0].strip().lower()
    found: dict[str, Format] = {
        "application/json": "json",
        "application/x-ndjson": "jsonl",
        "application/jsonl": "jsonl",
        "application/jsonlines": "jsonl",
        "text/csv": "csv",
    }
    return found.get(media)


Records = Iterator[tuple[int, dict[str, Any] | str]]


def _records(data: bytes, fmt: Format) -> Records:
    """(row, the row's fields) or (row, why it is not a record)."""
    if fmt == "csv":
        return _csv_records(data)
    if fmt == "json":
        return _json_records(data)
    return _jsonl_records(data)


def _csv_records(data: bytes) -> Records:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield 1, "the file is not UTF-8"
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
        if set(header) - _CSV_FIELDS or "reference" not in header:
            yield 1, f"header: needs reference, may have {', '.join(sorted(_CSV_FIELDS))}"
            return
        for fields in reader:
            if None in fields:
                yield reader.line_num, "more values than header columns"
                continue
            yield reader.line_num, {k: v for k, v in fields.items() if v not in ("", None)}
    except csv.Error as exc:
        yield reader.line_num, f"not CSV: {exc}"


def _json_records(data: bytes) -> Records:
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError:
        yield 1, "the body is not JSON"
        return
    if not isinstance(items, list):
        yield 1, "the body is not a JSON array of patients"
        return
    for row, item in enumerate(items, start=1):
        yield row, item if isinstance(item, dict) else "not a JSON object"


def _jsonl_records(data: bytes) -> Records:
    for row, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield row, "not a JSON object (one per line)"
            continue
        yield row, item if isinstance(item, dict) else "not a JSON object"


def _text(fields: dict[str, Any], name: str, problems: list[RowProblem], row: int) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(RowProblem(row, name, "must be a string"))
        return None
    return value


def _patient(row: int, fields: dict[str, Any], devices: list[str], now: datetime) -> FilePatient:
    """One row's patient, checked; ``FileRefused`` with a problem per field at fault."""
    problems: list[RowProblem] = []
    reference = _text(fields, "reference", problems, row)
    if reference is None and not problems:
        problems.append(RowProblem(row, "reference", "required"))
    elif reference is not None:
        try:
            check_reference(reference)
        except RegistryError as exc:
            problems.append(RowProblem(row, "reference", str(exc)))
    language = _text(fields, "language", problems, row) or "sv"
    if language not in {"sv", "en"}:
        problems.append(RowProblem(row, "language", "must be sv or en"))
    timezone = _text(fields, "timezone", problems, row)
    if timezone is not None and not _known_timezone(timezone):
        problems.append(RowProblem(row, "timezone", f"unknown IANA time zone {timezone!r}"))
    started_text = _text(fields, "monitoring_started_at", problems, row)
    started: datetime | None = None
    if started_text is not None:
        try:
            started = datetime.fromisoformat(started_text)
        except ValueError:
            problems.append(
                RowProblem(row, "monitoring_started_at", "not an ISO 8601 date and time")
            )
    reason = _text(fields, "reason", problems, row)
    problems.extend(_device_problems(row, devices))
    if not problems:
        try:
            reason = check_monitoring_start(started, reason, now=now)
        except RegistryError as exc:
            name, _, message = str(exc).partition(": ")
            problems.append(RowProblem(row, name, message))
    if problems or reference is None:
        raise FileRefused(problems)
    return FilePatient(row, reference, language, timezone, started, reason, tuple(devices))


def _known_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _device_problems(row: int, devices: list[str]) -> list[RowProblem]:
    problems = [
        RowProblem(row, "devices", f"unknown kind {kind!r}; one of {', '.join(DEVICE_KINDS)}")
        for kind in devices
        if kind not in DEVICE_KINDS
    ]
    if len(devices) > MAX_DEVICES_PER_PATIENT:
        problems.append(RowProblem(row, "devices", f"at most {MAX_DEVICES_PER_PATIENT}"))
    return problems


def _devices(row: int, fields: dict[str, Any], fmt: Format) -> list[str] | RowProblem:
    if fmt == "csv":
        kind = fields.pop("device_kind", None)
        return [] if kind is None else [kind]
    value = fields.pop("devices", [])
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        return RowProblem(row, "devices", "must be a list of device kinds")
    return value


def read_file(data: bytes, fmt: Format, *, now: datetime) -> list[FilePatient]:
    """The file's patients, in file order; ``FileRefused`` with every row's problems."""
    problems: list[RowProblem] = []
    by_reference: dict[str, FilePatient] = {}
    for row, record in _records(data, fmt):
        if isinstance(record, str):
            problems.append(RowProblem(row, None, record))
            continue
        unknown = sorted(set(record) - (_CSV_FIELDS if fmt == "csv" else _FIELDS))
        if unknown:
            problems.append(RowProblem(row, unknown[0], "unknown field"))
            continue
        devices = _devices(row, record, fmt)
        if isinstance(devices, RowProblem):
            problems.append(devices)
            continue
        try:
            patient = _patient(row, record, devices, now)
        except FileRefused as refused:
            problems.extend(refused.problems)
            continue
        earlier = by_reference.get(patient.reference)
        if earlier is None:
            by_reference[patient.reference] = patient
        elif fmt == "csv" and _same_patient(earlier, patient):
            if len(earlier.devices) + len(patient.devices) > MAX_DEVICES_PER_PATIENT:
                # One device a CSV line: the limit counts the patient's lines together.
                problems.append(
                    RowProblem(row, "device_kind", f"at most {MAX_DEVICES_PER_PATIENT} a patient")
                )
                continue
            by_reference[patient.reference] = FilePatient(
                earlier.row,
                earlier.reference,
                earlier.language,
                earlier.timezone,
                earlier.monitoring_started_at,
                earlier.reason,
                earlier.devices + patient.devices,
            )
        else:
            problems.append(
                RowProblem(
                    row,
                    "reference",
                    f"{patient.reference!r} is already in row {earlier.row}"
                    + (" with other patient columns" if fmt == "csv" else ""),
                )
            )
        if len(by_reference) > MAX_PATIENTS:
            raise FileRefused([RowProblem(row, None, f"at most {MAX_PATIENTS} patients a file")])
    if problems:
        raise FileRefused(problems)
    if not by_reference:
        raise FileRefused([RowProblem(1, None, "the file names no patients")])
    return list(by_reference.values())


def _same_patient(a: FilePatient, b: FilePatient) -> bool:
    return (a.language, a.timezone, a.monitoring_started_at, a.reason) == (
        b.language,
        b.timezone,
        b.monitoring_started_at,
        b.reason,
    )
