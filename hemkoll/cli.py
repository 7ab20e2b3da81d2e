"""The ``hemkoll`` command: builds the settings once and hands each command what it needs."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import orjson
from pydantic import ValidationError

from hemkoll.ingest.broker_auth import acl_file, password_file, write_atomically
from hemkoll.ingest.protocol import feedback_topic, readings_topic
from hemkoll.ingest.service import IngestConfig, IngestService
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.worker import RulesConfig, RulesWorker
from hemkoll.settings import Settings
from hemkoll.store.connect import connect
from hemkoll.store.credentials import hash_secret
from hemkoll.store.migrate import ensure_database, migrate
from hemkoll.store.registry import RegistryError, active_device_credentials, enrol_device

log = logging.getLogger("hemkoll")

Command = Callable[[argparse.Namespace, Settings], int]


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

    service = IngestService(
        IngestConfig(
            database_url=settings.database_url,
            mqtt=settings.mqtt,
            topic_prefix=settings.mqtt_topic_prefix,
            client_id=settings.mqtt_client_id,
            ca_file=settings.mqtt_ca_file,
        )
    )

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; finishing the current batch", signal.Signals(signum).name)
        service.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    service.run()
    return 0


def _rules(args: argparse.Namespace, settings: Settings) -> int:
    worker = RulesWorker(RulesConfig(database_url=settings.database_url, rule_set=HEART_FAILURE))

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; finishing the patient in hand", signal.Signals(signum).name)
        worker.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker.run()
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


def build_parser() -> argparse.ArgumentParser:
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
    run: Command = args.run
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
