"""Migrations build the schema the code expects, once, even when run twice at the same time."""

from __future__ import annotations

import dataclasses
import difflib
import re
import threading

import psycopg
import pytest

from hemkoll.protocol.measurements import METRICS, METRICS_BY_DEVICE_KIND
from hemkoll.store import migrate as migrate_module
from hemkoll.store import schema
from hemkoll.store.contact_log import ContactEntry
from hemkoll.store.hospital_stays import HospitalStay
from hemkoll.store.migrate import Migration, MigrationError, available_migrations, migrate
from hemkoll.store.patient_list import PatientListRow
from hemkoll.store.patients import PatientByReference
from hemkoll.store.sql import parse_blocks, query, query_names
from hemkoll.store.types import (
    APP_DEVICE_KIND,
    DEVICE_KINDS,
    Device,
    DeviceCredential,
    HealthCentre,
    Patient,
)
from hemkoll.store.worklist_filters import RuleCount

# %(name)s, or %(name)b for a parameter sent in binary.
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sb]")

# Named statements whose rows are read into these dataclasses.
ROW_TYPES = {
    "upsert_health_centre": HealthCentre,
    "upsert_patient": Patient,
    "insert_device": Device,
    "deactivate_device": Device,
    "devices_by_id": Device,
    "active_device_credentials": DeviceCredential,
    "patient_list": PatientListRow,
    "worklist_rules": RuleCount,
    "contact_entries": ContactEntry,
    "patients_by_reference": PatientByReference,
    "contact_entry": ContactEntry,
    "insert_hospital_stay": HospitalStay,
    "hospital_stay_clash": HospitalStay,
    "discharge_hospital_stay": HospitalStay,
    "hospital_stays_of_patient": HospitalStay,
    "hospital_stay": HospitalStay,
}


def _positional(sql_text: str) -> str:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PLACEHOLDER.sub(number, sql_text)


def test_every_named_statement_prepares_against_the_migrated_schema(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(query("create_readings_staging"))
        for name in query_names():
            if name.startswith("copy_"):
                continue
            text = _positional(query(name)).encode()
            result = conn.pgconn.prepare(name.encode(), text)
            assert result.error_message == b"", (name, result.error_message)
            if name in ROW_TYPES:
                described = conn.pgconn.describe_prepared(name.encode())
                columns = [described.fname(i).decode() for i in range(described.nfields)]  # type: ignore[union-attr]
                fields = [f.name for f in dataclasses.fields(ROW_TYPES[name])]
                assert columns == fields, name


def test_tables_and_columns_other_tools_rely_on(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        columns = {
            (table, column)
            for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public'"
            )
        }
    for column in ("patient_id", "device_id", "metric", "value", "measured_at"):
        assert ("readings", column) in columns
    for column in ("reason_code", "reason", "topic", "received_at"):
        assert ("dead_letters", column) in columns
    for table in ("health_centres", "patients", "devices"):
        assert (table, "id") in columns


def test_metrics_table_matches_the_protocol(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT metric, canonical_unit, loinc FROM metrics").fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        m.name: (m.canonical_unit, m.loinc) for m in METRICS.values()
    }


def test_device_kinds_agree_everywhere(db_url: str) -> None:
    # The patient app is a device kind hemkoll makes (her answers' device), never enrolled.
    kinds = {*DEVICE_KINDS, APP_DEVICE_KIND}
    assert kinds == set(METRICS_BY_DEVICE_KIND)
    with psycopg.connect(db_url) as conn:
        check = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'devices'::regclass AND conname = 'devices_kind_check'"
        ).fetchone()
    assert check is not None
    assert set(re.findall(r"'(\w+)'", check[0])) == kinds


