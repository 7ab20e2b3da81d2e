"""Forward-only numbered SQL migrations.

Each ``migrations/NNNN_name.sql`` file runs in its own transaction and is recorded in
``schema_migrations`` with its checksum. A second run applies nothing; two concurrent runs are
serialised by a session-level advisory lock, and the second one finds the work done. A migration
that was applied and whose file has since changed is an error: migrations are never edited, a new
one is added.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger(__name__)

# Arbitrary but fixed: the key every hemkoll process agrees on for "a migration is running".
MIGRATION_LOCK_KEY = 0x68656D6B6F6C6C  # "hemkoll" in ASCII

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The database's migration history does not match the migration files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def available_migrations() -> list[Migration]:
    folder = resources.files("hemkoll.store") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match["version"]), match["name"], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1..N without gaps, found {versions}")
    return found


def migrate(conninfo: str) -> list[Migration]:
    """Apply every migration not yet applied; return the ones this call applied."""
    migrations = available_migrations()
    applied_now: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(_CREATE_LEDGER)
            rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
            done = {int(version): str(checksum) for version, checksum in rows}
            for migration in migrations:
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed "
                            "after it was applied; add a new migration instead"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                log.info("applied migration %04d_%s", migration.version, migration.name)
                applied_now.append(migration)
            unknown = sorted(set(done) - {m.version for m in migrations})
            if unknown:
                raise MigrationError(
                    f"database has migrations {unknown} that this version of hemkoll does not "
                    "know: it is older than the schema"
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def ensure_database(conninfo: str) -> bool:
    """Create the database named in ``conninfo`` if it does not exist; True if it was created."""
    params = conninfo_to_dict(conninfo)
    dbname = str(params.get("dbname") or "")
    if not dbname:
        return False
    try:
        psycopg.connect(conninfo).close()
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    else:
        return False
    maintenance = make_conninfo(conninfo, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            return False
    log.info("created database %s", dbname)
    return True
