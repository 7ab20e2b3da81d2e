"""``hemkoll demo`` live, end to end: after the replay the simulated days go on at ``--pace``
(new readings arrive, none from the future), the simulated nurse acts as a staff member of her
own, never with the visitor's token, the missing-measurement reminders at go-live are only for
patients whose simulation really stopped measuring, and ``--nurse off`` leaves alerts alone."""

from __future__ import annotations

import hashlib
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
import psycopg
import pytest

from hemkoll.demo.cohort import NURSE_NAME, SIMULATED_NURSE_NAME
from hemkoll.demo.state import LIVE_DAYS
from hemkoll.local_services.postgres import EmbeddedPostgres
from hemkoll.protocol.payload import MAX_CLOCK_AHEAD_S
from hemkoll.rules.preset import BP_SILENCE_HOURS, WEIGHT_SILENCE_HOURS
from hemkoll.simulator import simulate
from hemkoll.simulator.encoding import FAULT_NONE
from tests.demo.support import READY_TIMEOUT_S, SETTLE_TIMEOUT_S, Demo

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

# The fastest pace: a simulated day every 30 s, so two mornings' rounds come within the test.
PACE = "0.5"
# Long enough for the nurse (resolves 60 s after a notification) and two simulated days.
LIVE_TIMEOUT_S = 150.0
# Missing-measurement rules: their metric (the simulator's metric index) and silence.
MISSING = {"weight_missing_48h": (0, WEIGHT_SILENCE_HOURS), "bp_missing_72h": (1, BP_SILENCE_HOURS)}


def _published(line: str) -> int:
    found = re.search(r"live \(([\d,]+) messages\)", line)
    return int(found[1].replace(",", "")) if found else -1


def _silent_in_simulation(state: dict[str, object], at: datetime) -> dict[str, set[str]]:
    """Per missing rule, the patients from whom nothing measured in its window had arrived by
    ``at``: the simulation measured nothing then, or its device still held the readings (a
    backlog sent later) or sent them in a malformed message (dead-lettered, never stored)."""
    start = date.fromisoformat(str(state["start"]))
    days = int(str(state["days"]))
    sim = simulate(
        int(str(state["patients"])), days + LIVE_DAYS, seed=int(str(state["seed"])), start=start
    )
    plan = sim.plan
    arrived = np.flatnonzero((plan.publish_at <= int(at.timestamp())) & (plan.fault == FAULT_NONE))
    counts = plan.reading_count[arrived].astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    delivered = np.repeat(plan.reading_start[arrived] - offsets[:-1], counts) + np.arange(
        offsets[-1]
    )
    r = plan.readings
    out: dict[str, set[str]] = {}
    for rule_id, (metric, hours) in MISSING.items():
        since = int((at - timedelta(hours=hours)).timestamp())
        measured = r.measured_at[delivered]
        seen = set(
            r.patient[delivered][
                (r.metric[delivered] == metric)
                & (measured >= since)
                & (measured <= int(at.timestamp()))
            ].tolist()
        )
        out[rule_id] = {ref for i, ref in enumerate(plan.references) if i not in seen}
    return out


