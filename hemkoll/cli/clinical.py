"""The clinical commands on one patient: their rules (thresholds show/set/history), pausing
their monitoring, and the alerts the rules would have raised over their readings (backtest)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from hemkoll.alerts.backtest_period import PeriodError, parse_bound
from hemkoll.alerts.configuration import change_patient_overrides, effective_for
from hemkoll.alerts.what_if import alert_as_json, what_if
from hemkoll.cli.errors import CommandError, InputFileError, NotFound
from hemkoll.rules.config import RuleSet
from hemkoll.rules.overrides import OverrideLayer
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.settings import Settings
from hemkoll.store import patients, rule_overrides
from hemkoll.store.connect import connect

Document = TypeVar("Document", bound=BaseModel)


def _read(path: Path, document: type[Document]) -> Document:
    try:
        return document.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise InputFileError(path, exc) from exc


def backtest_command(args: argparse.Namespace, settings: Settings) -> int:
    proposed = None if args.rules is None else _read(args.rules, RuleSet)
    try:
        since = None if args.since is None else parse_bound("--since", args.since)
        until = None if args.until is None else parse_bound("--until", args.until)
        with connect(settings.database_url) as conn:
            report = what_if(
                conn,
                HEART_FAILURE,
                args.patient,
                proposed=proposed,
                now=datetime.now(UTC),
                since=since,
                until=until,
                days=args.days,
            )
    except PeriodError as exc:
        field = exc.field if exc.field.startswith("--") else f"--{exc.field}"
        raise CommandError(f"{field}: {exc.message}") from exc
    results = {report.current.name: report.current_alerts}
    if report.proposed is not None:
        results[report.proposed.name] = report.proposed_alerts
    if args.json:
        print(
            orjson.dumps(
                {
                    "patient_id": str(args.patient),
                    "from": report.since.isoformat(),
                    "until": report.until.isoformat(),
                    "readings": report.readings,
                    "rule_sets": {
                        name: [alert_as_json(a) for a in alerts] for name, alerts in results.items()
                    },
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
        return 0
    print(
        f"{report.readings} readings; alerts opened from {report.since:%Y-%m-%d %H:%M} "
        f"until {report.until:%Y-%m-%d %H:%M} UTC:"
    )
    for name, alerts in results.items():
        print(f"\n{name}: {len(alerts)} alerts")
        for a in alerts:
            severity = a.severity if not a.raises else f"{a.severity}->{a.final_severity}"
            print(
                f"  {a.opened_at:%Y-%m-%d %H:%M} UTC  {a.rule_id:<28} {severity:<12} "
                f"{a.opening.explanation_en}"
            )
    return 0


def thresholds_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "set" and not (args.overrides and args.reason and args.by):
        raise CommandError("--overrides, --reason and --by are required")
    with connect(settings.database_url) as conn:
        if patients.patient(conn, args.patient) is None:
            raise NotFound("patient", args.patient)
        if args.action == "set":
            version = change_patient_overrides(
                conn,
                HEART_FAILURE,
                args.patient,
                _read(args.overrides, OverrideLayer),
                changed_by=args.by,
                reason=args.reason,
            )
            print(f"stored the patient's overrides as version {version}")
            return 0
        if args.action == "history":
            changes = [
                {
                    "version": c.version,
                    "changed_at": c.changed_at.isoformat(),
                    "changed_by": c.changed_by,
                    "reason": c.reason,
                    "old": c.previous_layer,
                    "new": c.layer,
                }
                for c in rule_overrides.history(conn, args.patient)
            ]
            print(orjson.dumps(changes, option=orjson.OPT_INDENT_2).decode())
            return 0
        versions = rule_overrides.current_overrides(conn, args.patient)
    effective = effective_for(HEART_FAILURE, versions)
    print(effective.model_dump_json(indent=2))
    return 0


def monitoring_command(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings.database_url) as conn:
        found = patients.set_monitoring_paused(conn, args.patient, paused=args.action == "pause")
    if not found:
        raise NotFound("patient", args.patient)
    print(f"monitoring {'paused' if args.action == 'pause' else 'resumed'}")
    return 0
