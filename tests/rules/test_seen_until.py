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
    bearing_window,
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


def test_told_whether_a_reminder_is_borne_out_decisions_are_those_on_all() -> None:
    """A live worker tells ``decide`` which unresolved missing alerts their findings still bear
    out (``CohortFindings.fired_within``, ``Live.borne_out``) and passes over the silences a
    reading ended (``newest``): it builds none of those findings, and decides the same."""
    cohort = _cohort()
    found = evaluate_cohort(HEART_FAILURE, cohort, tz=TZ, now=NOW)
    every = found.all()
    rules = {rule.id: rule.id in MISSING for rule in HEART_FAILURE.enabled()}
    built = {False: 0, True: 0}
    borne_out_seen = 0
    for day, resolve_first in itertools.product((20, 33, 45, 58), (False, True)):
        until = START + timedelta(days=day)
        known = [_alerts_after(f, until, resolve_first=resolve_first) for f in every]
        newest = [
            {
                rule_id: utc(int(series[metric][0].max())) if metric in series else None
                for rule_id, metric in MISSING.items()
            }
            for series in cohort
        ]
        windows = []
        for alerts in known:
            window = {}
            for rule_id in MISSING:
                got = bearing_window(alerts.get(rule_id))
                if got is not None:
                    window[rule_id] = (epoch_us(got[0]), epoch_us(got[1]))
            windows.append(window)
        borne_out = found.fired_within(windows)
        for given in (False, True):
            cutoffs = [
                {
                    rule_id: epoch_us(seen)
                    for rule_id, seen in seen_until_per_rule(
                        alerts, rules, borne_out_given=given, newest=latest if given else None
                    ).items()
                }
                for alerts, latest in zip(known, newest, strict=True)
            ]
            after = found.after(cutoffs)
            for p in range(len(cohort)):
                live = Live(
                    now=NOW,
                    judged_from=START + timedelta(days=7),
                    missing=newest[p],
                    borne_out=borne_out[p] if given else None,
                )
                # Without borne_out, decide looks among every finding it is given.
                assert decide(after[p], known[p], live) == decide(
                    every[p], known[p], replace(live, borne_out=None)
                )
                built[given] += len(after[p])
                borne_out_seen += len(borne_out[p]) if given else 0
    assert built[True] < built[False]  # the point: fewer findings built
    assert borne_out_seen > 0  # some unresolved reminders were borne out by their columns
