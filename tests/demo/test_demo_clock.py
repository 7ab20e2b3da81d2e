"""The demo's live pace (hemkoll.demo.clock), ``--pace`` and ``--nurse``, and the simulated
nurse's own staff member: pure tests, and two against the session's PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import numpy as np
import numpy.typing as npt
import pytest

from hemkoll.cli.parser import build_parser
from hemkoll.demo import cohort
from hemkoll.demo.clock import (
    DEFAULT_PACE_MINUTES,
    MIN_PACE_MINUTES,
    SECONDS_PER_DAY,
    Clock,
    Segment,
    wall_s_per_day,
)
from hemkoll.demo.state import DataDir, DemoState
from hemkoll.protocol.feedback import Rejection
from hemkoll.protocol.payload import MAX_CLOCK_AHEAD_S, check_message, parse_envelope
from hemkoll.simulator import simulate
from hemkoll.store.connect import connect
from hemkoll.store.types import Device

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
FIVE_MINUTES = wall_s_per_day(DEFAULT_PACE_MINUTES)


def _epochs(*times: datetime) -> npt.NDArray[np.int64]:
    return np.asarray([int(t.timestamp()) for t in times], dtype=np.int64)


def test_the_past_keeps_its_times_and_a_simulated_day_takes_the_pace() -> None:
    clock = Clock().going_live(NOW, None, FIVE_MINUTES)
    assert clock.segments == (Segment(int(NOW.timestamp()), int(NOW.timestamp()), 300),)
    past, later = NOW - timedelta(days=3), NOW + timedelta(days=2, hours=12)
    stamped = clock.stamp(_epochs(past, NOW, later))
    assert stamped.tolist() == _epochs(past, NOW, NOW + timedelta(minutes=12.5)).tolist()
    assert clock.to_sim(NOW + timedelta(minutes=12.5)) == int(later.timestamp())
    assert clock.identity_until == NOW


def test_real_time_is_the_identity_and_a_resume_replays_the_gap_as_before() -> None:
    clock = Clock().going_live(NOW, None, SECONDS_PER_DAY)
    assert clock == Clock()
    assert clock.identity_until is None
    assert clock.going_live(NOW + timedelta(days=1), NOW, SECONDS_PER_DAY) == Clock()


def test_a_resumed_pace_goes_on_where_the_last_run_stopped_and_keeps_what_it_published() -> None:
    first = Clock().going_live(NOW, None, FIVE_MINUTES)
    stopped = NOW + timedelta(minutes=10)  # two simulated days in
    sim = np.arange(int(NOW.timestamp()), first.to_sim(stopped), 3_600, dtype=np.int64)
    published = first.stamp(sim)
    restart = NOW + timedelta(days=1)
    second = first.going_live(restart, stopped, wall_s_per_day(1.0))
    # What the first run stamped is stamped the same (a resend is a duplicate, not a reading).
    assert second.stamp(sim).tolist() == published.tolist()
    assert second.segments[-1] == Segment(first.to_sim(stopped), int(restart.timestamp()), 60)
    # The simulated day after the stop comes a minute after the restart, not a day of
    # simulated days later; real time after a pace also starts at the stop, never in the future.
    assert second.stamp(np.asarray([first.to_sim(stopped) + SECONDS_PER_DAY]))[0] == int(
        (restart + timedelta(minutes=1)).timestamp()
    )
    live = second.going_live(restart + timedelta(hours=1), restart, SECONDS_PER_DAY)
    assert live.segments[-1].realtime
    assert live.to_sim(restart) == second.to_sim(restart)


def test_stamps_are_monotone_and_whole_seconds() -> None:
    clock = Clock().going_live(NOW, None, wall_s_per_day(MIN_PACE_MINUTES))
    sim = np.sort(np.random.default_rng(3).integers(0, 40 * SECONDS_PER_DAY, 5_000))
    sim += int(NOW.timestamp()) - 20 * SECONDS_PER_DAY
    stamped = clock.stamp(sim)
    assert stamped.dtype == np.int64
    assert np.all(np.diff(stamped) >= 0)


def test_paced_payloads_are_never_from_the_future_when_published_on_time() -> None:
    """Every reading of a retimed plan, published at its publish time, is accepted as to its
    measured_at by ingest's own check (no ``measured_at_future``), past and live alike."""
    start = date(2026, 11, 20)
    sim = simulate(3, 20, seed=4, start=start)
    clock = Clock().going_live(NOW, None, wall_s_per_day(MIN_PACE_MINUTES))
    plan = clock.retime(sim.plan)
    assert len(plan) == len(sim.plan)
    assert int(plan.publish_at.max()) < int((NOW + timedelta(days=1)).timestamp())
    enrolled = datetime(2026, 1, 1, tzinfo=UTC)
    live = 0
    for message in plan:
        if message.fault is not None:
            continue
        envelope = parse_envelope(message.payload)
        assert not isinstance(envelope, Rejection)
        device = Device(uuid4(), uuid4(), message.device_kind, True, enrolled)
        checked = check_message(envelope, device=device, now=message.publish_at)
        assert not [r for r in checked.rejections if r.code == "measured_at_future"]
        latest = max(r.measured_at for r in checked.readings)
        assert latest <= message.publish_at + timedelta(seconds=MAX_CLOCK_AHEAD_S)
        live += message.publish_at > NOW
    assert live > 0
    # Iterating again gives the same bytes (resends are duplicates).
    assert [m.payload for m in plan][:50] == [m.payload for m in clock.retime(sim.plan)][:50]


