"""Threshold rules: a reading outside a band, gated by consecutive readings and duration.

A level's *run* is the patient's consecutive readings outside its band (however far apart they
are). The level fires at the first reading where the run has at least ``consecutive`` readings
and has lasted at least ``min_duration_minutes`` (first reading of the run to this one), and
again at the run's first reading of each later local day while the gate stays met
(``series.run_firings``); a reading back inside the band ends the run. A yellow finding is not
reported while the red level's gate is met at the same reading.
"""

from __future__ import annotations

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import BoolArray, IntArray
from hemkoll.rules.config import Band, Severity, ThresholdRule
from hemkoll.rules.findings import Finding, FindingContent, iso, utc
from hemkoll.rules.kinds.context import NO_HITS, Context, Hits
from hemkoll.rules.series import MetricBatch, run_firings

US_PER_MINUTE = 60_000_000
# Evidence lists at most this many readings of the run (the latest ones): enough for a nurse to
# see the pattern, small enough for an alerts row.
MAX_EVIDENCE_READINGS = 10


def outside(v: np.ndarray, band: Band) -> BoolArray:
    out = np.zeros(v.shape, dtype=bool)
    if band.low is not None:
        out |= v < band.low
    if band.high is not None:
        out |= v > band.high
    return out


def gate(batch: MetricBatch, band: Band) -> tuple[BoolArray, IntArray]:
    """Per reading: whether the band's gate is met, and the index where its run started."""
    n = batch.t.size
    out = outside(batch.v, band)
    idx = np.arange(n, dtype=np.int64)
    # A run starts after the patient's latest reading inside the band (in place: these are
    # arrays of every reading of the cohort).
    run_start = idx + 1
    np.copyto(run_start, 0, where=out)
    np.maximum.accumulate(run_start, out=run_start)
    np.maximum(run_start, batch.seg_start, out=run_start)
    np.minimum(run_start, max(n - 1, 0), out=run_start)
    met = out
    # Where a reading is outside, its run started at or before it, within its patient: with
    # one reading and no duration asked for, both gates hold and are not computed.
    if band.consecutive > 1:
        met &= np.subtract(idx, run_start, out=idx) >= band.consecutive - 1
    if band.min_duration_minutes > 0:
        met &= batch.t - batch.t[run_start] >= band.min_duration_minutes * US_PER_MINUTE
    return met, run_start


def evaluate(rule: ThresholdRule, ctx: Context) -> Hits:
    batch = ctx.batch(rule.metric)
    n = batch.t.size
    if n == 0:
        return NO_HITS
    fired: list[IntArray] = []
    starts: list[IntArray] = []
    reds: list[BoolArray] = []
    red_met = np.zeros(n, dtype=bool)
    day = ctx.reading_days(rule.metric)
    if rule.red is not None:
        red_met, red_start = gate(batch, rule.red)
        idx = np.flatnonzero(run_firings(red_met, batch, day))
        fired.append(idx)
        starts.append(red_start[idx])
        reds.append(np.ones(idx.size, dtype=bool))
    if rule.yellow is not None:
        met, yellow_start = gate(batch, rule.yellow)
        idx = np.flatnonzero(run_firings(met, batch, day) & ~red_met)
        fired.append(idx)
        starts.append(yellow_start[idx])
        reds.append(np.zeros(idx.size, dtype=bool))
    at, start, red = np.concatenate(fired), np.concatenate(starts), np.concatenate(reds)
    # What a finding shows, taken for the hits (render keeps no array of the whole cohort):
    # the run's first reading and its latest readings, the last of each row the hit's.
    run_t = batch.t[start]
    latest = np.maximum(at[:, None] - np.arange(MAX_EVIDENCE_READINGS)[::-1], start[:, None])
    latest_t, latest_v = batch.t[latest], batch.v[latest]

    def render(k: int) -> Finding:
        readings = min(int(at[k] - start[k]) + 1, MAX_EVIDENCE_READINGS)
        band = rule.red if red[k] else rule.yellow
        if band is None:  # unreachable: hits of a level exist only if the level does
            raise ValueError(f"threshold rule {rule.id}: hit of a missing level")
        return finding(
            rule,
            severity="red" if red[k] else "yellow",
            band=band,
            run_started_at=int(run_t[k]),
            run_readings=int(at[k] - start[k]) + 1,
            shown=list(
                zip(
                    latest_t[k, -readings:].tolist(),
                    latest_v[k, -readings:].tolist(),
                    strict=True,
                )
            ),
        )

    return Hits(patient=batch.patient[at], t=batch.t[at], red=red, render=render)


def finding(
    rule: ThresholdRule,
    *,
    severity: Severity,
    band: Band,
    run_started_at: int,
    run_readings: int,
    shown: list[tuple[int, float]],
) -> Finding:
    """The finding of a level whose gate was met at the last of ``shown`` (time µs, value)."""
    t, value = shown[-1]
    above = band.high is not None and value > band.high
    limit = band.high if above else band.low
    if limit is None:  # unreachable: a reading outside the band is beyond one of its limits
        raise ValueError(f"threshold rule {rule.id} fired inside its band")
    minutes = (t - run_started_at) // US_PER_MINUTE
    side = "above" if above else "below"
    en, sv = explain.threshold(
        rule.metric, value=value, side=side, limit=limit, readings=run_readings, minutes=minutes
    )
    evidence: dict[str, JsonValue] = {
        "metric": rule.metric,
        "value": value,
        "side": side,
        "limit": limit,
        "low": band.low,
        "high": band.high,
        "run_readings": run_readings,
        "run_minutes": minutes,
        "readings": [[iso(t_j), v_j] for t_j, v_j in shown],
    }
    return Finding(rule.id, rule.kind, severity, utc(t), FindingContent(evidence, en, sv))
