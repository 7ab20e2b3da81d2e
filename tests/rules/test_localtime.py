"""Vectorised local calendar against zoneinfo, including daylight-saving days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hemkoll.rules.findings import epoch_us
from hemkoll.rules.localtime import US_PER_DAY, local_days, wall_to_utc

ZONES = [
    "Europe/Stockholm",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Havana",  # DST changes at midnight, and no change at all in 2005
    "Asia/Tokyo",  # no transition since 1951
    "UTC",
]
EPOCH_DATE = datetime(1970, 1, 1).date()  # noqa: DTZ001 (a calendar date, no instant)
LO = epoch_us(datetime(2000, 1, 1, tzinfo=UTC))
HI = epoch_us(datetime(2035, 1, 1, tzinfo=UTC))


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    instants=st.lists(st.integers(LO, HI), min_size=1, max_size=50),
)
def test_local_days_match_zoneinfo(zone: str, instants: list[int]) -> None:
    tz = ZoneInfo(zone)
    got = local_days(np.asarray(instants, dtype=np.int64), tz)
    for us, day in zip(instants, got.tolist(), strict=True):
        local = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).astimezone(tz)
        assert day == (local.date() - EPOCH_DATE).days


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    walls=st.lists(st.integers(LO, HI), min_size=1, max_size=50),
)
def test_wall_to_utc_matches_fold_0(zone: str, walls: list[int]) -> None:
    tz = ZoneInfo(zone)
    got = wall_to_utc(np.asarray(walls, dtype=np.int64), tz)
    for wall, utc_us in zip(walls, got.tolist(), strict=True):
        naive = datetime(1970, 1, 1) + timedelta(microseconds=wall)  # noqa: DTZ001
        assert utc_us == epoch_us(naive.replace(tzinfo=tz))


def _wall(y: int, m: int, d: int, hh: int, mm: int) -> int:
    return (datetime(y, m, d, hh, mm).date() - EPOCH_DATE).days * US_PER_DAY + (  # noqa: DTZ001
        hh * 60 + mm
    ) * 60_000_000


def test_stockholm_spring_forward_and_fall_back() -> None:
    tz = ZoneInfo("Europe/Stockholm")
    cases = {
        # 31 March 2024: 02:00 CET -> 03:00 CEST. 02:30 does not exist: fold=0 gives 01:30 UTC.
        _wall(2024, 3, 31, 2, 30): datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        _wall(2024, 3, 31, 9, 0): datetime(2024, 3, 31, 7, 0, tzinfo=UTC),
        _wall(2024, 3, 30, 9, 0): datetime(2024, 3, 30, 8, 0, tzinfo=UTC),
        # 27 October 2024: 03:00 CEST -> 02:00 CET. 02:30 happens twice: the first is CEST.
        _wall(2024, 10, 27, 2, 30): datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
        _wall(2024, 10, 27, 9, 0): datetime(2024, 10, 27, 8, 0, tzinfo=UTC),
        _wall(2024, 10, 26, 9, 0): datetime(2024, 10, 26, 7, 0, tzinfo=UTC),
    }
    got = wall_to_utc(np.asarray(list(cases), dtype=np.int64), tz)
    assert got.tolist() == [epoch_us(v) for v in cases.values()]


def test_local_day_boundary_is_local_midnight() -> None:
    tz = ZoneInfo("Europe/Stockholm")
    # 22:30 UTC on 30 June is 00:30 on 1 July in Stockholm (CEST).
    t = np.asarray([epoch_us(datetime(2024, 6, 30, 22, 30, tzinfo=UTC))], dtype=np.int64)
    assert local_days(t, tz).tolist() == [(datetime(2024, 7, 1).date() - EPOCH_DATE).days]  # noqa: DTZ001


def test_zone_without_transitions_in_range() -> None:
    tz = ZoneInfo("Asia/Tokyo")
    t = np.asarray([epoch_us(datetime(2024, 6, 30, 15, 30, tzinfo=UTC))], dtype=np.int64)
    assert local_days(t, tz).tolist() == [(datetime(2024, 7, 1).date() - EPOCH_DATE).days]  # noqa: DTZ001
    wall = np.asarray([_wall(2024, 7, 1, 9, 0)], dtype=np.int64)
    assert wall_to_utc(wall, tz).tolist() == [epoch_us(datetime(2024, 7, 1, 0, 0, tzinfo=UTC))]
