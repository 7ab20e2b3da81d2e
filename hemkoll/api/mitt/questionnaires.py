"""Questionnaires as data, in the shape of a FHIR R4 ``Questionnaire`` (items with a linkId,
answer options with a code and a value, texts in Swedish and English as the
``translation`` extension carries them), each with a schedule (docs/patient.md).

* ``daily-symptoms``: the three symptom scores a questionnaire device asks each morning
  (readings ``symptom_*``, 0-3): one definition for the app and the device; and, when one of
  them is 2 or more (``FOLLOW_UP_FROM_SCORE``), the follow-up "Is this worse than usual for
  you?" (reading ``worse_than_usual``, 1 yes, 0 no), which the symptom rules can read.
* ``weekly-health``: self-rated health 1-5 (reading ``self_rated_health``), asked weekly, as
  the TIM-HF2 programme did.
* ``phq-2``: the Patient Health Questionnaire-2 (depression screen, two items 0-3, score
  0-6; 3 or more is the usual cut-off for a closer look), monthly. The PHQ screeners may be
  reproduced, translated and used without permission or fee; KCCQ-12 (the heart-failure
  instrument) needs a licence from its copyright holder, so it is not shipped.

A follow-up item (``follow_up_from``) is asked only when another item of its questionnaire is
answered at or above that value (FHIR ``enableWhen``), and is not part of the score. The app
asks it on the same page once the answers it follows are sent (``FollowUpNeeded``).

Answers are validated against the definition (``score``) and stored as questionnaire
responses; an item whose linkId is a metric of the protocol's catalogue
(``hemkoll.protocol.measurements``) is a reading too (``hemkoll.api.mitt.answers``), which
the rules engine reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hemkoll.protocol.measurements import FOLLOW_UP, FOLLOW_UP_FROM_SCORE


@dataclass(frozen=True)
class Option:
    value: int
    sv: str
    en: str


@dataclass(frozen=True)
class Item:
    link_id: str
    sv: str
    en: str
    options: tuple[Option, ...]
    # A follow-up: asked only when another item is answered at least this, not scored.
    follow_up_from: int | None = None


@dataclass(frozen=True)
class Questionnaire:
    id: str
    title_sv: str
    title_en: str
    intro_sv: str
    intro_en: str
    every: timedelta
    items: tuple[Item, ...]

    def text(self, lang: str, field: str) -> str:
        value: str = getattr(self, f"{field}_{lang}")
        return value

    def asked(self, form: Mapping[str, str]) -> tuple[Item, ...]:
        """The items asked given the answers so far: every item, but a follow-up only when
        another item's answer (as typed) is at or above its ``follow_up_from``."""
        answered = [
            int(typed)
            for item in self.items
            if item.follow_up_from is None
            and (typed := form.get(item.link_id, "").strip()) in _values(item)
        ]
        return tuple(
            item
            for item in self.items
            if item.follow_up_from is None or any(a >= item.follow_up_from for a in answered)
        )


def _values(item: Item) -> set[str]:
    return {str(option.value) for option in item.options}


def _scale(*pairs: tuple[str, str], start: int = 0) -> tuple[Option, ...]:
    return tuple(Option(start + i, sv, en) for i, (sv, en) in enumerate(pairs))


_SYMPTOM = _scale(
    ("Inte alls", "Not at all"),
    ("Lite", "A little"),
    ("Måttligt", "Moderately"),
    ("Mycket", "Severely"),
)
_PHQ = _scale(
    ("Inte alls", "Not at all"),
    ("Flera dagar", "Several days"),
    ("Mer än hälften av dagarna", "More than half the days"),
    ("Nästan varje dag", "Nearly every day"),
)

