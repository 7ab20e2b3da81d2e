"""Findings: what the engine reports, one per rule firing, JSON-serialisable."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


# A finding's evidence and its sentences (en, sv).
Content = tuple[dict[str, JsonValue], str, str]


class FindingContent:
    """What a finding says beyond its rule, severity and time: its evidence and its sentences,
    given (``FindingContent(evidence, en, sv)``) or made when first read
    (``FindingContent.deferred``): ``alerting.decide`` reads only the rule, the severity and
    the time, so the findings that only touch an alert (most of a first evaluation's: each day
    an open index stays open) never build theirs (an index finding's about 80 µs)."""

    __slots__ = ("_make", "_value")

    def __init__(self, evidence: dict[str, JsonValue], explanation_en: str, explanation_sv: str):
        self._value: Content | None = (evidence, explanation_en, explanation_sv)
        self._make: Callable[[], Content] | None = None

    @classmethod
    def deferred(cls, make: Callable[[], Content]) -> FindingContent:
        content = cls.__new__(cls)
        content._value = None
        content._make = make
        return content

    def get(self) -> Content:
        value = self._value
        if value is None:
            if self._make is None:
                raise RuntimeError("a finding's content has neither a value nor a maker")
            value = self._value = self._make()
            self._make = None  # what it closed over can go
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FindingContent) and self.get() == other.get()

    __hash__ = None  # type: ignore[assignment]  # the evidence is a dict

    def __repr__(self) -> str:
        return f"FindingContent{self.get()!r}"

    def __reduce__(self) -> tuple[type[FindingContent], Content]:
        return FindingContent, self.get()


@dataclass(frozen=True, slots=True)
class Finding:
    """One firing of one rule.

    ``fired_at`` is the measured_at of the reading that triggered it (for a missing-measurement
    rule: the deadline that passed without a reading; for a combination: the latest component
    finding). ``evidence`` holds the readings and computed values, JSON types only; it and
    the sentences are the ``content``'s.
    """

    rule_id: str
    kind: str
    severity: Severity
    fired_at: datetime
    content: FindingContent

    @property
    def evidence(self) -> dict[str, JsonValue]:
        return self.content.get()[0]

    @property
    def explanation_en(self) -> str:
        return self.content.get()[1]

    @property
    def explanation_sv(self) -> str:
        return self.content.get()[2]

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
            content=FindingContent(
                evidence, str(data["explanation_en"]), str(data["explanation_sv"])
            ),
        )


def findings_since(findings: Sequence[Finding], since: datetime) -> list[Finding]:
    """Findings fired at or after ``since``: what a live caller reports after new readings.

    A live caller evaluates the patient's recent history (see ``required_history``) after
    storing new readings and keeps the findings fired at or after the earliest measured_at of
    those new readings (or, for missing-measurement rules, after the previous evaluation's
    ``now``). Backtests take every finding; both use the same ``evaluate``.
    """
    return [f for f in findings if f.fired_at >= since]