def test_the_clock_is_kept_in_state_json(tmp_path: Path) -> None:
    clock = Clock().going_live(NOW, None, FIVE_MINUTES)
    state = DemoState(seed=1, patients=2, days=3, live_days=4, start=date(2026, 11, 1), centre="c")
    state = replace(state, clock=clock).with_checkpoint(NOW, NOW + timedelta(minutes=1))
    data = DataDir(tmp_path)
    data.save(state)
    assert data.load() == state


def test_pace_and_nurse_options() -> None:
    parser = build_parser()
    default = parser.parse_args(["demo"])
    assert (default.pace, default.nurse) == (DEFAULT_PACE_MINUTES, "on")
    args = parser.parse_args(["demo", "--pace", "realtime", "--nurse", "off"])
    assert (args.pace, args.nurse) == (None, "off")
    assert wall_s_per_day(args.pace) == SECONDS_PER_DAY
    assert wall_s_per_day(parser.parse_args(["demo", "--pace", "2.5"]).pace) == 150
    for bad in ("0.1", "nan", "inf", "soon"):
        with pytest.raises(SystemExit):
            parser.parse_args(["demo", "--pace", bad])
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--nurse", "maybe"])


def test_the_simulated_nurse_is_a_staff_member_of_her_own_reused_on_resume(db_url: str) -> None:
    with connect(db_url) as conn:
        centre, _ = cohort.prepare_centre(conn, "Demo VC", "http://127.0.0.1:1/webhook")
        now = datetime.now(UTC)
        visitor, visitor_token = cohort.staff_token(conn, centre, cohort.NURSE_NAME, now)
        nurse, nurse_token = cohort.staff_token(
            conn, centre, cohort.SIMULATED_NURSE_NAME, now, revoke_earlier=True
        )
        again, again_token = cohort.staff_token(
            conn, centre, cohort.SIMULATED_NURSE_NAME, now, revoke_earlier=True
        )
        rows = conn.execute(
            "SELECT name, count(*) FROM staff GROUP BY name ORDER BY name"
        ).fetchall()
        live = conn.execute(
            "SELECT staff_id, count(*) FROM api_tokens WHERE revoked_at IS NULL GROUP BY staff_id"
        ).fetchall()
    assert visitor != nurse
    assert again == nurse
    assert len({visitor_token, nurse_token, again_token}) == 3
    assert rows == [(cohort.NURSE_NAME, 1), (cohort.SIMULATED_NURSE_NAME, 1)]
    # The simulated nurse's token of the earlier run no longer works; the visitor's does.
    assert dict(live) == {visitor: 1, nurse: 1}


def test_docs_and_readme_name_every_demo_option() -> None:
    """docs/demo.md's option table and the README's demo line match the parser's options."""
    parser = build_parser()
    demo = next(
        action.choices["demo"]
        for action in parser._actions
        if isinstance(action.choices, dict) and "demo" in action.choices
    )
    options = {o for action in demo._actions for o in action.option_strings} - {"-h", "--help"}
    root = Path(__file__).resolve().parents[2]
    table = {
        line.split("`")[1].split()[0]
        for line in (root / "docs" / "demo.md").read_text().splitlines()
        if line.startswith("| `--")
    }
    readme_line = next(
        line
        for line in (root / "README.md").read_text().splitlines()
        if line.startswith("| `hemkoll demo")
    )
    in_readme = set(re.findall(r"\[(--[a-z-]+)", readme_line))
    assert table == options
    assert in_readme == options
    assert f"| {DEFAULT_PACE_MINUTES:g} |" in (root / "docs" / "demo.md").read_text()
