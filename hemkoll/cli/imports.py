"""``hemkoll import-history``: a previous system's readings, imported (docs/import.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

import orjson

from hemkoll.cli.errors import CommandError
from hemkoll.ingest.history import HistoryImport
from hemkoll.ingest.history_report import Progress, Report
from hemkoll.settings import Settings
from hemkoll.store.connect import Conn, connect
from hemkoll.store.health_centres import list_centres


def _centre(conn: Conn, name: str) -> UUID:
    for centre in list_centres(conn, health_centre_id=None):
        if centre.name == name:
            conn.commit()
            return centre.id
    raise CommandError(f"no health centre named {name!r}")


def _open(path: Path) -> tuple[BinaryIO, int | None]:
    if str(path) == "-":
        return sys.stdin.buffer, None
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from exc
    size = path.stat().st_size if path.is_file() else None
    return handle, size


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        yield from handle


def import_history_command(args: argparse.Namespace, settings: Settings) -> int:
    handle, size = _open(args.file)
    with connect(settings.database_url) as conn:
        centre = _centre(conn, args.health_centre)
        importer = HistoryImport(conn, centre, alerts=args.alerts)
        progress = Progress(
            lambda line: print(f"import-history: {line}", file=sys.stderr, flush=True),
            size_bytes=size,
            every_s=args.progress_every,
        )
        tally = importer.run(_lines(handle), progress=progress)
    report = Report.of(tally, alerts=args.alerts)
    if args.json:
        print(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(report.as_text())
    return 0