def test_plain_postgresql_path_without_timescaledb(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        has_extension = conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'readings'").fetchone()
    assert has_extension == (0,)
    assert kind == ("r",)


def test_readings_has_one_index_its_key_which_serves_the_reads(db_url: str) -> None:
    """0008: the primary key (patient_id, metric, measured_at, device_id) is the only index;
    a patient's metric over a time range is read off it."""
    with psycopg.connect(db_url) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'readings'"
        ).fetchall()
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT value FROM readings"
            " WHERE patient_id = '00000000-0000-0000-0000-000000000001'"
            " AND metric = 'body_weight' AND measured_at >= now() - interval '7 days'"
            " ORDER BY measured_at DESC"
        ).fetchall()
    assert [name for name, _ in indexes] == ["readings_pkey"]
    assert "(patient_id, metric, measured_at, device_id)" in indexes[0][1]
    assert "Index Scan Backward using readings_pkey" in "\n".join(row[0] for row in plan)


def test_second_run_is_a_no_op(empty_db_url: str) -> None:
    first = migrate(empty_db_url)
    assert [m.version for m in first] == [m.version for m in available_migrations()]
    assert migrate(empty_db_url) == []


def test_concurrent_runs_apply_each_migration_once(empty_db_url: str) -> None:
    results: list[list[Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(empty_db_url))
        except BaseException as exc:  # noqa: BLE001 (the assertion below reports it)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, len(available_migrations())]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (
            len(available_migrations()),
        )


def test_an_edited_migration_is_refused(empty_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(empty_db_url)
    edited = [
        dataclasses.replace(m, sql=m.sql + "\n-- edited") if m.version == 1 else m
        for m in available_migrations()
    ]
    monkeypatch.setattr(migrate_module, "available_migrations", lambda: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(empty_db_url)


def test_sql_blocks_parse_and_reject_mistakes() -> None:
    assert parse_blocks("-- name: a\nSELECT 1;\n-- name: b\nSELECT 2;", source="x") == {
        "a": "SELECT 1;",
        "b": "SELECT 2;",
    }
    with pytest.raises(ValueError, match="defined twice"):
        parse_blocks("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;", source="x")
    with pytest.raises(ValueError, match="is empty"):
        parse_blocks("-- name: a\n\n-- name: b\nSELECT 2;", source="x")
    with pytest.raises(ValueError, match="outside"):
        parse_blocks("SELECT 1;", source="x")


def test_the_migrations_build_the_schema_snapshot(db_url: str) -> None:
    """store/schema.sql is what the migrations build; regenerate: python -m hemkoll.store.schema"""
    if schema.uses_timescaledb(db_url):
        pytest.skip("TimescaleDB: the migrations build another schema, which is not snapshotted")
    built = schema.dump(db_url)
    snapshot = schema.SNAPSHOT.read_text("utf-8")
    diff = "".join(
        difflib.unified_diff(
            snapshot.splitlines(keepends=True),
            built.splitlines(keepends=True),
            "hemkoll/store/schema.sql",
            "built by the migrations",
        )
    )
    assert built == snapshot, (
        f"the migrations no longer build store/schema.sql; if that is meant, regenerate it with "
        f"python -m hemkoll.store.schema\n{diff[:6000]}"
    )


def test_schema_dump_is_normalised_to_what_does_not_change_between_runs() -> None:
    def dump(key: str, version: str) -> str:
        return (
            f"--\n-- PostgreSQL database dump\n--\n\n\\restrict {key}\n\n"
            f"-- Dumped from database version {version}\n-- Dumped by pg_dump version {version}\n\n"
            "SET statement_timeout = 0;\n"
            "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
            "--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\n"
            "CREATE TABLE public.t (\n    id integer NOT NULL\n);\n\n\n"
            "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    AS $$\n"
            "    -- a comment of the function's own\n    SELECT 1\n$$;\n\n"
            f"--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict {key}\n\n"
        )

    first = schema.normalise(dump("Ab3xK", "15.14 (Debian 15.14-0+deb12u1)"))
    assert first == schema.normalise(dump("Zz9Qr", "15.20 (Debian 15.20-0+deb12u1)"))
    assert first == (
        "CREATE TABLE public.t (\n    id integer NOT NULL\n);\n\n"
        "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    AS $$\n"
        "    -- a comment of the function's own\n    SELECT 1\n$$;\n"
    )
