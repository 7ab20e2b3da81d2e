"""Findings: what the engine reports, one per rule firing, JSON-serialisable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import JsonValue

from hemkoll.rules.config import SEVERITIES, Severity

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(us: int) -> datetime:
    """Epoch microseconds to an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=us)


def epoch_us(moment: datetime) -> int:
    """Aware datetime to epoch microseconds (exact, no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError("datetimes given to the rules engine must be timezone-aware")
    return (moment - EPOCH) // timedelta(microseconds=1)


def iso(us: int) -> str:
    return utc(us).isoformat()


@dataclass(frozen=True, slots=True)
class Finding:
    """One firing of one rule.

    ``fired_at`` is the measured_at of the reading that triggered it (for a missing-measurement
    rule: the deadline that passed without a reading; for a combination: the latest component
    finding). ``evidence`` holds the readings and computed values, JSON types only.
    """

    rule_id: str
    kind: str
    severity: Severity
    fired_at: datetime
    evidence: dict[str, JsonValue]
    explanation_en: str
    explanation_sv: str

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "severity": self.severity,
            "fired_at": self.fired_at.isoformat(),
            "evidence": self.evidence,
            "explanation_en": self.explanation_en,
            "explanation_sv": self.explanation_sv,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        severity = data["severity"]
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        fired_at = datetime.fromisoformat(str(data["fired_at"]))
        if fired_at.tzinfo is None:
            raise ValueError("fired_at must carry a UTC offset")
        evidence = data["evidence"]
        if not isinstance(evidence, dict):
            raise TypeError("evidence must be an object")
        return cls(
            rule_id=str(data["rule_id"]),
            kind=str(data["kind"]),
            severity=cast(Severity, severity),
            fired_at=fired_at.astimezone(UTC),
            evidence=evidence,
            explanation_en=str(data["explanation_en"]),
            explanation_sv=str(data["explanation_sv"]),
        )


def findings_since(findings: Sequence[Finding], since: datetime) -> list[Finding]:
    """Findings fired at or after ``since``: what a live caller reports after new readings.

    A live caller evaluates the patient's recent history (see ``required_history``) after
    storing new readings and keeps the findings fired at or after the earliest measured_at of
    those new readings (or, for missing-measurement rules, after the previous evaluation's
    ``now``). Backtests take every finding; both use the same ``evaluate``.
    """
    return [f for f in findings if f.fired_at >= since]
