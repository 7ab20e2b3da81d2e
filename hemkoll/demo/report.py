"""The detection report after the replay: hemkoll's alerts against the simulated episodes.

Two rows, scored alike by ``hemkoll.detection.scoring`` against the ground-truth file:

- **alerts raised**: the alerts in the database, one per deterioration (``alerting.decide``).
  An alert is a notice when it opened (the health centre notified), and again at each
  severity raise and each other rule's evidence added. Missing-measurement alerts are
  reminders, not detections.
- **backtest**: the same rules run over the readings the database stored, their findings
  through the same alert model with the backtest's nurse (``hemkoll.detection.backtest``), as
  ``bench/detection.py`` does.

After a fast replay the two rows agree: the replay ran the rules worker and its simulated
nurse on its simulated clock (``hemkoll.demo.lockstep``), the nurse acknowledging and
resolving each alert when the backtest's nurse does. They part only when someone else acted
on the replay's alerts (the visitor, through the API, at wall-clock time), and over the live
days, whose nurse acts on notifications at the demo's pace.

Only the replayed days (up to today) count; the first 30 are a warm-up, so a replay of 44 days
or fewer has no evaluable episode (no report then).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np

from hemkoll.detection.backtest import backtest, episode_arrays, local_midnight
from hemkoll.detection.report import cohort_line, table
from hemkoll.detection.scoring import WARMUP_DAYS, WINDOW_DAYS, AlertTimes, Score, score
from hemkoll.rules.alerting import REMINDER_KINDS
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.series import Series, series_from_rows
from hemkoll.simulator import Episode
from hemkoll.store.connect import Conn
from hemkoll.store.readings import readings_between

# Below this many evaluable episodes the figures are anecdotes, and the report says so.
FEW_EPISODES = 10

ALERTS_SQL = """
SELECT p.reference, a.rule_kind, a.first_fired_at, a.last_fired_at,
       ARRAY(SELECT (e.details ->> 'fired_at')::timestamptz FROM alert_events e
             WHERE e.alert_id = a.id AND e.kind IN ('severity_raised', 'evidence_added')
             ORDER BY e.id) AS notices
FROM alerts a JOIN patients p ON p.id = a.patient_id
WHERE p.health_centre_id = %(centre)s
ORDER BY a.first_fired_at, a.id
"""


def stored_alerts(
    conn: Conn, centre: UUID, references: Sequence[str], until: datetime
) -> AlertTimes:
    """The centre's detection alerts opened before ``until`` as ``scoring`` reads them:
    notices at the opening and at each raise and evidence added; recorded findings those and
    the alert's last finding (the database keeps no other)."""
    index = {reference: i for i, reference in enumerate(references)}
    rows: list[tuple[int, int, list[int], list[int]]] = []
    for reference, kind, first, last, notices in conn.execute(ALERTS_SQL, {"centre": centre}):
        if kind in REMINDER_KINDS or first >= until or reference not in index:
            continue
        shown = [first, *(at for at in notices if at < until)]
        recorded = [*shown, *([last] if last < until else [])]
        rows.append(
            (
                index[reference],
                epoch_us(first),
                [epoch_us(at) for at in shown],
                [epoch_us(at) for at in recorded],
            )
        )
    conn.commit()
    return AlertTimes.of(rows)


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
        stored_alerts(conn, centre, references, until),
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
        f"detected: a notice in the {WINDOW_DAYS} days before an admission; py: patient-year; "
        "lead d: median days of warning.",
        "Alerts are one per deterioration; each counts when opened, raised or given another "
        "rule's evidence (a notice). The replay ran the rules and the simulated nurse on its "
        "simulated clock, so both rows count the same alerts unless you acted on some.",
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
