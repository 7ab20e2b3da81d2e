"""The detection table: one row per rule set, plain text for a terminal or a report (alerts
one per deterioration, as the live worker opens them: ``scoring``)."""

from __future__ import annotations

from collections.abc import Sequence

from hemkoll.detection.scoring import Score

HEADER = (
    f"{'rule set':<40} {'detected':>15} {'unexplained/py':>14} {'(after disch.)':>14} "
    f"{'alerts/py':>9} {'lead d':>6}"
)


def row(name: str, s: Score) -> str:
    detected = f"{s.detected}/{s.episodes} {100 * s.sensitivity:4.1f}%"
    return (
        f"{name:<40} {detected:>15} {s.per_year(s.unexplained):>14.2f} "
        f"{s.per_year(s.unexplained_after_discharge):>14.2f} {s.per_year(s.alerts):>9.2f} "
        f"{s.median_lead_days:>6.1f}"
    )


def table(rows: Sequence[tuple[str, Score]]) -> str:
    return "\n".join([HEADER, "-" * len(HEADER), *(row(name, s) for name, s in rows)])


def cohort_line(s: Score) -> str:
    return (
        f"{s.patients} patients, {s.patient_years:.0f} patient-years of follow-up after the "
        f"warm-up, {s.episodes} evaluable episodes"
    )
