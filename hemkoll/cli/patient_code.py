"""``hemkoll patient-code``: a one-time enrolment code for a patient's app, printed once (to
give her on paper), made in the name of the member of staff handing it out."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import orjson

from hemkoll.api.mitt.access import MITT, issue_code
from hemkoll.cli.errors import NotFound
from hemkoll.settings import Settings
from hemkoll.store import audit_log, patients, staff
from hemkoll.store.connect import connect


def patient_code_command(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings.database_url) as conn, conn.transaction():
        member = staff.staff_by_id(conn, args.staff)
        if member is None or not member.active:
            raise NotFound("member of staff", args.staff)
        # Only for a patient of the member's own centre (a region's administrator: any).
        patient = patients.patient_in_scope(
            conn, args.patient, health_centre_id=member.health_centre_id
        )
        if patient is None:
            raise NotFound("patient", args.patient)
        issued = issue_code(conn, patient.id, created_by=member.id, now=datetime.now(UTC))
        audit_log.append(
            conn,
            [
                audit_log.AuditEntry(
                    staff_id=member.id,
                    role=member.role,
                    action="cli patient-code",
                    status=201,
                    health_centre_id=patient.health_centre_id,
                    patient_id=patient.id,
                    object_type="patient_code",
                    object_id=str(issued.id),
                    client_address=None,
                )
            ],
        )
    url = f"{settings.public_url.rstrip('/')}{MITT}/sign-in"
    if args.json:
        out = {"code": issued.code, "expires_at": issued.expires_at.isoformat(), "url": url}
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    else:
        print(f"Kod / code: {issued.code}")
        print(f"Logga in på / sign in at: {url}")
        print(f"Gäller en gång, till / works once, until: {issued.expires_at:%Y-%m-%d %H:%M} UTC")
    return 0
