"""A patient's own way in (``patient_codes``, ``patient_sessions``, migration 0017): one-time
enrolment codes a nurse hands out, exchanged for a session of the patient app.

Only hashes are stored (SHA-256: the code and the session token are random, not passwords a
person chose, so a slow hash adds nothing; the code's exchange is rate limited by the caller).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class PatientSession:
    id: UUID
    patient_id: UUID
    health_centre_id: UUID
    expires_at: datetime


def add_code(
    conn: Conn, patient_id: UUID, code: str, *, created_by: UUID, expires_at: datetime
) -> UUID:
    """Store a new code's hash (the caller's transaction); its id."""
    row = conn.execute(
        query("insert_patient_code"),
        {
            "patient_id": patient_id,
            "code_hash": digest(code),
            "created_by": created_by,
            "expires_at": expires_at,
        },
    ).fetchone()
    if row is None:
        raise LookupError("the code was not stored")
    return UUID(str(row[0]))


def redeem_code(
    conn: Conn, code: str, token: str, *, now: datetime, expires_at: datetime
) -> PatientSession | None:
    """Use the code (once: it is marked used in the same statement) and open a session whose
    cookie holds ``token``; None for a code that is unknown, used, expired, or whose patient
    has been discharged."""
    with conn.cursor(row_factory=class_row(PatientSession)) as cur:
        return cur.execute(
            query("redeem_patient_code"),
            {
                "code_hash": digest(code),
                "token_hash": digest(token),
                "now": now,
                "expires_at": expires_at,
            },
        ).fetchone()


def session_for_token(conn: Conn, token: str, *, now: datetime) -> PatientSession | None:
    """The open session the token belongs to (not expired, not revoked, patient enrolled)."""
    with conn.cursor(row_factory=class_row(PatientSession)) as cur:
        return cur.execute(
            query("patient_session_for_token"), {"token_hash": digest(token), "now": now}
        ).fetchone()


def revoke_session(conn: Conn, session_id: UUID, *, now: datetime) -> None:
    conn.execute(query("revoke_patient_session"), {"id": session_id, "now": now})


def revoke_patient_sessions(conn: Conn, patient_id: UUID, *, now: datetime) -> int:
    """End every open session of the patient (staff: a lost tablet); how many."""
    return conn.execute(
        query("revoke_patient_sessions"), {"patient_id": patient_id, "now": now}
    ).rowcount


def failed_sign_ins(conn: Conn, client_address: str | None, *, action: str, since: datetime) -> int:
    """Refused code exchanges from the address since ``since`` (the audit log keeps them)."""
    row = conn.execute(
        query("failed_patient_sign_ins"),
        {"client_address": client_address, "action": action, "since": since},
    ).fetchone()
    return 0 if row is None else int(row[0])
