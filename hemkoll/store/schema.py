"""The schema the migrations build on plain PostgreSQL, kept as a snapshot: ``store/schema.sql``.

The snapshot is what ``pg_dump --schema-only --no-owner --no-privileges`` prints for a freshly
migrated database, normalised so that it is the same from run to run and across minor
releases: pg_dump's ``--`` header and table-of-contents comments, its ``SET`` lines and
``set_config`` call, and the ``\\restrict``/``\\unrestrict`` lines of newer pg_dump releases (a
random key each run) are dropped, and runs of blank lines are folded into one.
``tests/test_schema.py`` checks that the migrations build exactly it, so a migration that
changes the schema comes with the snapshot regenerated::

    python -m hemkoll.store.schema [--admin-url URL]

which migrates a scratch database of its own (created and dropped through ``URL``: the tests'
``HEMKOLL_TEST_ADMIN_URL``, by default ``postgresql://postgres@127.0.0.1:5432/postgres``) and
rewrites ``hemkoll/store/schema.sql``. It needs a pg_dump of the server's major version (on
PATH, or Debian's ``/usr/lib/postgresql/<major>/bin``): another one prints other text.

Plain PostgreSQL only. Where TimescaleDB is installed and preloaded the migrations take another
path (``readings`` a hypertable, ``readings_hourly`` a continuous aggregate, other indexes):
that schema differs from this one and is not snapshotted (the test skips on such a server).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hemkoll.store.migrate import migrate

SNAPSHOT = Path(__file__).with_name("schema.sql")
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Lines of pg_dump's output that say how, when and by which release it ran rather than what
# the schema is: its own comments (a function body's comments are indented, and kept), its
# session settings, and the \restrict guard with its random key.
_UNSTABLE = re.compile(
    r"^(--"
    r"|-- (Name|Data for Name|TOC entry|Dumped (from|by)|Started on|Completed on"
    r"|PostgreSQL database dump)\b.*"
    r"|SET [a-z_]+ = .*;"
    r"|SELECT pg_catalog\.set_config\('search_path', '', false\);"
    r"|\\(un)?restrict \S+)$",
    re.MULTILINE,
)


class SchemaDumpError(RuntimeError):
    """The schema cannot be dumped here (no pg_dump of the server's version, a failed dump)."""


def normalise(dump: str) -> str:
    """pg_dump's text without what changes between runs and releases (see the module's doc)."""
    text = _UNSTABLE.sub("", dump)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def find_pg_dump(server_major: int) -> str:
    """A pg_dump of the server's major version, or SchemaDumpError."""
    candidates = [f"/usr/lib/postgresql/{server_major}/bin/pg_dump", shutil.which("pg_dump")]
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        version = subprocess.run(  # noqa: S603 (pg_dump, found on PATH or in Debian's place)
            [candidate, "--version"], check=True, capture_output=True, text=True
        ).stdout
        match = re.search(r"\s(\d+)(?:\.\d+)*", version)
        if match and int(match.group(1)) == server_major:
            return candidate
    raise SchemaDumpError(f"no pg_dump of PostgreSQL {server_major} (tried {candidates})")


def uses_timescaledb(conninfo: str) -> bool:
    """True if the database has TimescaleDB, whose schema the snapshot does not describe."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None


def dump(conninfo: str) -> str:
    """The normalised schema of the database at ``conninfo``."""
    with psycopg.connect(conninfo) as conn:
        server_major = conn.info.server_version // 10000
    pg_dump = find_pg_dump(server_major)
    result = subprocess.run(  # noqa: S603 (pg_dump of the server's version, fixed options)
        [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "--dbname", conninfo],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SchemaDumpError(f"pg_dump failed: {result.stderr.strip()}")
    return normalise(result.stdout)


def build(admin_url: str) -> str:
    """The normalised schema of a scratch database migrated from scratch (then dropped)."""
    name = f"hemkoll_schema_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = make_conninfo(admin_url, dbname=name)
        migrate(url)
        if uses_timescaledb(url):
            raise SchemaDumpError("the server has TimescaleDB: its schema is not snapshotted")
        return dump(url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hemkoll.store.schema",
        description="Regenerate hemkoll/store/schema.sql from the migrations.",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("HEMKOLL_TEST_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL allowed to create databases (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        text = build(args.admin_url)
    except SchemaDumpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    SNAPSHOT.write_text(text, "utf-8")
    print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