@pytest.mark.long
def test_live_pace_own_nurse_and_reminders_only_for_the_silent(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    demo = Demo(data, "--patients", "10", "--days", "14", "--seed", "1", "--pace", PACE)
    try:
        demo.read_until(r"^ready:", READY_TIMEOUT_S)
        assert demo.read_until(r"sim\. nurse\s+on .*\"Simulated nurse\".*token of her own", 1)
        assert demo.read_until(r"live\s+a simulated day every 0\.5 min", 1)
        token = demo.read_until(r"nurse token\s+hk_", 1).split()[2]
        api = demo.read_until(r"API docs\s+http://", 1).split()[2].removesuffix("/docs")
        done = demo.read_until(r"^replay done", SETTLE_TIMEOUT_S)
        went_live = datetime.now(UTC)
        at_go_live = max(_published(line) for line in demo.lines)
        # The visitor acts with her token: a comment on an alert (or at least the worklist);
        # the replay's nurse resolved the replayed alerts within four simulated hours, so the
        # visitor comments on one she finds resolved as readily as on an open one.
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + LIVE_TIMEOUT_S
        commented = None
        while time.monotonic() < deadline:
            demo.pump(3)
            listed = httpx.get(
                f"{api}/api/v1/alerts",
                headers=headers,
                params={"state": ["open", "acknowledged", "resolved"]},
                timeout=10,
            ).json()["alerts"]
            if commented is None and listed:
                commented = listed[0]["id"]
                answer = httpx.post(
                    f"{api}/api/v1/alerts/{commented}/comments",
                    headers=headers,
                    json={"text": "the visitor was here"},
                    timeout=10,
                )
                assert answer.status_code == 200, answer.text
            last = next(line for line in reversed(demo.lines) if line.startswith("["))
            # Wait for the simulated nurse's own resolution: the line's "resolved" also counts
            # reminders the rules resolved when a reading arrived.
            current = data / "summary.json"
            nurse = orjson.loads(current.read_bytes())["nurse"] if current.exists() else None
            if nurse and nurse["resolved"] > 0 and _published(last) > at_go_live + 20:
                break
        stopped_at = datetime.now(UTC)
    finally:
        code, err = demo.interrupt()
    assert code == 0, err
    assert "replay done" in done
    live_lines = [_published(line) for line in demo.lines if "live (" in line]
    assert max(live_lines) > at_go_live + 20, "no new messages arrived in live mode"
    assert commented is not None, "no open alert to comment on"

    state = orjson.loads((data / "state.json").read_bytes())
    summary = orjson.loads((data / "summary.json").read_bytes())
    pg = EmbeddedPostgres(data)
    pg.start()
    try:
        with psycopg.connect(pg.url()) as conn:
            staff = dict(conn.execute("SELECT name, id FROM staff").fetchall())
            visitor, nurse = staff[NURSE_NAME], staff[SIMULATED_NURSE_NAME]
            holder = conn.execute(
                "SELECT staff_id FROM api_tokens WHERE token_sha256 = %s",
                (hashlib.sha256(token.encode()).digest(),),
            ).fetchone()
            actors = conn.execute(
                "SELECT kind, actor, count(*) FROM alert_events "
                "WHERE kind IN ('acknowledged', 'resolved', 'commented') GROUP BY 1, 2"
            ).fetchall()
            audit = conn.execute(
                "SELECT staff_id, action, count(*) FROM audit_log WHERE staff_id IS NOT NULL "
                "GROUP BY 1, 2"
            ).fetchall()
            live_readings = conn.execute(
                "SELECT count(*), max(measured_at) FROM readings WHERE measured_at > %s",
                (went_live,),
            ).fetchone()
            future = conn.execute(
                "SELECT count(*) FROM dead_letters WHERE reason_code = 'measured_at_future'"
            ).fetchone()
            missing = conn.execute(
                "SELECT a.rule_id, p.reference, a.opened_at FROM alerts a "
                "JOIN patients p ON p.id = a.patient_id WHERE a.rule_id = ANY(%s)",
                (list(MISSING),),
            ).fetchall()
            stored_in_window = {
                (rule_id, ref): conn.execute(
                    "SELECT count(*) FROM readings r JOIN patients p ON p.id = r.patient_id "
                    "WHERE p.reference = %s AND r.metric = %s AND r.measured_at > %s "
                    "AND r.measured_at <= %s",
                    (
                        ref,
                        "body_weight" if MISSING[rule_id][0] == 0 else "systolic_bp",
                        opened - timedelta(hours=MISSING[rule_id][1]),
                        opened,
                    ),
                ).fetchone()
                for rule_id, ref, opened in missing
            }
    finally:
        pg.stop()

    # The printed token is the visitor's; the simulated nurse's actions are hers alone.
    assert holder == (visitor,)
    assert visitor != nurse
    by = {(kind, actor): n for kind, actor, n in actors}
    assert by.get(("commented", f"staff:{visitor}")) == 1
    assert by.get(("resolved", f"staff:{nurse}"), 0) >= 1
    assert not [k for k, actor in by if actor == f"staff:{visitor}" and k != "commented"]
    assert not [k for k, actor in by if actor == f"staff:{nurse}" and k == "commented"]
    actions = {(staff_id, action) for staff_id, action, _ in audit}
    nurse_actions = {a for s, a in actions if s == nurse}
    visitor_actions = {a for s, a in actions if s == visitor}
    assert any("resolve" in a for a in nurse_actions), actions
    assert any("comment" in a for a in visitor_actions), actions
    assert not [a for a in visitor_actions if "acknowledge" in a or "resolve" in a], actions
    assert not [a for a in nurse_actions if "comment" in a], actions
    assert summary["nurse"]["resolved"] >= 1

    # Live readings arrived, stamped no later than the wall clock allowed.
    assert live_readings is not None
    assert live_readings[0] > 0
    assert live_readings[1] <= stopped_at + timedelta(seconds=MAX_CLOCK_AHEAD_S)
    assert future == (0,)

    # Missing-measurement alerts: never while a reading of the window is stored, and only for
    # patients whose simulation measured nothing in that window at go-live.
    assert all(n == (0,) for n in stored_in_window.values()), stored_in_window
    silent = _silent_in_simulation(state, went_live)
    for rule_id, ref, opened in missing:
        if opened <= went_live + timedelta(minutes=1):
            assert ref in silent[rule_id], (rule_id, ref, silent)

    # A second run without the nurse: the banner says so, and nobody is added to the staff.
    again = Demo(data, "--nurse", "off", "--pace", PACE)
    try:
        again.read_until(r"^ready:", READY_TIMEOUT_S)
        assert again.read_until(r"sim\. nurse\s+off \(--nurse off\)", 1)
        again.read_until(r"^replay done", SETTLE_TIMEOUT_S)
    finally:
        code, err = again.interrupt()
    assert code == 0, err
    second = orjson.loads((data / "summary.json").read_bytes())
    assert second["nurse"] is None
    pg.start()
    try:
        with psycopg.connect(pg.url()) as conn:
            names = conn.execute("SELECT name, count(*) FROM staff GROUP BY 1").fetchall()
    finally:
        pg.stop()
    assert sorted(names) == [(NURSE_NAME, 1), (SIMULATED_NURSE_NAME, 1)]
