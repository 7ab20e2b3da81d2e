"""The clinical commands on one patient: their rules (thresholds show/set/history), pausing
their monitoring, and the alerts the rules would have raised over their readings (backtest)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from hemkoll.rules.config import RuleSet
from hemkoll.rules.configuration import RuleConfigError, change_patient_overrides, effective_for
from hemkoll.rules.overrides import OverrideLayer
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.what_if import alert_as_json, what_if
from hemkoll.settings import Settings
from hemkoll.store import evaluation, rule_overrides
from hemkoll.store.connect import connect


def backtest_command(args: argparse.Namespace, settings: Settings) -> int:
    proposed: RuleSet | None = None
    if args.rules is not None:
        try:
            proposed = RuleSet.model_validate_json(args.rules.read_bytes())
        except (OSError, ValidationError) as exc:
            print(f"hemkoll backtest: {args.rules}: {exc}", file=sys.stderr)
            return 2
    with connect(settings.database_url) as conn:
        try:
            report = what_if(
                conn,
                HEART_FAILURE,
                args.patient,
                proposed=proposed,
                days=args.days,
                until=datetime.now(UTC),
            )
        except RuleConfigError as exc:
            print(f"hemkoll backtest: {exc}", file=sys.stderr)
            return 2
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
    print(f"{report.readings} readings; alerts opened in the last {args.days} days:")
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
        print(
            "hemkoll thresholds set: --overrides, --reason and --by are required", file=sys.stderr
        )
        return 2
    with connect(settings.database_url) as conn:
        if evaluation.patient(conn, args.patient) is None:
            print(f"hemkoll thresholds: no patient {args.patient}", file=sys.stderr)
            return 2
        if args.action == "set":
            try:
                layer = OverrideLayer.model_validate_json(args.overrides.read_bytes())
                version = change_patient_overrides(
                    conn,
                    HEART_FAILURE,
                    args.patient,
                    layer,
                    changed_by=args.by,
                    reason=args.reason,
                )
            except (OSError, ValidationError, RuleConfigError) as exc:
                print(f"hemkoll thresholds set: {exc}", file=sys.stderr)
                return 2
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
        found = evaluation.set_monitoring_paused(conn, args.patient, paused=args.action == "pause")
    if not found:
        print(f"hemkoll monitoring: no patient {args.patient}", file=sys.stderr)
        return 2
    print(f"monitoring {'paused' if args.action == 'pause' else 'resumed'}")
    return 0
