"""The live worker builds only the findings ``decide`` reads (``alerting.seen_until_per_rule``:
a detection rule's by the patient's detection alert, ``CohortFindings.after``): its decisions
must be exactly those on every finding."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.rules.alerting import (
    AlertState,
    Live,
    Outcome,
    RuleAlert,
    decide,
    decide_and_track,
    seen_until_per_rule,
)
from hemkoll.rules.arrays import IntArray
from hemkoll.rules.config import MissingRule
from hemkoll.rules.engine import evaluate_cohort
from hemkoll.rules.findings import Finding, epoch_us, utc
from hemkoll.rules.preset import HEART_FAILURE

TZ = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 1, 5, 6, 30, tzinfo=UTC)
DAYS = 60
NOW = START + timedelta(days=DAYS)
MISSING = {r.id: r.metric for r in HEART_FAILURE.enabled() if isinstance(r, MissingRule)}


def _days(days: range) -> IntArray:
    return np.array([epoch_us(START + timedelta(days=d)) for d in days], dtype=np.int64)


def _cohort() -> list[dict[str, tuple[IntArray, np.ndarray]]]:
    rng = np.random.default_rng(7)
    gain = np.clip((np.arange(DAYS) - 30) / 5, 0, 1) * 3.0  # +3 kg over days 30-35
    spo2 = np.where(np.arange(DAYS) % 17 == 5, 88.0, 96.0)  # a red SpO2 now and then
    return [
        {"body_weight": (_days(range(DAYS)), 80 + gain + rng.normal(0, 0.2, DAYS))},
        {"body_weight": (_days(range(40)), 75 + rng.normal(0, 0.2, 40))},  # silent from day 40
        {
            "body_weight": (_days(range(DAYS)), 90 + rng.normal(0, 0.2, DAYS)),
            "spo2": (_days(range(DAYS)), spo2),
        },
    ]


def _alerts_after(
    findings: list[Finding], until: datetime, *, resolve_first: bool
) -> dict[str, RuleAlert]:
    """The alerts an evaluation at ``until`` left (the findings up to then decided in turn),
    the first of them resolved by a nurse if ``resolve_first`` (its cooldown applies)."""
    _, alerts = decide_and_track([f for f in findings if f.fired_at <= until], {})
    for rule_id in list(alerts)[:1] if resolve_first else []:
        alerts[rule_id] = replace(
            alerts[rule_id],
            state=AlertState.RESOLVED,
            resolved_at=until,
            outcome=Outcome.NO_ACTION_NEEDED,
        )
    return alerts


def test_decisions_on_the_findings_not_yet_seen_are_those_on_all() -> None:
    cohort = _cohort()
    found = evaluate_cohort(HEART_FAILURE, cohort, tz=TZ, now=NOW)
    every = found.all()
    skipped = 0
    for day, resolve_first in itertools.product((20, 33, 45, 58), (False, True)):
        until = START + timedelta(days=day)
        known = [_alerts_after(f, until, resolve_first=resolve_first) for f in every]
        rules = {rule.id: rule.id in MISSING for rule in HEART_FAILURE.enabled()}
        cutoffs = [
            {
                rule_id: epoch_us(seen)
                for rule_id, seen in seen_until_per_rule(alerts, rules).items()
            }
            for alerts in known
        ]
        after = found.after(cutoffs)
        for p, series in enumerate(cohort):
            newest = {m: int(t.max()) for m, (t, _) in series.items()}
            live = Live(
                now=NOW,
                judged_from=START + timedelta(days=7),
                missing={
                    rule_id: None if metric not in newest else utc(newest[metric])
                    for rule_id, metric in MISSING.items()
                },
            )
            assert decide(after[p], known[p], live) == decide(every[p], known[p], live)
            skipped += len(every[p]) - len(after[p])
    assert skipped > 0  # the point: findings the alerts had seen were not built
