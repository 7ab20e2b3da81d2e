"""docs/patient-messages.md lists every sentence hemkoll can send a patient, in both languages,
and every event; docs/protocol.md names every event too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from hemkoll.alerts.patient_messages import (
    ALERT_ACKNOWLEDGED,
    AlertNews,
    PatientMessage,
    after_evaluation,
)
from hemkoll.protocol.measurements import METRICS
from hemkoll.rules.judged import VERDICTS, is_symptom
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store.notifications import DeviceEvent

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _every_message() -> list[PatientMessage]:
    """Each message with one metric at a time, for each verdict, news and flag."""
    advice = HEART_FAILURE.advice
    out = [ALERT_ACKNOWLEDGED]
    news = [None] + [
        AlertNews(severity, change, missing)
        for severity in ("yellow", "red")
        for change in ("opened", "severity_raised")
        for missing in (None, *METRICS)
    ]
    for metric in METRICS:
        # Only answers are severe or notable (hemkoll.rules.judged).
        verdicts = VERDICTS if is_symptom(metric) else ("outside", "unjudged", "usual")
        for said in verdicts:
            for n in news:
                for phone in ("{phone}", None):
                    for flags in ((True, False), (False, True), (True, True)):
                        out.append(
                            after_evaluation(
                                n,
                                [(metric, said)],
                                advice,
                                phone=phone,
                                all_judged_live=flags[0],
                                followed_up=flags[1],
                            )
                        )
    return out


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=\.)\s+", text)


def test_every_sentence_a_patient_can_receive_is_documented_in_both_languages() -> None:
    page = (DOCS / "patient-messages.md").read_text(encoding="utf-8")
    # A centre without a number gets the sentence without it, as the page says.
    page_without_phone = page.replace(" on {phone}", "").replace(" på {phone}", "")
    missing = set()
    for message in _every_message():
        for sentence in _sentences(message.text_en) + _sentences(message.text_sv):
            if sentence not in page and sentence not in page_without_phone:
                missing.add(sentence)
    assert not missing, f"not in docs/patient-messages.md: {sorted(missing)}"


def test_every_device_event_is_documented() -> None:
    page = (DOCS / "patient-messages.md").read_text(encoding="utf-8")
    protocol = (DOCS / "protocol.md").read_text(encoding="utf-8")
    for event in get_args(DeviceEvent):
        assert f"`{event}`" in page, event
        assert f"`{event}`" in protocol, event
    assert all(f"`{m}`" in page for m in METRICS)


def test_the_programme_page_says_which_rules_are_on_and_which_off() -> None:
    page = (DOCS / "programme.md").read_text(encoding="utf-8")
    on, off = page.split("## Off by default", 1)
    for rule in HEART_FAILURE.rules:
        where = on if rule.enabled else off
        assert f"| `{rule.id}` |" in where, (
            f"{rule.id} not listed as {'on' if rule.enabled else 'off'}"
        )
