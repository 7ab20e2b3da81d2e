"""The operator's commands: the schema (migrate), the registry of devices (enrol) and staff
(token create), and the broker's password and ACL files drawn from it (broker-auth)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

import orjson
import psycopg

from hemkoll.cli.errors import CommandError, NotFound
from hemkoll.ingest.broker_auth import acl_file, password_file, write_atomically
from hemkoll.protocol.topics import feedback_topic, readings_topic
from hemkoll.settings import Settings
from hemkoll.store.connect import connect
from hemkoll.store.credentials import hash_secret
from hemkoll.store.devices import active_device_credentials, enrol_device
from hemkoll.store.migrate import ensure_database, migrate
from hemkoll.store.staff import create_staff, issue_token


def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    ensure_database(settings.database_url)
    applied = migrate(settings.database_url)
    if applied:
        for migration in applied:
            print(f"applied {migration.version:04d}_{migration.name}")
    else:
        print("schema is up to date")
    return 0


def token_command(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings.database_url) as conn:
        try:
            with conn.transaction():
                member = create_staff(
                    conn,
                    name=args.name or args.role,
                    role=args.role,
                    health_centre_id=args.health_centre,
                    hsa_id=args.hsa_id,
                )
                issued = issue_token(
                    conn, member.id, now=datetime.now(UTC), lifetime=timedelta(days=args.days)
                )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise NotFound("health centre", args.health_centre) from exc
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


def enrol_command(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings.database_url) as conn:
        enrolment = enrol_device(
            conn,
            health_centre_name=args.health_centre,
            patient_reference=args.patient_ref,
            device_kind=args.device_kind,
        )
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


def broker_auth_command(args: argparse.Namespace, settings: Settings) -> int:
    endpoint = settings.mqtt
    if not endpoint.username or not endpoint.password:
        raise CommandError(
            "HEMKOLL_MQTT_URL must carry the ingest service's user and password "
            "(mqtt://user:password@host:port)"
        )
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
