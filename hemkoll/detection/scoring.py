"""Score a rule set's alerts against ground-truth episodes: sensitivity, lead, unexplained alerts.

Definitions (all times UTC instants; an episode's onset is its admission):

- **Alerts.** The alerts are those the live worker would give: ``alerting.decide`` over each
  patient's findings in time order, with the backtest's simulated nurse resolving each alert
  hours after it opened (``hemkoll.rules.backtest.alerts_of``; ``hemkoll.detection.backtest``
  runs it over a cohort). So one alert per deterioration: findings of any detection rule
  while the patient's alert is handled join it, and a new alert opens only after recovery
  (``alerting.RECOVERY`` without a finding) or when the finding is more severe. Reminders to
  measure (missing-measurement rules) are not detections and are left out.
- **Notices.** What the nurse is shown of an alert: its opening, each severity raise and each
  other rule's evidence added while she handles it (not a finding merely recorded on it).
- **Detected.** An episode is detected if a notice of the patient came in
  [onset - ``WINDOW_DAYS``, onset); its lead time is onset minus the earliest such notice.
- **Unexplained.** An alert is explained if one of the findings recorded on it (any: opening,
  raises, evidence, touches, also those after the nurse resolved it) fired within
  ``WINDOW_DAYS`` before the onset of an episode of the patient (any episode, including those
  whose onset lies just after the simulated days); otherwise it is unexplained. Alerts in the
  weeks after a discharge count as unexplained (the stricter choice; FAST and MultiSENSE
  report unexplained detections per patient-year of follow-up and we did not find that they
  exclude recovery), and are also reported on their own.
- **Warm-up.** The first ``WARMUP_DAYS`` of a simulation are a run-in: rules that compare with
  the patient's recent past have no history yet. Alerts opening in it are not counted, episodes
  are evaluable only if their whole detection window lies after it, and follow-up (the
  patient-years) starts after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.localtime import US_PER_DAY

# Detection window before onset: the 14 days, as in Zhang 2009 (weight change over the
# 14 days before admission) and Cuba Gyllensten 2016 (the 2 weeks preceding decompensation).
WINDOW_DAYS = 14
# Run-in before counting: a month, long enough for the longest default rule (the 3-span memory
# of a 21-day trend is 63 days, but its weights are 94 % within 30 days) [assumption].
WARMUP_DAYS = 30
# Alerts this soon after a discharge are reported apart as "after discharge" (recovery).
AFTER_DISCHARGE_DAYS = 30
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Episodes:
    """Ground truth: one entry per episode, times as epoch µs."""

    patient: IntArray
    onset: IntArray
    discharge: IntArray
    in_window: BoolArray


@dataclass(frozen=True)
class AlertTimes:
    """A cohort's alerts as columns (epoch µs): per alert its patient and when it opened; per
    notice (``notice_alert``: the alert's index) and per finding recorded on an alert
    (``finding_alert``), when."""

    patient: IntArray
    opened: IntArray
    notice_alert: IntArray
    notice_t: IntArray
    finding_alert: IntArray
    finding_t: IntArray

    @classmethod
    def of(cls, alerts: Iterable[tuple[int, int, Sequence[int], Sequence[int]]]) -> AlertTimes:
        """From one row per alert: (patient, opened, notice times, recorded finding times)."""
        patient: list[int] = []
        opened: list[int] = []
        notice: tuple[list[int], list[int]] = ([], [])
        finding: tuple[list[int], list[int]] = ([], [])
        for index, (who, at, notices, findings) in enumerate(alerts):
            patient.append(who)
            opened.append(at)
            notice[0].extend([index] * len(notices))
            notice[1].extend(notices)
            finding[0].extend([index] * len(findings))
            finding[1].extend(findings)

        def column(values: list[int]) -> IntArray:
            return np.asarray(values, dtype=np.int64)

        return cls(
            column(patient),
            column(opened),
            column(notice[0]),
            column(notice[1]),
            column(finding[0]),
            column(finding[1]),
        )


@dataclass(frozen=True)
class Score:
    patients: int
    patient_years: float
    episodes: int
    detected: int
    lead_days: FloatArray  # per detected episode
    alerts: int  # one per deterioration, as the live worker opens them
    unexplained: int
    unexplained_after_discharge: int

    @property
    def sensitivity(self) -> float:
        return self.detected / self.episodes if self.episodes else float("nan")

    @property
    def median_lead_days(self) -> float:
        return float(np.median(self.lead_days)) if self.lead_days.size else float("nan")

    def per_year(self, count: int) -> float:
        return count / self.patient_years if self.patient_years else float("nan")


def _sorted(patient: IntArray, t: IntArray) -> tuple[IntArray, IntArray]:
    order = np.lexsort((t, patient))
    return patient[order], t[order]


def _next_onset(patient: IntArray, t: IntArray, episodes: Episodes) -> IntArray:
    """Per finding: the earliest onset of the patient after it (or a far future)."""
    far = np.iinfo(np.int64).max
    if episodes.onset.size == 0:
        return np.full(t.size, far, dtype=np.int64)
    ep_patient, onset = _sorted(episodes.patient, episodes.onset)
    # Search per patient: rank onsets and findings together by (patient, time).
    pos = np.zeros(t.size, dtype=np.int64)
    starts = np.searchsorted(ep_patient, patient, side="left")
    ends = np.searchsorted(ep_patient, patient, side="right")
    for p in np.unique(patient):
        mine = patient == p
        lo, hi = int(starts[mine][0]), int(ends[mine][0])
        pos[mine] = lo + np.searchsorted(onset[lo:hi], t[mine], side="right")
    valid = pos < ends
    return np.where(valid, onset[np.minimum(pos, onset.size - 1)], far)


def _alert_counts(
    alerts: AlertTimes, episodes: Episodes, counted_from: int
) -> tuple[int, int, int]:
    """(alerts, unexplained, unexplained soon after a discharge), counting those opened after
    the warm-up."""
    n = alerts.opened.size
    if n == 0:
        return 0, 0, 0
    who = alerts.patient[alerts.finding_alert]
    t = alerts.finding_t
    explains = _next_onset(who, t, episodes) - t <= WINDOW_DAYS * US_PER_DAY
    explained = np.zeros(n, dtype=bool)
    np.logical_or.at(explained, alerts.finding_alert, explains)
    counted = alerts.opened >= counted_from
    unexplained = counted & ~explained
    after = np.zeros(n, dtype=bool)
    window = AFTER_DISCHARGE_DAYS * US_PER_DAY
    opened_at, patient = alerts.opened, alerts.patient
    for p, d in zip(episodes.patient.tolist(), episodes.discharge.tolist(), strict=True):
        after |= (patient == p) & (opened_at >= d) & (opened_at < d + window)
    return int(counted.sum()), int(unexplained.sum()), int((unexplained & after).sum())


def _detections(
    patient: IntArray, t: IntArray, episodes: Episodes, evaluable: BoolArray
) -> FloatArray:
    """Lead time in days of each evaluable episode with a notice in its window; NaN if none."""
    lead = np.full(episodes.onset.size, np.nan)
    if t.size == 0:
        return lead[evaluable]
    patient, t = _sorted(patient, t)
    window = WINDOW_DAYS * US_PER_DAY
    for k in np.flatnonzero(evaluable):
        p, onset = int(episodes.patient[k]), int(episodes.onset[k])
        lo, hi = np.searchsorted(patient, p, side="left"), np.searchsorted(patient, p, side="right")
        times = t[lo:hi]
        i = int(np.searchsorted(times, onset - window, side="left"))
        if i < times.size and times[i] < onset:
            lead[k] = (onset - int(times[i])) / US_PER_DAY
    return lead[evaluable]


def score(
    alerts: AlertTimes,
    episodes: Episodes,
    *,
    patients: int,
    start: int,
    end: int,
) -> Score:
    """Score a cohort's alerts, followed from ``start`` to ``end`` (µs)."""
    counted_from = start + WARMUP_DAYS * US_PER_DAY
    evaluable = (
        episodes.in_window
        & (episodes.onset >= counted_from + WINDOW_DAYS * US_PER_DAY)
        & (episodes.onset < end)
    )
    counted, unexplained, after = _alert_counts(alerts, episodes, counted_from)
    lead = _detections(alerts.patient[alerts.notice_alert], alerts.notice_t, episodes, evaluable)
    detected = lead[np.isfinite(lead)]
    years = patients * (end - counted_from) / US_PER_DAY / DAYS_PER_YEAR
    return Score(
        patients=patients,
        patient_years=years,
        episodes=int(evaluable.sum()),
        detected=int(detected.size),
        lead_days=detected,
        alerts=counted,
        unexplained=unexplained,
        unexplained_after_discharge=after,
    )


def combine(scores: Sequence[Score]) -> Score:
    """Pool the scores of several cohorts (counts add up, lead times are pooled)."""
    return Score(
        patients=sum(s.patients for s in scores),
        patient_years=sum(s.patient_years for s in scores),
        episodes=sum(s.episodes for s in scores),
        detected=sum(s.detected for s in scores),
        lead_days=np.concatenate([s.lead_days for s in scores]) if scores else np.zeros(0),
        alerts=sum(s.alerts for s in scores),
        unexplained=sum(s.unexplained for s in scores),
        unexplained_after_discharge=sum(s.unexplained_after_discharge for s in scores),
    )
