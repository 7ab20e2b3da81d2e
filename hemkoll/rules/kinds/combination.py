"""Combination rules: findings of all (or any) of other rules within a window.

Candidate moments are the component findings (of at least ``min_severity``). An all-of rule fires
at a candidate moment t when every component has a finding in [t - window_hours, t]; an any-of
rule fires at every candidate. Several component findings at the same moment give one
finding. The evidence names the latest finding of each component in the window. Components that
are disabled have no findings, so an all-of rule with a disabled component never fires.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import JsonValue

from hemkoll.rules import explain
from hemkoll.rules.arrays import IntArray
from hemkoll.rules.config import CombinationRule
from hemkoll.rules.findings import Finding, FindingContent, utc
from hemkoll.rules.kinds.context import NO_HITS, Hits
from hemkoll.rules.localtime import US_PER_HOUR


def _unique(a: IntArray) -> IntArray:
    """Sorted distinct values (sorting beats np.unique's hashing for these sizes)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def evaluate(rule: CombinationRule, found: Mapping[str, Hits]) -> Hits:
    window = round(rule.window_hours * US_PER_HOUR)
    only_red = rule.min_severity == "red"
    comps = [found.get(ref, NO_HITS) for ref in rule.rules]
    # Per component: the indices of its hits that count.
    counted = [np.flatnonzero(h.red) if only_red else np.arange(len(h)) for h in comps]
    comp_p = [h.patient[ix] for h, ix in zip(comps, counted, strict=True)]
    comp_t = [h.t[ix] for h, ix in zip(comps, counted, strict=True)]
    all_t = np.concatenate(comp_t)
    if all_t.size == 0:
        return NO_HITS
    # Rank-compress times so that (patient, time) packs into one sortable int64 key.
    times = _unique(np.concatenate([all_t, all_t - window]))
    span = times.size
    comp_keys = [p * span + np.searchsorted(times, t) for p, t in zip(comp_p, comp_t, strict=True)]
    cand = _unique(np.concatenate(comp_keys))
    cand_p, cand_t = cand // span, times[cand % span]
    lo = cand_p * span + np.searchsorted(times, cand_t - window)
    latest = np.full((len(comps), cand.size), -1, dtype=np.int64)
    for k, keys in enumerate(comp_keys):
        if keys.size == 0:
            continue
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        right = np.searchsorted(sorted_keys, cand, side="right")
        left = np.searchsorted(sorted_keys, lo, side="left")
        latest[k] = np.where(right > left, counted[k][order[np.maximum(right - 1, 0)]], -1)
    present = latest >= 0
    fire = np.flatnonzero(present.all(axis=0) if rule.mode == "all" else present.any(axis=0))

    def render(k: int) -> Finding:
        c = int(fire[k])
        parts = [h.render(int(latest[j, c])) for j, h in enumerate(comps) if latest[j, c] >= 0]
        return finding(rule, fired_at=int(cand_t[c]), components=parts)

    red = np.full(fire.size, rule.severity == "red")
    return Hits(patient=cand_p[fire], t=cand_t[fire], red=red, render=render)


def finding(rule: CombinationRule, *, fired_at: int, components: list[Finding]) -> Finding:
    """Finding at ``fired_at`` (µs) from the latest finding of each component in the window."""
    en, sv = explain.combination(
        rule.label_en,
        rule.label_sv,
        rule.window_hours,
        [(f.explanation_en, f.explanation_sv) for f in components],
    )
    parts: list[JsonValue] = [
        {"rule_id": f.rule_id, "severity": f.severity, "fired_at": f.fired_at.isoformat()}
        for f in components
    ]
    evidence: dict[str, JsonValue] = {
        "mode": rule.mode,
        "window_hours": rule.window_hours,
        "components": parts,
    }
    return Finding(
        rule.id, rule.kind, rule.severity, utc(fired_at), FindingContent(evidence, en, sv)
    )
