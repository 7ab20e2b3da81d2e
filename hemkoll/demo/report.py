"""The detection report after the replay: hemkoll's alerts against the simulated episodes.

Two rows, scored alike by ``hemkoll.detection.scoring`` against the ground-truth file:

- **alerts raised**: the alerts in the database. Each alert counts at the time its rule first
  fired (when it was opened, and the health centre notified), and again at each severity
  raise (notified too). Missing-measurement alerts are reminders, not detections.
- **backtest**: the same rules run over the readings the database stored, every finding
  counted (``hemkoll.detection.backtest``), as ``bench/detection.py`` does.

The first row is lower in a fast replay, by design of the alerts rather than of the rules: a
patient has at most one unresolved alert per rule, which later findings of that rule only
touch (no new notification), and after the nurse resolves it the rule stays quiet for 12 hours
of wall-clock time unless it gets worse. A replay puts months into seconds, so a rule's later
findings (a real episode after a false alarm) mostly land on the patient's earlier alert.

Only the replayed days (up to today) count; the first 30 are a warm-up, so a replay of 44 days
or fewer has no evaluable episode (no report then).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.detection.backtest import NOT_DETECTIONS, backtest, episode_arrays, local_midnight
from hemkoll.detection.report import cohort_line, table
from hemkoll.detection.scoring import WARMUP_DAYS, WINDOW_DAYS, RuleHits, Score, score
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.series import Series, series_from_rows
from hemkoll.simulator import Episode
from hemkoll.store.connect import Conn
from hemkoll.store.readings import readings_between

# Below this many evaluable episodes the figures are anecdotes, and the report says so.
FEW_EPISODES = 10

ALERT_TIMES_SQL = """
SELECT p.reference, a.rule_id, a.rule_kind, a.first_fired_at
FROM alerts a JOIN patients p ON p.id = a.patient_id
WHERE p.health_centre_id = %(centre)s
UNION ALL
SELECT p.reference, a.rule_id, a.rule_kind, (e.details ->> 'fired_at')::timestamptz
FROM alert_events e
JOIN alerts a ON a.id = e.alert_id
JOIN patients p ON p.id = a.patient_id
WHERE p.health_centre_id = %(centre)s AND e.kind = 'severity_raised'
"""


def alert_hits(
    conn: Conn, centre: UUID, references: Sequence[str], until: datetime
) -> list[RuleHits]:
    index = {reference: i for i, reference in enumerate(references)}
    per_rule: dict[str, tuple[list[int], list[int]]] = {}
    for reference, rule_id, kind, fired_at in conn.execute(ALERT_TIMES_SQL, {"centre": centre}):
        if kind in NOT_DETECTIONS or fired_at >= until or reference not in index:
            continue
        patients, times = per_rule.setdefault(rule_id, ([], []))
        patients.append(index[reference])
        times.append(epoch_us(fired_at))
    conn.commit()
    return [
        RuleHits(patient=np.asarray(p, dtype=np.int64), t=np.asarray(t, dtype=np.int64))
        for p, t in per_rule.values()
    ]


def stored_series(
    conn: Conn, centre: UUID, references: Sequence[str], since: datetime, until: datetime
) -> list[Series]:
    rows = conn.execute(
        "SELECT reference, id FROM patients WHERE health_centre_id = %s", (centre,)
    ).fetchall()
    ids: dict[str, UUID] = {str(reference): patient_id for reference, patient_id in rows}
    out: list[Series] = []
    for reference in references:
        patient = ids.get(reference)
        rows = [] if patient is None else readings_between(conn, patient, since, until)
        out.append(series_from_rows(rows))
    conn.commit()
    return out


def detection_report(
    conn: Conn,
    centre: UUID,
    *,
    references: Sequence[str],
    episodes: Sequence[Episode],
    start: date,
    days: int,
    timezone: str,
) -> tuple[str, dict[str, Score]]:
    """The report's text and its scores (``alerts``, ``backtest``) over the replayed days."""
    if days <= WARMUP_DAYS + WINDOW_DAYS:
        return (
            f"No detection report: {days} replayed days are too few to score (the first "
            f"{WARMUP_DAYS} are a warm-up, and an episode needs the {WINDOW_DAYS} days before "
            "it after that; try --days 180).",
            {},
        )
    tz = ZoneInfo(timezone)
    end = start + timedelta(days=days)
    since = datetime.fromtimestamp(local_midnight(start, tz) / 1e6, UTC)
    until = datetime.fromtimestamp(local_midnight(end, tz) / 1e6, UTC)
    truth = episode_arrays(episodes, references)
    live = score(
        alert_hits(conn, centre, references, until),
        truth,
        patients=len(references),
        start=local_midnight(start, tz),
        end=local_midnight(end, tz),
    )
    series = stored_series(conn, centre, references, since, until)
    replayed = backtest(HEART_FAILURE, series, truth, tz=tz, start=start, end=end)
    scores = {"alerts": live, "backtest": replayed}
    lines = [
        f"Detection report, {start} to {end - timedelta(days=1)} (synthetic data, not patients): "
        + cohort_line(live),
        table(
            [
                ("alerts raised (opened or raised)", live),
                ("backtest of the stored readings", replayed),
            ]
        ),
        f"detected: a finding in the {WINDOW_DAYS} days before an admission; py: patient-year; "
        "lead d: median days of warning.",
        "Alerts count when opened or raised (a notification). In a fast replay a rule's later "
        "findings mostly land on the patient's earlier alert of that rule (still open, or "
        "resolved less than 12 wall-clock hours ago), so that row sees fewer than the "
        "backtest of the same readings; live, with days passing at their own pace, the two "
        "agree more.",
    ]
    if live.episodes < FEW_EPISODES:
        lines.append(
            f"Only {live.episodes} episodes: the figures are anecdotes (try more --patients "
            "or --days)."
        )
    return "\n".join(lines), scores


def score_json(s: Score) -> dict[str, float | int | None]:
    def finite(x: float) -> float | None:
        return None if np.isnan(x) else round(x, 3)

    return {
        "episodes": s.episodes,
        "detected": s.detected,
        "sensitivity": finite(s.sensitivity),
        "unexplained_per_patient_year": finite(s.per_year(s.unexplained)),
        "alerts_per_patient_year": finite(s.per_year(s.alerts)),
        "median_lead_days": finite(s.median_lead_days),
        "patient_years": round(s.patient_years, 2),
    }
