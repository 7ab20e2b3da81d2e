"""``hemkoll enrol-bulk FILE``: the API's bulk enrolment from the operator's shell.

The same file (JSON lines, a JSON array or CSV; docs/api.md, "Bulk enrolment"), checked as a
whole and written in one transaction by the same code as ``POST /health-centres/{id}/enrolments``,
for a health centre named as ``hemkoll enrol`` names it (created if new). Each patient is
printed as a JSON line on stdout, with her NEW devices' one-time MQTT passwords (redirect it to
a file kept safe); a rerun prints every patient unchanged and no password. The counts go to
stderr. Each patient and new device is written to the audit log (no staff: the operator's
shell), with the reason given for an earlier monitoring start.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import orjson

from hemkoll.cli.errors import CommandError
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.settings import Settings
from hemkoll.store import audit_log
from hemkoll.store.connect import connect
from hemkoll.store.enrolment import BulkPatient, enrol_bulk
from hemkoll.store.enrolment_file import FileRefused, Format, format_for, read_file
from hemkoll.store.health_centres import upsert_health_centre

ACTION = "hemkoll enrol-bulk"


def _read(path: Path, fmt: Format | None) -> tuple[bytes, Format]:
    fmt = fmt or format_for(None, path.name)
    if fmt is None:
        raise CommandError(f"{path}: name the format with --format (jsonl, json or csv)")
    try:
        return path.read_bytes(), fmt
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror or exc}") from exc


def _audit(rows: list[BulkPatient], centre_id: UUID) -> list[audit_log.AuditEntry]:
    entries = []
    for p in rows:
        for object_type, object_id, reason in [
            ("patient", p.patient_id, p.reason),
            *(("device", d.id, p.reason) for d in p.devices),
        ]:
            entries.append(
                audit_log.AuditEntry(
                    staff_id=None,
                    role=None,
                    action=ACTION,
                    status=200,
                    health_centre_id=centre_id,
                    patient_id=p.patient_id,
                    object_type=object_type,
                    object_id=str(object_id),
                    client_address=None,
                    reason=reason,
                )
            )
    return entries


def enrol_bulk_command(args: argparse.Namespace, settings: Settings) -> int:
    data, fmt = _read(args.file, args.format)
    with connect(settings.database_url) as conn:
        try:
            with conn.transaction():
                patients = read_file(data, fmt, now=datetime.now(UTC))
                centre = upsert_health_centre(conn, args.health_centre)
                rows = enrol_bulk(
                    conn,
                    health_centre_id=centre.id,
                    default_timezone=centre.timezone,
                    patients=patients,
                )
                audit_log.append(conn, _audit(rows, centre.id))
        except FileRefused as refused:
            lines = [
                f"row {p.row}" + (f" {p.field}" if p.field else "") + f": {p.message}"
                for p in refused.problems
            ]
            raise CommandError(
                f"{args.file}: {len(lines)} problem(s), nothing was written", *lines
            ) from refused
    prefix = settings.mqtt_topic_prefix
    for p in rows:
        out = {
            "row": p.row,
            "reference": p.reference,
            "patient_id": str(p.patient_id),
            "outcome": p.outcome,
            "enrolled_at": p.enrolled_at.isoformat(),
            "devices": [
                {
                    "id": str(d.id),
                    "kind": d.kind,
                    "mqtt_username": str(d.id),
                    "mqtt_password": d.mqtt_password,
                    "readings_topic": readings_topic(prefix, d.id),
                    "feedback_topic": feedback_topic(prefix, d.id),
                }
                for d in p.devices
            ],
        }
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
    counts = {k: sum(p.outcome == k for p in rows) for k in ("created", "unchanged")}
    added = sum(p.outcome == "devices_added" for p in rows)
    devices = sum(len(p.devices) for p in rows)
    print(
        f"{centre.name}: {counts['created']} patients created, {counts['unchanged']} unchanged, "
        f"{added} given new devices; {devices} devices enrolled (their MQTT passwords are "
        "shown only now, on stdout; hemkoll keeps only their hashes)",
        file=sys.stderr,
    )
    return 0
