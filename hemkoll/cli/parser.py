"""The ``hemkoll`` command line: every command, its options and the function that runs it."""

from __future__ import annotations

import argparse
from pathlib import Path
from uuid import UUID

from hemkoll.cli import audit_review
from hemkoll.cli.admin import broker_auth_command, enrol_command, migrate_command, token_command
from hemkoll.cli.clinical import backtest_command, monitoring_command, thresholds_command
from hemkoll.cli.enrol_bulk import enrol_bulk_command
from hemkoll.cli.imports import import_history_command
from hemkoll.cli.patient_code import patient_code_command
from hemkoll.cli.services import (
    demo_command,
    dispatch_command,
    ingest_command,
    rules_command,
    serve_command,
)
from hemkoll.demo.clock import DEFAULT_PACE_MINUTES, MIN_PACE_MINUTES
from hemkoll.store.staff import ROLES


def _pace(text: str) -> float | None:
    """``--pace``: minutes per simulated day, or ``realtime`` (None)."""
    if text == "realtime":
        return None
    try:
        minutes = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: minutes per day, or realtime") from None
    if not minutes >= MIN_PACE_MINUTES or minutes == float("inf"):
        raise argparse.ArgumentTypeError(
            f"a simulated day takes at least {MIN_PACE_MINUTES:g} minutes (or realtime)"
        )
    return minutes


