"""deploy/postgres/roles.sql on the real PostgreSQL: each service's own SQL runs as its role.

The database is set up as deployed: created for hemkoll_owner, migrated by it, then roles.sql.
Every service path below is the service's real code (ReadingWriter, RulesWorker, Dispatcher,
``hemkoll broker-auth``), connected as the service's role; what a role must not do is refused
by PostgreSQL's privileges ("permission denied"), not by luck. The API's own suite (tests/api)
runs every app as hemkoll_api on databases with these grants (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest

from hemkoll.alerts.nurse_actions import resolve
from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.notify.dispatcher import Dispatcher
from hemkoll.rules.alerting import Outcome
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.rules.stays import DISCHARGE_GRACE
from hemkoll.store import (
    audit_log,
    contact_log,
    evaluation_queue,
    hospital_stays,
    notifications,
    staff,
)
from hemkoll.store.connect import connect
from hemkoll.store.devices import devices_by_id
from hemkoll.store.readings import ReadingWriter
from hemkoll.store.types import DeadLetter, Reading
from tests.conftest import ROLES_SQL, apply_roles
from tests.deploy.conftest import OWNER, ROOT, SERVICE_ROLES, DeployedDb
from tests.helpers import PROGRAMME_URGENT, enrol, scalar
from tests.notify.receiver import Receiver
from tests.notify.support import (
    committed_alert,
    dispatcher_config,
    drain,
    new_secret,
    set_endpoint,
    set_escalation,
    state,
)

INGEST, RULES, DISPATCH, API, BROKER_AUTH = SERVICE_ROLES
GRANTEES = [*SERVICE_ROLES, "hemkoll_metrics", "PUBLIC"]
SPO2 = RuleSet(
    name="deploy spo2 v1",
    rules=(ThresholdRule(id="spo2_low", metric="spo2", yellow=Band(low=94), red=Band(low=90)),),
)


def refused(url: str, statement: str) -> None:
    """``statement`` fails on a missing privilege (not on a trigger or a constraint)."""
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
        conn.execute(statement)  # type: ignore[arg-type]
    assert "permission denied" in str(err.value), err.value


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _privileges(url: str) -> set[tuple[str, ...]]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants"
            " WHERE grantee = ANY(%s)",
            (GRANTEES,),
        ).fetchall()
        columns = conn.execute(
            "SELECT grantee, table_name, column_name, privilege_type"
            " FROM information_schema.column_privileges"
            " WHERE grantee = ANY(%s)",
            (GRANTEES,),
        ).fetchall()
    return {tuple(row) for row in tables} | {tuple(row) for row in columns}


def test_every_table_of_the_schema_is_named_in_roles_sql(deployed_db: DeployedDb) -> None:
    text = ROLES_SQL.read_text()
    with psycopg.connect(deployed_db.url()) as conn:
        relations = [
            str(name)
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')"
            )
        ]
    assert len(relations) > 15
    missing = [name for name in relations if not re.search(rf"\b{name}\b", text)]
    assert not missing, f"roles.sql says nothing of {missing}: grant them or name them as owner's"


def test_roles_sql_is_idempotent_and_takes_back_what_it_does_not_grant(
    deployed_db: DeployedDb,
) -> None:
    granted = _privileges(deployed_db.url())
    with psycopg.connect(deployed_db.url(), autocommit=True) as conn:
        conn.execute("GRANT DELETE ON readings TO hemkoll_ingest")
        conn.execute("GRANT UPDATE (credential_hash) ON devices TO hemkoll_api")
        conn.execute("GRANT UPDATE ON audit_log TO hemkoll_api")
    assert _privileges(deployed_db.url()) != granted
    apply_roles(deployed_db.url())
    assert _privileges(deployed_db.url()) == granted


def test_service_roles_cannot_create_or_own(deployed_db: DeployedDb) -> None:
    with psycopg.connect(deployed_db.url()) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles"
            " WHERE rolname = ANY(%s)",
            (list(SERVICE_ROLES),),
        ).fetchall()
    assert len(rows) == len(SERVICE_ROLES)
    assert all(not any(flags) for _, *flags in rows), rows
    for role in SERVICE_ROLES:
        refused(deployed_db.url(role), "CREATE TABLE intruder (x int)")


def test_the_ingest_role_writes_batches_and_nothing_else(deployed_db: DeployedDb) -> None:
    e = enrol(deployed_db.url(OWNER), kind="pulse_oximeter")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    readings = [
        Reading(e.patient.id, e.device.id, "spo2", 97.0 - i, start + timedelta(hours=i))
        for i in range(4)
    ]
    payload = b'{"msg_id": "m2", "readings": "not a list"}'
    letter = DeadLetter(
        received_at=datetime.now(UTC),
        topic=f"hemkoll/v1/devices/{e.device.id}/readings",
        device_id=e.device.id,
        msg_id="m2",
        reading_index=None,
        reason_code="payload_invalid",
        reason="readings: not a list",
        payload=payload,
        payload_size=len(payload),
        payload_sha256=hashlib.sha256(payload).digest(),
    )
    url = deployed_db.url(INGEST)
    with connect(url) as conn:
        assert set(devices_by_id(conn, [e.device.id])) == {e.device.id}
        writer = ReadingWriter(conn, urgent=PROGRAMME_URGENT)
        first = writer.write([readings[:2], readings[2:]], [letter])
        again = writer.write([readings], [letter])  # a redelivery: duplicates, one dead letter
        # A severe reading raises her queue entry's priority (an upsert of that column).
        writer.write(
            [[Reading(e.patient.id, e.device.id, "spo2", 85.0, start + timedelta(hours=5))]], []
        )
    assert first.stored == (2, 2)
    assert again.stored == (0,)
    owner = deployed_db.url(OWNER)
    assert scalar(owner, "SELECT count(*) FROM readings") == 5
    assert scalar(owner, "SELECT sum(n) FROM readings_hourly") == 5
    assert scalar(owner, "SELECT count(*) FROM dead_letters") == 1
    assert scalar(owner, "SELECT count(*) FROM evaluation_queue") == 1
    assert scalar(owner, "SELECT priority FROM evaluation_queue") == 1

    refused(url, "SELECT credential_hash FROM devices")
    refused(url, "SELECT reference FROM patients")
    refused(url, "SELECT value FROM readings")
    refused(url, "DELETE FROM readings")
    refused(url, "UPDATE readings SET value = 0")
    refused(url, "SELECT payload FROM dead_letters")
    refused(url, "SELECT count(*) FROM audit_log")
    refused(url, "UPDATE alerts SET state = 'resolved'")


def _spo2(e_patient: object, e_device: object, values: list[float]) -> list[Reading]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=len(values) + 1)
    return [
        Reading(e_patient, e_device, "spo2", v, start + timedelta(hours=i))  # type: ignore[arg-type]
        for i, v in enumerate(values)
    ]


def test_the_rules_role_evaluates_opens_and_raises_alerts(deployed_db: DeployedDb) -> None:
    e = enrol(deployed_db.url(OWNER), kind="pulse_oximeter")
    ingest, rules, owner = deployed_db.url(INGEST), deployed_db.url(RULES), deployed_db.url(OWNER)
    with connect(ingest) as conn:
        ReadingWriter(conn).write([_spo2(e.patient.id, e.device.id, [97, 93])], [])

    worker = RulesWorker(RulesConfig(rules, SPO2))
    with connect(rules) as conn:
        worker.process_due(conn)
    assert (worker.evaluated, worker.failed) == (1, 0)
    assert scalar(owner, "SELECT severity FROM alerts") == "yellow"

    # A worse reading raises the open alert; a new programme queues the patient again.
    with connect(ingest) as conn:
        later = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        ReadingWriter(conn).write([[Reading(e.patient.id, e.device.id, "spo2", 87, later)]], [])
    with connect(rules) as conn:
        worker.process_due(conn)
        # Only SpO2 is measured: no missing-measurement rule has a deadline.
        assert evaluation_queue.queue_due(conn, now=datetime.now(UTC), limit=10) == 0
        assert evaluation_queue.queue_other_programme(conn, "another programme") == 1
        worker.process_due(conn)
    assert (worker.evaluated, worker.failed) == (3, 0)
    assert scalar(owner, "SELECT severity FROM alerts") == "red"
    assert scalar(owner, "SELECT array_agg(kind ORDER BY id) FROM alert_events") == [
        "opened",
        "severity_raised",
    ]
    assert scalar(owner, "SELECT count(*) FROM notifications WHERE channel = 'care_team'") == 2
    assert scalar(owner, "SELECT count(*) FROM notifications WHERE channel = 'device'") >= 1

    # Acknowledging is the care team's; the rules resolve only a missing-measurement alert the
    # readings disprove (state, resolved_at and outcome, migration 0011).
    refused(rules, "UPDATE alerts SET state = 'acknowledged', acknowledged_at = now()")
    refused(rules, "UPDATE patients SET monitoring_paused_since = now()")
    refused(rules, "SELECT credential_hash FROM devices")
    refused(rules, "SELECT signing_secret FROM health_centres")
    refused(
        rules,
        "INSERT INTO readings (patient_id, device_id, metric, value, measured_at)"
        " SELECT patient_id, device_id, metric, value, measured_at FROM readings",
    )
    refused(rules, "SELECT count(*) FROM audit_log")


def test_the_dispatch_role_claims_sends_records_and_escalates(
    deployed_db: DeployedDb, receiver: Receiver
) -> None:
    owner, dispatch = deployed_db.url(OWNER), deployed_db.url(DISPATCH)
    e = enrol(owner, kind="pulse_oximeter")
    set_endpoint(owner, e.health_centre.id, receiver.url, new_secret())
    set_escalation(
        owner, e.health_centre.id, receiver.url, new_secret(), after=timedelta(minutes=1)
    )
    # Opened as the rules worker would open it, with the rules worker's role.
    alert_id, notification_id = committed_alert(deployed_db.url(RULES), e.patient.id)

    later = datetime.now(UTC) + timedelta(minutes=5)
    dispatcher = Dispatcher(dispatcher_config(dispatch, clock=lambda: later))
    try:
        drain(dispatcher, dispatch, lambda: state(owner, notification_id) == "delivered")
        assert dispatcher.escalate() == 1
        drain(
            dispatcher,
            dispatch,
            lambda: (
                scalar(owner, "SELECT count(*) FROM notifications WHERE state = 'delivered'") == 2
            ),
        )
    finally:
        dispatcher.close()
    assert dispatcher.stats.delivered == 2
    assert scalar(owner, "SELECT count(*) FROM notification_attempts") == 2
    assert scalar(owner, "SELECT escalated_at IS NOT NULL FROM alerts WHERE id = %s", (alert_id,))
    assert len(receiver.requests) == 2
    with connect(dispatch) as conn:
        assert notifications.backlog(conn).pending == 0
    # Retention: once the alert is resolved and its notifications are past the retention, the
    # dispatch role deletes them with their attempts (through the owner's function: it holds
    # no DELETE of its own, below).
    with connect(owner) as conn:
        resolve(conn, alert_id, Outcome.CONTACTED_PATIENT, by="nurse")
    with psycopg.connect(owner) as conn:
        conn.execute("UPDATE notifications SET created_at = now() - interval '100 days'")
    retaining = Dispatcher(dispatcher_config(dispatch))
    try:
        assert retaining.delete_old_notifications() == 2
    finally:
        retaining.close()
    assert scalar(owner, "SELECT count(*) FROM notification_attempts") == 0

    refused(dispatch, "UPDATE alerts SET state = 'acknowledged', acknowledged_at = now()")
    refused(dispatch, "SELECT value FROM readings")
    refused(dispatch, "SELECT credential_hash FROM devices")
    refused(dispatch, "DELETE FROM notifications")
    refused(dispatch, "SELECT count(*) FROM audit_log")


def test_fhir_webhooks_are_rendered_by_the_dispatch_role_without_reading_readings(
    deployed_db: DeployedDb, receiver: Receiver
) -> None:
    """The rules role snapshots the evidence readings into the outbox; the dispatch role, which
    may not read readings, renders and escalates the FHIR Bundle from the outbox alone."""
    owner, rules, dispatch = (
        deployed_db.url(OWNER),
        deployed_db.url(RULES),
        deployed_db.url(DISPATCH),
    )
    e = enrol(owner, kind="pulse_oximeter")
    set_endpoint(owner, e.health_centre.id, receiver.url, new_secret())
    set_escalation(
        owner, e.health_centre.id, receiver.url, new_secret(), after=timedelta(minutes=1)
    )
    with psycopg.connect(owner) as conn:
        conn.execute(
            "UPDATE health_centres SET webhook_format = 'fhir' WHERE id = %s",
            (e.health_centre.id,),
        )
    with connect(deployed_db.url(INGEST)) as conn:
        ReadingWriter(conn).write([_spo2(e.patient.id, e.device.id, [97, 88])], [])
    with connect(rules) as conn:
        RulesWorker(RulesConfig(rules, SPO2)).process_due(conn)
    later = datetime.now(UTC) + timedelta(minutes=5)
    dispatcher = Dispatcher(dispatcher_config(dispatch, clock=lambda: later))
    delivered = (
        "SELECT count(*) FROM notifications WHERE state = 'delivered' AND channel <> 'device'"
    )
    try:
        drain(dispatcher, dispatch, lambda: scalar(owner, delivered) == 1)
        assert dispatcher.escalate() == 1
        drain(dispatcher, dispatch, lambda: scalar(owner, delivered) == 2)
    finally:
        dispatcher.close()
    bodies = [r.body for r in receiver.requests if r.headers["content-type"].endswith("fhir+json")]
    assert len(bodies) == 2
    for body in bodies:
        entries = [entry["resource"]["resourceType"] for entry in orjson.loads(body)["entry"]]
        assert entries == ["Flag", "Observation"]
    refused(dispatch, "SELECT value FROM readings")


def test_the_api_role_appends_and_reads_the_audit_log_but_never_changes_it(
    deployed_db: DeployedDb,
) -> None:
    api = deployed_db.url(API)
    entry = audit_log.AuditEntry(
        staff_id=None,
        role="admin",
        action="GET /api/v1/patients",
        status=200,
        health_centre_id=None,
        patient_id=None,
        object_type=None,
        object_id=None,
        client_address="203.0.113.7",
    )
    with connect(api) as conn, conn.transaction():
        audit_log.append(conn, [entry])
    assert scalar(api, "SELECT count(*) FROM audit_log") == 1
    # Refused by the privileges themselves, before the table's append-only trigger is reached.
    refused(api, "UPDATE audit_log SET status = 500")
    refused(api, "DELETE FROM audit_log")
    refused(api, "TRUNCATE audit_log")
    refused(api, "DELETE FROM alerts")
    # FHIR ingest (POST /fhir/R4) reads a device's hash to check its login and appends
    # readings as ingest does, as the patient app does for her answers; it never changes
    # either.
    refused(api, "UPDATE devices SET credential_hash = ''")
    refused(api, "UPDATE readings SET value = 0")
    refused(api, "DELETE FROM readings")
    refused(api, "DELETE FROM dead_letters")


def test_the_contact_log_is_the_api_roles_to_append_and_read_and_nobodys_to_change(
    deployed_db: DeployedDb,
) -> None:
    e = enrol(deployed_db.url(OWNER), kind="scale")
    api = deployed_db.url(API)
    with connect(deployed_db.url(OWNER)) as conn, conn.transaction():
        author = staff.create_staff(
            conn, name="nurse", role="nurse", health_centre_id=e.patient.health_centre_id
        ).id
    with connect(api) as conn, conn.transaction():
        first = contact_log.add(
            conn, e.patient.id, kind="call_out", text="Ringde, mår bra.", author=author
        )
        contact_log.add(
            conn,
            e.patient.id,
            kind="note",
            text="Rättelse: ringde i går.",
            author=author,
            corrects=first,
        )
        shown = contact_log.entries(conn, e.patient.id)
    assert [entry.kind for entry in shown] == ["note", "call_out"]
    assert shown[1].corrected_by == shown[0].id
    refused(api, "UPDATE contact_log SET text = 'changed'")
    refused(api, "DELETE FROM contact_log")
    refused(api, "TRUNCATE contact_log")
    for role in (INGEST, RULES, DISPATCH, BROKER_AUTH):
        refused(deployed_db.url(role), "SELECT count(*) FROM contact_log")
    # Not even the owner changes an entry: the table's trigger refuses it.
    for statement in ("UPDATE contact_log SET text = 'x'", "DELETE FROM contact_log"):
        with (
            psycopg.connect(deployed_db.url(OWNER)) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
        ):
            conn.execute(statement)  # type: ignore[arg-type]


def test_hospital_stays_are_the_apis_to_record_and_discharge_and_the_rules_to_read(
    deployed_db: DeployedDb,
) -> None:
    e = enrol(deployed_db.url(OWNER), kind="scale")
    api, rules = deployed_db.url(API), deployed_db.url(RULES)
    with connect(deployed_db.url(OWNER)) as conn, conn.transaction():
        nurse = staff.create_staff(
            conn, name="nurse", role="nurse", health_centre_id=e.patient.health_centre_id
        ).id
    now = datetime.now(UTC)
    with connect(api) as conn, conn.transaction():
        stay = hospital_stays.record(
            conn,
            e.patient.id,
            admitted_at=now - timedelta(days=3),
            discharged_at=None,
            note="Avd 12",
            recorded_by=nurse,
        )
        assert hospital_stays.discharge(
            conn, e.patient.id, stay.id, discharged_at=now - timedelta(days=1)
        )
        assert [s.id for s in hospital_stays.stays_of(conn, e.patient.id)] == [stay.id]
    with connect(rules) as conn:
        found = hospital_stays.stays_of_patients(
            conn, [e.patient.id], now - timedelta(days=10), now, grace=DISCHARGE_GRACE
        )
    assert found == {e.patient.id: [(stay.admitted_at, now - timedelta(days=1))]}
    # The discharge is the one thing of a stay the API changes; nobody removes one.
    refused(api, "UPDATE hospital_stays SET admitted_at = admitted_at - interval '1 day'")
    refused(api, "UPDATE hospital_stays SET note = 'changed'")
    refused(api, "DELETE FROM hospital_stays")
    refused(api, "TRUNCATE hospital_stays")
    # The rules read when, never the note, and change nothing.
    refused(rules, "SELECT note FROM hospital_stays")
    refused(rules, "UPDATE hospital_stays SET discharged_at = NULL")
    for role in (INGEST, DISPATCH, BROKER_AUTH):
        refused(deployed_db.url(role), "SELECT count(*) FROM hospital_stays")


def test_broker_auth_reads_the_hashes_as_its_role(deployed_db: DeployedDb, tmp_path: Path) -> None:
    e = enrol(deployed_db.url(OWNER), kind="scale")
    env = {
        **os.environ,
        "HEMKOLL_DATABASE_URL": deployed_db.url(BROKER_AUTH),
        "HEMKOLL_MQTT_URL": "mqtt://hemkoll-ingest:not-a-real-secret@127.0.0.1:1883",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hemkoll",
            "broker-auth",
            "--password-file",
            str(tmp_path / "passwd"),
            "--acl-file",
            str(tmp_path / "acl"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{e.device.id}:$7$" in (tmp_path / "passwd").read_text()
    refused(deployed_db.url(BROKER_AUTH), "SELECT reference FROM patients")
    refused(deployed_db.url(BROKER_AUTH), "SELECT count(*) FROM readings")


@pytest.mark.parametrize("role", [INGEST, RULES, DISPATCH])
def test_every_worker_role_can_sample_the_queues_for_its_metrics(
    deployed_db: DeployedDb, role: str
) -> None:
    backlog = pytest.importorskip("hemkoll.observability.backlog")
    backlog.sample(deployed_db.url(role))


def test_apply_roles_sh_grants_and_sets_passwords_from_the_environment(
    deployed_db: DeployedDb,
) -> None:
    """The script compose's db-roles step and hemkoll-migrate.service run, with psql."""
    awkward = "it's; DROP ROLE hemkoll_api; --"
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGUSER": "postgres",
        "PGDATABASE": deployed_db.name,
        "HEMKOLL_DB_INGEST_PASSWORD": awkward,
        "HEMKOLL_DB_API_PASSWORD": "change-me-api",
    }
    result = subprocess.run(
        ["sh", str(ROOT / "deploy" / "postgres" / "apply-roles.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(deployed_db.url()) as conn:
        rows = dict(
            conn.execute(
                "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid"
                " WHERE rolname IN ('hemkoll_ingest', 'hemkoll_api', 'hemkoll_rules')"
            ).fetchall()
        )
        # The password is the whole quoted string, not SQL: it matches exactly.
        matches = conn.execute(
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid"
            " WHERE rolname = 'hemkoll_ingest'"
        ).fetchone()
    assert rows["hemkoll_ingest"] is True
    assert rows["hemkoll_api"] is True
    assert matches == (True,)


def test_the_api_role_stores_app_answers_as_readings_through_the_batch_writer(
    deployed_db: DeployedDb,
) -> None:
    """The patient app's answers that are readings (docs/patient.md): her app device made,
    the readings written and her queue entry upserted, all as hemkoll_api."""
    from hemkoll.api.access import Session  # noqa: PLC0415
    from hemkoll.api.mitt.answers import as_readings  # noqa: PLC0415

    e = enrol(deployed_db.url(OWNER), kind="scale")
    answers = {"symptom_breathlessness": 1, "symptom_ankle_swelling": 0, "symptom_fatigue": 2}
    with connect(deployed_db.url(API)) as conn, conn.transaction():
        assert (
            as_readings(Session(conn), e.patient.id, answers, datetime.now(UTC), PROGRAMME_URGENT)
            == 3
        )
    with connect(deployed_db.url(API)) as conn, conn.transaction():
        severe = {"self_rated_health": 4, "symptom_breathlessness": 3}
        assert (
            as_readings(Session(conn), e.patient.id, severe, datetime.now(UTC), PROGRAMME_URGENT)
            == 2
        )
    owner = deployed_db.url(OWNER)
    assert scalar(owner, "SELECT count(*) FROM readings") == 5
    assert scalar(owner, "SELECT count(*) FROM devices WHERE kind = 'patient_app'") == 1
    assert scalar(owner, "SELECT count(*) FROM evaluation_queue") == 1
    # The severe answer came with the second request: the upsert raised her priority.
    assert scalar(owner, "SELECT priority FROM evaluation_queue") == 1
