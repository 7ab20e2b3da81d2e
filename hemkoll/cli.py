"""The ``hemkoll`` command: builds the settings once and hands each command what it needs."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from uuid import UUID

import orjson
import psycopg
from pydantic import ValidationError

from hemkoll.ingest.broker_auth import acl_file, password_file, write_atomically
from hemkoll.ingest.protocol import feedback_topic, readings_topic
from hemkoll.ingest.service import GIL_SWITCH_INTERVAL_S, IngestConfig, IngestService
from hemkoll.observability.backlog import BacklogSampler
from hemkoll.observability.health import Heartbeat
from hemkoll.observability.server import MetricsServer
from hemkoll.rules.config import RuleSet
from hemkoll.rules.configuration import RuleConfigError, change_patient_overrides, effective_for
from hemkoll.rules.overrides import OverrideLayer
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.what_if import alert_as_json, what_if
from hemkoll.rules.worker import RulesConfig, RulesWorker
from hemkoll.settings import Settings
from hemkoll.store import patients, rule_overrides
from hemkoll.store.connect import connect
from hemkoll.store.credentials import hash_secret
from hemkoll.store.devices import active_device_credentials, enrol_device
from hemkoll.store.migrate import ensure_database, migrate
from hemkoll.store.patients import RegistryError
from hemkoll.store.staff import ROLES, StaffError, create_staff, issue_token

log = logging.getLogger("hemkoll")

Command = Callable[[argparse.Namespace, Settings], int]


def _run_until_signalled(
    run: Callable[[], None],
    stop: Callable[[], None],
    doing: str,
    *,
    settings: Settings,
    heartbeat: Heartbeat | None = None,
) -> int:
    """Run a long-lived service; SIGTERM or SIGINT asks it to stop after the work in hand.

    With ``HEMKOLL_METRICS_PORT`` set, ``/metrics`` and ``/healthz`` (the service's heartbeat)
    are served beside it, and the database-wide queues are sampled into gauges.
    """

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; %s", signal.Signals(signum).name, doing)
        stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if settings.metrics_port is None or heartbeat is None:
        run()
        return 0
    server = MetricsServer(settings.metrics_host, settings.metrics_port, heartbeat)
    sampler = BacklogSampler(settings.database_url)
    server.start()
    sampler.start()
    log.info("metrics on http://%s:%d/metrics", settings.metrics_host, server.port)
    try:
        run()
    finally:
        sampler.stop()
        server.stop()
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:

    ensure_database(settings.database_url)
    applied = migrate(settings.database_url)
    if applied:
        for migration in applied:
            print(f"applied {migration.version:04d}_{migration.name}")
    else:
        print("schema is up to date")
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    service = IngestService(
        IngestConfig(
            database_url=settings.database_url,
            mqtt=settings.mqtt,
            topic_prefix=settings.mqtt_topic_prefix,
            client_id=settings.mqtt_client_id,
            ca_file=settings.mqtt_ca_file,
            share_group=settings.ingest_share_group,
        )
    )

    return _run_until_signalled(
        service.run,
        service.stop,
        "finishing the batches in hand",
        settings=settings,
        heartbeat=service.heartbeat,
    )


def _rules(args: argparse.Namespace, settings: Settings) -> int:
    worker = RulesWorker(RulesConfig(database_url=settings.database_url, rule_set=HEART_FAILURE))
    return _run_until_signalled(
        worker.run,
        worker.stop,
        "finishing the patient in hand",
        settings=settings,
        heartbeat=worker.heartbeat,
    )


def _backtest(args: argparse.Namespace, settings: Settings) -> int:
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


def _thresholds(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "set" and not (args.overrides and args.reason and args.by):
        print(
            "hemkoll thresholds set: --overrides, --reason and --by are required", file=sys.stderr
        )
        return 2
    with connect(settings.database_url) as conn:
        if patients.patient(conn, args.patient) is None:
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


def _monitoring(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings.database_url) as conn:
        found = patients.set_monitoring_paused(conn, args.patient, paused=args.action == "pause")
    if not found:
        print(f"hemkoll monitoring: no patient {args.patient}", file=sys.stderr)
        return 2
    print(f"monitoring {'paused' if args.action == 'pause' else 'resumed'}")
    return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from hemkoll.api.notify.dispatcher import Dispatcher, DispatcherConfig  # noqa: PLC0415

    dispatcher = Dispatcher(
        DispatcherConfig(
            database_url=settings.database_url,
            mqtt=settings.mqtt,
            topic_prefix=settings.mqtt_topic_prefix,
            mqtt_client_id=settings.dispatch_client_id,
            public_url=settings.public_url,
            ca_file=settings.mqtt_ca_file,
        )
    )
    return _run_until_signalled(
        dispatcher.run,
        dispatcher.stop,
        "finishing the sends in flight",
        settings=settings,
        heartbeat=dispatcher.heartbeat,
    )


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn  # noqa: PLC0415 (only this command needs the ASGI server)

    from hemkoll.api.app import ApiConfig, create_app  # noqa: PLC0415

    app = create_app(
        ApiConfig(
            database_url=settings.database_url,
            programme=HEART_FAILURE,
            public_url=settings.public_url,
            topic_prefix=settings.mqtt_topic_prefix,
        )
    )
    # uvicorn handles SIGINT/SIGTERM itself: it stops accepting, finishes requests, closes
    # the pool in the lifespan. Behind a reverse proxy, pass its address in --forwarded-allow-ips
    # so that the audit log records the client's address rather than the proxy's.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=False,
    )
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings.database_url) as conn:
        try:
            with conn.transaction():
                member = create_staff(
                    conn, name=args.name, role=args.role, health_centre_id=args.health_centre
                )
                issued = issue_token(
                    conn, member.id, now=datetime.now(UTC), lifetime=timedelta(days=args.days)
                )
        except StaffError as exc:
            print(f"hemkoll token create: {exc}", file=sys.stderr)
            return 2
        except psycopg.errors.ForeignKeyViolation:
            print(f"hemkoll token create: no health centre {args.health_centre}", file=sys.stderr)
            return 2
    if args.json:
        out = {
            "staff_id": str(member.id),
            "role": member.role,
            "health_centre_id": None if args.health_centre is None else str(args.health_centre),
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat(),
        }
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    else:
        print(issued.token)
        print(
            f"(staff {member.id}, {member.role}, expires {issued.expires_at:%Y-%m-%d}; shown "
            "only now, hemkoll keeps only its hash)",
            file=sys.stderr,
        )
    return 0


def _enrol(args: argparse.Namespace, settings: Settings) -> int:

    with connect(settings.database_url) as conn:
        try:
            enrolment = enrol_device(
                conn,
                health_centre_name=args.health_centre,
                patient_reference=args.patient_ref,
                device_kind=args.device_kind,
            )
        except RegistryError as exc:
            print(f"hemkoll enrol: {exc}", file=sys.stderr)
            return 2
    prefix = settings.mqtt_topic_prefix
    device_id = enrolment.device.id
    out = {
        "health_centre_id": str(enrolment.health_centre.id),
        "patient_id": str(enrolment.patient.id),
        "device_id": str(device_id),
        "device_kind": enrolment.device.kind,
        "mqtt_username": str(device_id),
        "mqtt_password": enrolment.mqtt_password,
        "readings_topic": readings_topic(prefix, device_id),
        "feedback_topic": feedback_topic(prefix, device_id),
    }
    if args.json:
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    else:
        width = max(len(key) for key in out)
        for key, value in out.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
        print("\nThe MQTT password is shown only now; hemkoll keeps only its hash.")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from hemkoll.demo.command import run_command  # noqa: PLC0415 (only this command)

    return run_command(args, settings)


def _broker_auth(args: argparse.Namespace, settings: Settings) -> int:

    endpoint = settings.mqtt
    if not endpoint.username or not endpoint.password:
        print(
            "hemkoll broker-auth: HEMKOLL_MQTT_URL must carry the ingest service's user and "
            "password (mqtt://user:password@host:port)",
            file=sys.stderr,
        )
        return 2
    with connect(settings.database_url) as conn:
        devices = active_device_credentials(conn)
    service_users = {endpoint.username: hash_secret(endpoint.password)}
    write_atomically(args.password_file, password_file(devices, service_users))
    write_atomically(args.acl_file, acl_file(settings.mqtt_topic_prefix, endpoint.username))
    print(
        f"wrote {len(devices)} devices to {args.password_file} and the ACL to {args.acl_file}; "
        "send the broker SIGHUP to reload them"
    )
    return 0


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
    demo.set_defaults(run=_demo)


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
    migrate.set_defaults(run=_migrate)

    ingest = commands.add_parser(
        "ingest", help="receive device readings over MQTT and store them (runs until stopped)"
    )
    ingest.set_defaults(run=_ingest)

    rules = commands.add_parser(
        "rules",
        help="evaluate patients as readings arrive (and every 15 min) and raise alerts "
        "(runs until stopped; several may run)",
    )
    rules.set_defaults(run=_rules)

    replay = commands.add_parser(
        "backtest",
        help="the alerts the current rules, and a proposed rule set, would have raised over a "
        "patient's stored readings",
    )
    replay.add_argument("--patient", type=UUID, required=True, help="patient id")
    replay.add_argument(
        "--rules", type=Path, help="proposed rule set (JSON, as RuleSet.model_dump_json writes)"
    )
    replay.add_argument("--days", type=int, default=90, help="period shown (default 90)")
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.set_defaults(run=_backtest)

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
    thresholds.set_defaults(run=_thresholds)

    monitoring = commands.add_parser(
        "monitoring",
        help="pause a patient's monitoring (missing-measurement alerts go silent, e.g. during "
        "a hospital stay) or resume it",
    )
    monitoring.add_argument("action", choices=("pause", "resume"))
    monitoring.add_argument("--patient", type=UUID, required=True, help="patient id")
    monitoring.set_defaults(run=_monitoring)

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
    enrol.set_defaults(run=_enrol)

    dispatch = commands.add_parser(
        "dispatch",
        help="deliver notifications (signed webhooks to health centres, messages to devices) "
        "and escalate unacknowledged red alerts (runs until stopped; several may run)",
    )
    dispatch.set_defaults(run=_dispatch)

    serve = commands.add_parser("serve", help="run the care-team API (HTTP, runs until stopped)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies trusted for X-Forwarded-For (default 127.0.0.1)",
    )
    serve.set_defaults(run=_serve)

    token = commands.add_parser(
        "token", help="create a member of staff with an API bearer token (printed once)"
    )
    token.add_argument("action", choices=("create",))
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument(
        "--health-centre", type=UUID, help="the centre's id (required for nurse and clinician)"
    )
    token.add_argument("--name", default="", help="the person's name (default: the role)")
    token.add_argument("--days", type=int, default=30, help="days the token is valid (30)")
    token.add_argument("--json", action="store_true", help="print JSON")
    token.set_defaults(run=_token)

    _add_demo_parser(commands)

    auth = commands.add_parser(
        "broker-auth",
        help="write Mosquitto's password and ACL files from the device registry",
    )
    auth.add_argument("--password-file", type=Path, required=True)
    auth.add_argument("--acl-file", type=Path, required=True)
    auth.set_defaults(run=_broker_auth)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            print(f"hemkoll: setting HEMKOLL_{field.upper()}: {error['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "token" and not args.name:
        args.name = args.role
    run: Command = args.run
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
