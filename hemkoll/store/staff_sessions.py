"""Console sessions opened by the OpenID Connect provider, and the sign-ins under way.

A sign-in under way is kept server-side (state hash, nonce, PKCE verifier) until its callback
takes it, once. A session is a random token in the console's cookie; only its SHA-256 is kept
(as for API tokens), with the care unit and purpose of the assignment it was opened under.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query
from hemkoll.store.staff import Staff, token_digest

# A console session token: "hs_" and 256 random bits, so that it is never taken for an API
# token ("hk_") and cannot be guessed.
SESSION_PREFIX = "hs_"
SESSION_BYTES = 32


@dataclass(frozen=True)
class PendingSignIn:
    nonce: str
    code_verifier: str
    next_page: str | None
    expires_at: datetime


@dataclass(frozen=True)
class OpenedSession:
    id: UUID
    token: str


@dataclass(frozen=True)
class CentreHsa:
    hsa_id: str
    id: UUID


def start_sign_in(
    conn: Conn,
    *,
    state: str,
    nonce: str,
    code_verifier: str,
    next_page: str | None,
    now: datetime,
    lifetime: timedelta,
) -> None:
    conn.execute(query("delete_expired_oidc_sign_ins"), {"now": now})
    conn.execute(
        query("insert_oidc_sign_in"),
        {
            "state_sha256": token_digest(state),
            "nonce": nonce,
            "code_verifier": code_verifier,
            "next_page": next_page,
            "now": now,
            "expires_at": now + lifetime,
        },
    )


def take_sign_in(conn: Conn, state: str, *, now: datetime) -> PendingSignIn | None:
    """The sign-in of ``state``, once; None if unknown, already used or expired."""
    with conn.cursor(row_factory=class_row(PendingSignIn)) as cur:
        row = cur.execute(
            query("take_oidc_sign_in"), {"state_sha256": token_digest(state)}
        ).fetchone()
    if row is None or row.expires_at <= now:
        return None
    return row


def staff_by_hsa_id(conn: Conn, hsa_id: str) -> Staff | None:
    with conn.cursor(row_factory=class_row(Staff)) as cur:
        return cur.execute(query("staff_by_hsa_id"), {"hsa_id": hsa_id}).fetchone()


def centres_by_hsa_ids(conn: Conn, hsa_ids: list[str]) -> dict[str, UUID]:
    with conn.cursor(row_factory=class_row(CentreHsa)) as cur:
        rows = cur.execute(query("centres_by_hsa_ids"), {"hsa_ids": hsa_ids}).fetchall()
    return {row.hsa_id: row.id for row in rows}


def open_session(
    conn: Conn,
    *,
    staff_id: UUID,
    health_centre_id: UUID | None,
    assignment_hsa_id: str | None,
    purpose: str,
    issuer: str,
    subject: str,
    now: datetime,
    lifetime: timedelta,
) -> OpenedSession:
    token = SESSION_PREFIX + secrets.token_urlsafe(SESSION_BYTES)
    row = conn.execute(
        query("insert_staff_session"),
        {
            "staff_id": staff_id,
            "token_sha256": token_digest(token),
            "health_centre_id": health_centre_id,
            "assignment_hsa_id": assignment_hsa_id,
            "purpose": purpose,
            "issuer": issuer,
            "subject": subject,
            "now": now,
            "expires_at": now + lifetime,
        },
    ).fetchone()
    if row is None:
        raise RuntimeError("insert_staff_session returned no row")
    return OpenedSession(row[0], token)


def staff_for_session(conn: Conn, token: str, *, now: datetime) -> Staff | None:
    """The active member of staff of a valid session token (scoped to its care unit)."""
    if not token.startswith(SESSION_PREFIX) or len(token) > 100:
        return None
    with conn.cursor(row_factory=class_row(Staff)) as cur:
        return cur.execute(
            query("staff_for_session"), {"token_sha256": token_digest(token), "now": now}
        ).fetchone()


def revoke_session(conn: Conn, token: str, *, now: datetime) -> bool:
    return (
        conn.execute(
            query("revoke_staff_session"), {"token_sha256": token_digest(token), "now": now}
        ).fetchone()
        is not None
    )


def revoke_sessions(conn: Conn, staff_id: UUID, *, now: datetime) -> int:
    return len(
        conn.execute(query("revoke_staff_sessions"), {"staff_id": staff_id, "now": now}).fetchall()
    )