def _add_demo_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="run everything with a simulated cohort: embedded PostgreSQL and Mosquitto unless "
        "HEMKOLL_DATABASE_URL / HEMKOLL_MQTT_URL are set, past days replayed fast, then live "
        "(runs until stopped; docs/demo.md)",
    )
    demo.add_argument("--patients", type=int, help="simulated patients (new demo: 50)")
    demo.add_argument("--days", type=int, help="past days replayed fast (new demo: 60)")
    demo.add_argument("--seed", type=int, help="simulation seed (new demo: 1)")
    demo.add_argument(
        "--data-dir",
        type=Path,
        help="where the demo keeps its data (default $XDG_DATA_HOME/hemkoll/demo, "
        "~/.local/share/hemkoll/demo)",
    )
    demo.add_argument(
        "--reset", action="store_true", help="empty the data directory first and start over"
    )
    demo.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    demo.add_argument(
        "--summary-every", type=float, default=5.0, help="seconds between summaries (5)"
    )
    demo.add_argument(
        "--nurse",
        choices=("on", "off"),
        default="on",
        help="on (default): a simulated nurse, with her own token, acknowledges and resolves "
        "each alert; off: nobody but you acts on alerts",
    )
    demo.add_argument(
        "--pace",
        type=_pace,
        default=DEFAULT_PACE_MINUTES,
        metavar="MINUTES|realtime",
        help=f"once live, wall-clock minutes per simulated day (default {DEFAULT_PACE_MINUTES:g}, "
        f"at least {MIN_PACE_MINUTES:g}), or realtime",
    )
    demo.set_defaults(run=demo_command)


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 (a block per command)
    parser = argparse.ArgumentParser(
        prog="hemkoll",
        description="Remote patient self-monitoring backend. Settings come from HEMKOLL_* "
        "environment variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser(
        "migrate", help="create the database if needed and apply pending schema migrations"
    )
    migrate.set_defaults(run=migrate_command)

    ingest = commands.add_parser(
        "ingest", help="receive device readings over MQTT and store them (runs until stopped)"
    )
    ingest.set_defaults(run=ingest_command)

    rules = commands.add_parser(
        "rules",
        help="evaluate patients as readings arrive (and at their deadlines) and raise alerts "
        "(runs until stopped; several may run)",
    )
    rules.set_defaults(run=rules_command)

    replay = commands.add_parser(
        "backtest",
        help="the alerts the current rules, and a proposed rule set, would have raised over a "
        "patient's stored readings",
    )
    replay.add_argument("--patient", type=UUID, required=True, help="patient id")
    replay.add_argument(
        "--rules", type=Path, help="proposed rule set (JSON, as RuleSet.model_dump_json writes)"
    )
    replay.add_argument(
        "--since",
        help="start of the period: a date (the patient's local day) or a time with its UTC "
        "offset; default --days before --until",
    )
    replay.add_argument(
        "--until", help="end of the period (a date: to the end of that day), not in the future"
    )
    replay.add_argument(
        "--days", type=int, help="shorthand for --since: the last days before --until (90)"
    )
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(run=backtest_command)

    thresholds = commands.add_parser(
        "thresholds", help="a patient's effective rules; change them (versioned); their history"
    )
    thresholds.add_argument("action", choices=("show", "set", "history"))
    thresholds.add_argument("--patient", type=UUID, required=True, help="patient id")
    thresholds.add_argument(
        "--overrides", type=Path, help="set: the patient's override layer (JSON)"
    )
    thresholds.add_argument("--reason", default="", help="set: why (required)")
    thresholds.add_argument("--by", default="", help="set: who makes the change (required)")
    thresholds.set_defaults(run=thresholds_command)

    monitoring = commands.add_parser(
        "monitoring",
        help="pause a patient's monitoring (missing-measurement alerts go silent, e.g. on "
        "holiday; a hospital stay is recorded as one: docs/api.md, Hospital stays) or resume it",
    )
    monitoring.add_argument("action", choices=("pause", "resume"))
    monitoring.add_argument("--patient", type=UUID, required=True, help="patient id")
    monitoring.set_defaults(run=monitoring_command)

    code = commands.add_parser(
        "patient-code",
        help="print a one-time enrolment code for the patient app (docs/patient.md), valid a week",
    )
    code.add_argument("--patient", type=UUID, required=True, help="patient id")
    code.add_argument(
        "--staff", type=UUID, required=True, help="id of the member of staff handing it out"
    )
    code.add_argument("--json", action="store_true", help="print JSON")
    code.set_defaults(run=patient_code_command)

    enrol = commands.add_parser(
        "enrol", help="enrol a device for a patient and print its one-time MQTT password"
    )
    enrol.add_argument("--health-centre", required=True, help="health centre name")
    enrol.add_argument(
        "--patient-ref",
        required=True,
        help="the health centre's own pseudonymous patient reference (never a personal number)",
    )
    enrol.add_argument(
        "--device-kind",
        required=True,
        help="scale, blood_pressure_monitor, pulse_oximeter, thermometer, "
        "symptom_questionnaire or gateway",
    )
    enrol.add_argument("--json", action="store_true", help="print JSON")
    enrol.set_defaults(run=enrol_command)

    bulk = commands.add_parser(
        "enrol-bulk",
        help="enrol a file of patients with their devices in one transaction (checked as a "
        "whole; a rerun changes nothing); prints a JSON line per patient with each new "
        "device's one-time MQTT password (docs/api.md, Bulk enrolment)",
    )
    bulk.add_argument(
        "file",
        type=Path,
        help="JSON lines (.jsonl, .ndjson), a JSON array (.json) or CSV (.csv): one patient "
        "per line (CSV: one line per device), with reference, language, timezone, devices "
        "(CSV: device_kind), and monitoring_started_at with a reason for her history",
    )
    bulk.add_argument("--health-centre", required=True, help="health centre name")
    bulk.add_argument(
        "--format", choices=("jsonl", "json", "csv"), help="the file's format (default: its suffix)"
    )
    bulk.set_defaults(run=enrol_bulk_command)
    history = commands.add_parser(
        "import-history",
        help="import a previous system's readings (NDJSON, docs/import.md): checked as the "
        "device path checks them, stored once, refused lines dead-lettered; no alerts for "
        "the past unless --alerts",
    )
    history.add_argument("file", type=Path, help="the NDJSON file (- for stdin)")
    history.add_argument(
        "--health-centre",
        required=True,
        help="the health centre whose patient references the file uses (its name)",
    )
    history.add_argument(
        "--alerts",
        action="store_true",
        help="open alerts for findings in the history as the live path would (default: the "
        "history is backtest material only)",
    )
    history.add_argument(
        "--progress-every", type=float, default=5.0, help="seconds between progress lines (5)"
    )
    history.add_argument("--json", action="store_true", help="print the report as JSON")
    history.set_defaults(run=import_history_command)

    dispatch = commands.add_parser(
        "dispatch",
        help="deliver notifications (signed webhooks to health centres, messages to devices) "
        "and escalate unacknowledged red alerts (runs until stopped; several may run)",
    )
    dispatch.set_defaults(run=dispatch_command)

    serve = commands.add_parser("serve", help="run the care-team API (HTTP, runs until stopped)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies trusted for X-Forwarded-For (default 127.0.0.1)",
    )
    serve.set_defaults(run=serve_command)

    token = commands.add_parser(
        "token", help="create a member of staff with an API bearer token (printed once)"
    )
    token.add_argument("action", choices=("create",))
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument(
        "--health-centre", type=UUID, help="the centre's id (required for nurse and clinician)"
    )
    token.add_argument("--name", default="", help="the person's name (default: the role)")
    token.add_argument(
        "--hsa-id", help="the person's HSA id: she then signs in with the identity provider"
    )
    token.add_argument("--days", type=int, default=30, help="days the token is valid (30)")
    token.add_argument("--json", action="store_true", help="print JSON")
    token.set_defaults(run=token_command)

    _add_demo_parser(commands)
    audit_review.add_parser(commands)

    auth = commands.add_parser(
        "broker-auth",
        help="write Mosquitto's password and ACL files from the device registry",
    )
    auth.add_argument("--password-file", type=Path, required=True)
    auth.add_argument("--acl-file", type=Path, required=True)
    auth.set_defaults(run=broker_auth_command)
    return parser
