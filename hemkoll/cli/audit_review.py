"""``hemkoll audit review``: the access-log review from the command line (the console's
review page does the same for administrators; docs/operations.md, "Access-log review and
retention").

It prints a selection of the audit log over a period (one row per access, or per emergency
access), and with ``--record FINDING --by NAME`` records the review of exactly the rows it
printed. Dates are ISO dates in Stockholm time, the last one included.
"""

from __future__ import annotations

import argparse
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from hemkoll.cli.errors import CommandError
from hemkoll.settings import Settings
from hemkoll.store import access_review
from hemkoll.store.access_review import FINDINGS, KINDS, ReviewError, Selection
from hemkoll.store.connect import connect

TZ = ZoneInfo("Europe/Stockholm")
# Reviews are made monthly: the last 30 days unless asked otherwise.
DEFAULT_DAYS = 30
# A random sample's size unless asked otherwise: a sitting's worth of rows to read.
DEFAULT_SAMPLE = 20
# The other selections print at most this many rows (a review of more is split by period).
MAX_ROWS = 1000


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit", help="review the access log (HSLF-FS 2016:40 ch. 4) and record the review"
    )
    audit.add_argument("action", choices=("review",))
    audit.add_argument("kind", choices=[k.replace("_", "-") for k in KINDS])
    audit.add_argument("--health-centre", type=UUID, help="only this care unit's rows")
    audit.add_argument("--from", dest="since", type=date.fromisoformat, help="first day")
    audit.add_argument("--until", type=date.fromisoformat, help="last day (default today)")
    audit.add_argument("--staff", type=UUID, help="the member of staff (kind user)")
    audit.add_argument("--size", type=int, help=f"random sample size ({DEFAULT_SAMPLE})")
    audit.add_argument("--seed", help="draw the same random sample again")
    audit.add_argument("--record", choices=FINDINGS, help="record the review with this finding")
    audit.add_argument("--note", help="what was found (required unless no_remark)")
    audit.add_argument("--by", help="the reviewer's name (with --record)")
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(run=audit_review_command)


def _selection(args: argparse.Namespace) -> Selection:
    kind = args.kind.replace("-", "_")
    last = args.until or datetime.now(UTC).astimezone(TZ).date()
    first = args.since or last - timedelta(days=DEFAULT_DAYS - 1)
    return Selection(
        kind=kind,
        since=datetime.combine(first, time(0), TZ),
        until=datetime.combine(last + timedelta(days=1), time(0), TZ),
        health_centre_id=args.health_centre,
        staff_id=args.staff,
        size=args.size or (DEFAULT_SAMPLE if kind == "random" else MAX_ROWS),
        seed=args.seed or secrets.token_hex(8),
    )


def _print(rows: list[dict[str, Any]], selection: Selection, as_json: bool) -> None:
    if as_json:
        out = {"kind": selection.kind, "seed": selection.seed, "rows": rows}
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        print("  ".join("-" if v is None else str(v) for v in row.values()))
    print(f"({len(rows)} rows; {selection.kind}, seed {selection.seed})")


def audit_review_command(args: argparse.Namespace, settings: Settings) -> int:
    selection = _selection(args)
    if args.record and not (args.by or "").strip():
        raise CommandError("--record needs --by NAME (who reviewed)")
    with connect(settings.database_url) as conn:
        try:
            with conn.transaction():
                if selection.kind == "emergency":
                    found = access_review.emergency_accesses(conn, selection)
                    rows = [
                        {
                            "emergency_access_id": str(e.id),
                            "started_at": e.started_at.isoformat(),
                            "staff": e.staff_name,
                            "patient_reference": e.patient_reference,
                            "reason": e.reason,
                            "accesses": len(e.audit_ids),
                            "reviewed_at": e.reviewed_at and e.reviewed_at.isoformat(),
                        }
                        for e in found
                    ]
                    audit_ids = [i for e in found for i in e.audit_ids]
                    emergency_ids = [e.id for e in found]
                else:
                    accesses = access_review.accesses(conn, selection)
                    rows = [
                        {
                            "audit_id": a.id,
                            "at": a.at.isoformat(),
                            "staff": a.staff_name,
                            "role": a.role,
                            "care_unit": a.health_centre_name,
                            "patient_reference": a.patient_reference,
                            "action": a.action,
                            "status": a.status,
                            "basis": a.access_basis,
                        }
                        for a in accesses
                    ]
                    audit_ids, emergency_ids = [a.id for a in accesses], []
                _print(rows, selection, args.json)
                if args.record:
                    review = access_review.record_review(
                        conn,
                        selection,
                        reviewed_by=None,
                        reviewer_name=args.by,
                        audit_ids=audit_ids,
                        emergency_ids=emergency_ids,
                        finding=args.record,
                        note=args.note,
                        now=datetime.now(UTC),
                    )
                    print(f"review {review.id} recorded ({review.finding})")
        except ReviewError as exc:
            raise CommandError(str(exc)) from exc
    return 0