QUESTIONNAIRES: Mapping[str, Questionnaire] = {
    q.id: q
    for q in (
        Questionnaire(
            "daily-symptoms",
            "Dagens symtom",
            "Today's symptoms",
            "Hur har du mått i dag?",
            "How have you felt today?",
            timedelta(days=1),
            (
                Item("symptom_breathlessness", "Andfåddhet", "Breathlessness", _SYMPTOM),
                Item(
                    "symptom_ankle_swelling", "Svullna fötter eller ben", "Ankle swelling", _SYMPTOM
                ),
                Item("symptom_fatigue", "Trötthet", "Tiredness", _SYMPTOM),
                Item(
                    FOLLOW_UP,
                    "Är det här värre än vanligt för dig?",
                    "Is this worse than usual for you?",
                    (Option(1, "Ja", "Yes"), Option(0, "Nej", "No")),
                    follow_up_from=FOLLOW_UP_FROM_SCORE,
                ),
            ),
        ),
        Questionnaire(
            "weekly-health",
            "Veckans hälsa",
            "Your health this week",
            "En fråga i veckan om hur du mår.",
            "One question a week about how you are.",
            timedelta(days=7),
            (
                Item(
                    "self_rated_health",
                    "Hur skulle du bedöma din hälsa i dag?",
                    "How would you rate your health today?",
                    _scale(
                        ("Mycket dålig", "Very poor"),
                        ("Dålig", "Poor"),
                        ("Varken bra eller dålig", "Fair"),
                        ("Bra", "Good"),
                        ("Mycket bra", "Very good"),
                        start=1,
                    ),
                ),
            ),
        ),
        Questionnaire(
            "phq-2",
            "Månadens frågor om stämningsläge",
            "This month's questions about your mood",
            "Hur ofta har du under de senaste två veckorna besvärats av något av följande?",
            "Over the last 2 weeks, how often have you been bothered by the following?",
            timedelta(days=30),
            (
                Item(
                    "phq2_interest",
                    "Lite intresse eller glädje i att göra saker",
                    "Little interest or pleasure in doing things",
                    _PHQ,
                ),
                Item(
                    "phq2_mood",
                    "Nedstämdhet, depression eller känsla av hopplöshet",
                    "Feeling down, depressed, or hopeless",
                    _PHQ,
                ),
            ),
        ),
    )
}


class AnswerError(ValueError):
    """Answers that do not fit the questionnaire: which item, and why."""

    def __init__(self, link_id: str, why: str) -> None:
        super().__init__(f"{link_id}: {why}")
        self.link_id = link_id


class FollowUpNeeded(AnswerError):
    """The answers are complete but for a follow-up they call for, not yet asked."""


def score(questionnaire: Questionnaire, form: Mapping[str, str]) -> tuple[dict[str, int], int]:
    """The answers (every item asked answered with one of its options) and the sum of those
    that are not follow-ups. A follow-up that does not apply (its answers were changed after it
    was asked) is left out."""
    asked = questionnaire.asked(form)
    answers: dict[str, int] = {}
    for item in asked:
        typed = form.get(item.link_id, "").strip()
        if not typed:
            if item.follow_up_from is not None and all(
                answer.link_id in answers for answer in asked if answer.follow_up_from is None
            ):
                raise FollowUpNeeded(item.link_id, "a follow-up to ask")
            raise AnswerError(item.link_id, "not answered")
        allowed = {str(option.value): option.value for option in item.options}
        if typed not in allowed:
            raise AnswerError(item.link_id, "not one of the answers offered")
        answers[item.link_id] = allowed[typed]
    return answers, sum(answers[i.link_id] for i in asked if i.follow_up_from is None)


def _translated(sv: str, en: str) -> dict[str, Any]:
    return {
        "text": sv,
        "_text": {
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/translation",
                    "extension": [
                        {"url": "lang", "valueCode": "en"},
                        {"url": "content", "valueString": en},
                    ],
                }
            ]
        },
    }


def _enable_when(questionnaire: Questionnaire, item: Item) -> dict[str, Any]:
    """A follow-up's condition: any other item answered with an option at or above its level
    (FHIR compares a coding only for equality, so each such option is listed)."""
    if item.follow_up_from is None:
        return {}
    return {
        "enableWhen": [
            {"question": other.link_id, "operator": "=", "answerCoding": {"code": str(o.value)}}
            for other in questionnaire.items
            if other.follow_up_from is None
            for o in other.options
            if o.value >= item.follow_up_from
        ],
        "enableBehavior": "any",
    }


def as_fhir(questionnaire: Questionnaire) -> dict[str, Any]:
    """The definition as a FHIR R4 Questionnaire resource (Swedish text, English translation)."""
    return {
        "resourceType": "Questionnaire",
        "id": questionnaire.id,
        "status": "active",
        "language": "sv",
        "title": questionnaire.title_sv,
        "item": [
            {
                "linkId": item.link_id,
                "type": "choice",
                "required": True,
                **_translated(item.sv, item.en),
                **_enable_when(questionnaire, item),
                "answerOption": [
                    {
                        "valueCoding": {
                            "code": str(option.value),
                            "display": option.sv,
                        },
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                                "valueDecimal": option.value,
                            }
                        ],
                    }
                    for option in item.options
                ],
            }
            for item in questionnaire.items
        ],
    }
