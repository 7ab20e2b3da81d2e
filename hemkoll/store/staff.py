"""Staff and their API bearer tokens (kept only as SHA-256 of the token)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from hemkoll.store.connect import Conn
from hemkoll.store.sql import query

Role = Literal["admin", "clinician", "nurse"]
ROLES: tuple[Role, ...] = get_args(Role)
# A token is "hk_" and 256 random bits (base64url): unguessable, so a fast hash is enough to
# keep a stolen table from being a list of working tokens.
TOKEN_PREFIX = "hk_"  # noqa: S105 (a prefix, not a secret)
TOKEN_BYTES = 32
# A token's life unless asked otherwise: long enough for a shift pattern's worth of sign-ins,
# short enough that a forgotten token stops working (an OIDC provider would replace this).
DEFAULT_TOKEN_LIFETIME = timedelta(days=30)
# What migration 0021 lets staff.hsa_id hold.
HSA_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class Staff:
    id: UUID
    name: str
    role: str
    health_centre_id: UUID | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """A new token: shown once; only its hash is stored."""

    id: UUID
    staff_id: UUID
    created_at: datetime
    expires_at: datetime
    token: str = ""


class StaffError(ValueError):
    """A staff request that cannot be carried out, with the reason."""


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def create_staff(
    conn: Conn,
    *,
    name: str,
    role: str,
    health_centre_id: UUID | None,
    hsa_id: str | None = None,
) -> Staff:
    """A new member of staff; ``hsa_id``: her HSA id, by which the identity provider's
    sign-in finds her (docs/operations.md, "Staff sign-in")."""
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role != "admin" and health_centre_id is None:
        raise StaffError(f"a {role} belongs to a health centre; give its id")
    if not name.strip() or len(name) > 200:
        raise StaffError("staff name must be 1-200 characters")
    if hsa_id is not None and not HSA_ID.fullmatch(hsa_id):
        raise StaffError("an HSA id is 1-64 letters, digits and hyphens (e.g. SE2321000016-1234)")
    params = {"name": name, "role": role, "health_centre_id": health_centre_id, "hsa_id": hsa_id}
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(Staff)) as cur:
            row = cur.execute(query("insert_staff"), params).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise StaffError(f"HSA id {hsa_id} belongs to another member of staff") from exc
    if row is None:
        raise RuntimeError("insert_staff returned no row")
    return row


def issue_token(
    conn: Conn, staff_id: UUID, *, now: datetime, lifetime: timedelta = DEFAULT_TOKEN_LIFETIME
) -> IssuedToken:
    if lifetime <= timedelta(0):
        raise StaffError("a token must be valid for some time: give a positive number of days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    with conn.cursor(row_factory=class_row(IssuedToken)) as cur:
        row = cur.execute(
            query("insert_api_token"),
            {
                "staff_id": staff_id,
                "token_sha256": token_digest(token),
                "expires_at": now + lifetime,
            },
        ).fetchone()
    if row is None:
        raise RuntimeError("insert_api_token returned no row")
    return IssuedToken(row.id, row.staff_id, row.created_at, row.expires_at, token)


def staff_for_token(conn: Conn, token: str) -> Staff | None:
    """The active staff member of a valid token, or None (unknown, expired or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    with conn.cursor(row_factory=class_row(Staff)) as cur:
        return cur.execute(
            query("staff_for_token"), {"token_sha256": token_digest(token)}
        ).fetchone()


def staff_by_id(conn: Conn, staff_id: UUID) -> Staff | None:
    with conn.cursor(row_factory=class_row(Staff)) as cur:
        return cur.execute(query("staff_by_id"), {"staff_id": staff_id}).fetchone()


def list_staff(conn: Conn, *, health_centre_id: UUID | None) -> list[Staff]:
    with conn.cursor(row_factory=class_row(Staff)) as cur:
        return cur.execute(query("list_staff"), {"health_centre_id": health_centre_id}).fetchall()


def revoke_tokens(conn: Conn, staff_id: UUID) -> int:
    return len(conn.execute(query("revoke_api_tokens"), {"staff_id": staff_id}).fetchall())


def deactivate_staff(conn: Conn, staff_id: UUID) -> Staff | None:
    with conn.cursor(row_factory=class_row(Staff)) as cur:
        return cur.execute(query("deactivate_staff"), {"staff_id": staff_id}).fetchone()
