"""A finding's content: given, or made when first read (the engine's findings), the same
either way."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from hemkoll.rules.findings import Content, Finding, FindingContent

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SAID: Content = ({"value": 88.0}, "SpO2 88 % is below 90 %.", "SpO2 88 % är under 90 %.")


def _finding(content: FindingContent) -> Finding:
    return Finding("spo2_low", "threshold", "red", AT, content)


def test_deferred_content_is_made_once_when_first_read_and_equals_the_given() -> None:
    made: list[int] = []

    def make() -> Content:
        made.append(1)
        return SAID

    deferred = _finding(FindingContent.deferred(make))
    assert made == []  # nothing read yet
    assert deferred.explanation_sv == SAID[2]
    assert deferred.evidence == SAID[0]
    assert deferred.explanation_en == SAID[1]
    assert made == [1]
    given = _finding(FindingContent(*SAID))
    assert deferred == given
    assert deferred.to_json() == given.to_json()
    assert Finding.from_json(deferred.to_json()) == given
    assert deferred != _finding(FindingContent({"value": 87.0}, SAID[1], SAID[2]))


def test_a_deferred_finding_pickles_with_its_content() -> None:
    deferred = _finding(FindingContent.deferred(lambda: SAID))
    copied = pickle.loads(pickle.dumps(deferred))  # noqa: S301 (our own bytes)
    assert copied == deferred
    assert copied.evidence == SAID[0]
