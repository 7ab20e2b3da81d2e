"""What a batch's patients are told once the batch's findings are applied to their alerts
(``hemkoll.alerts.evaluation``): per patient the message of ``patient_messages``, of her most
pressing new alert, or of what the enabled rules made of the readings that prompted her
evaluation.

What the rules that are off find (``judged.off_rule_metrics_of_cohort``, an engine run over
those rules) is asked only of the patients who could be told "as usual" once the decisions are
known (no alert news, none unresolved, every reading within her rules' history), all of them
at once per group sharing a rule set and a time zone: most patients of a programme with
alerts have one unresolved, and the run is a fifth of an evaluation's cost otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from hemkoll.alerts.batch_readings import Request, since_of
from hemkoll.alerts.patient_messages import AlertNews, PatientMessage, after_evaluation
from hemkoll.rules.config import RuleSet
from hemkoll.rules.engine import required_history
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.judged import (
    Judges,
    Verdict,
    judge_readings,
    off_rule_metrics_of_cohort,
    off_rules,
)
from hemkoll.rules.series import Series
from hemkoll.rules.stays import Stay
from hemkoll.store.patients import PatientToEvaluate
from hemkoll.store.readings import SeriesArrays

# A message to queue: (patient, the devices of hers to tell or None for every active one, the
# message, the alert it is about or None), as ``patient_messages.tell_each`` takes them.
Told = tuple[UUID, Sequence[UUID] | None, PatientMessage, UUID | None]


@dataclass(frozen=True)
class Decided:
    """One patient of the batch after her decisions were applied: what her message needs."""

    request: Request
    patient: PatientToEvaluate
    rule_set: RuleSet
    # Her rule set's override versions: the patients sharing them share the rule set.
    rule_set_key: tuple[int, ...]
    judges: Judges
    series: Series
    # Where her rules' history starts (``engine.required_history`` before ``now``).
    start: datetime
    # Her most pressing alert opened or raised, if any (``evaluation.Changes.news``).
    news: tuple[UUID, AlertNews] | None
    # Whether an alert of hers is unresolved after the decisions.
    unresolved: bool

    def all_judged_live(self) -> bool:
        prompt = self.request.prompt
        return prompt is None or prompt.oldest >= self.start

    def may_be_told_usual(self) -> bool:
        """Only here could "as usual" be said: no alert news, none unresolved, all live."""
        prompt = self.request.prompt
        return (
            self.news is None
            and prompt is not None
            and not self.unresolved
            and prompt.oldest >= self.start
        )


def messages(
    decided: Sequence[Decided],
    readings: Mapping[UUID, SeriesArrays],
    prompted: Mapping[UUID, Sequence[tuple[str, datetime, float]]],
    stays: Mapping[UUID, Sequence[Stay]],
    *,
    now: datetime,
) -> list[Told]:
    """The messages of the batch's patients: of her most pressing alert on every device of
    hers, or on the devices whose readings prompted her evaluation what the rules made of
    them; none for a scheduled pass that changed nothing."""
    off_flagged = _off_rule_flags(
        [d for d in decided if d.may_be_told_usual()], readings, stays, now=now
    )
    told: list[Told] = []
    for d in decided:
        if d.news is None and d.request.prompt is None:
            continue  # a scheduled pass that changed nothing: nothing to tell
        judged = judge_readings(
            d.judges, prompted.get(d.patient.id, []), d.series, tz=ZoneInfo(d.patient.timezone)
        )
        if d.patient.id in off_flagged:
            judged = _with_off_rules(judged, off_flagged[d.patient.id])
        message = after_evaluation(
            d.news[1] if d.news is not None else None,
            judged,
            d.rule_set.advice,
            phone=d.patient.centre_phone,
            all_judged_live=d.all_judged_live(),
            followed_up=d.unresolved,
        )
        if d.news is not None:  # every device of hers hears of the alert
            told.append((d.patient.id, None, message, d.news[0]))
        elif d.request.prompt is not None:
            told.append((d.patient.id, d.request.prompt.device_ids, message, None))
    return told


def _off_rule_flags(
    asked: Sequence[Decided],
    readings: Mapping[UUID, SeriesArrays],
    stays: Mapping[UUID, Sequence[Stay]],
    *,
    now: datetime,
) -> dict[UUID, frozenset[str]]:
    """Per patient ``asked`` (who may be told her readings look as usual), the metrics on
    which a rule of her rule set that is off finds something on the local day of her oldest
    new reading (from the day's start: the daily rules fire at its first value); one
    ``off_rule_metrics_of_cohort`` per group of patients sharing a rule set and a time zone,
    not one engine run per patient."""
    groups: dict[tuple[tuple[int, ...], str], list[Decided]] = {}
    for d in asked:
        groups.setdefault((d.rule_set_key, d.patient.timezone), []).append(d)
    out: dict[UUID, frozenset[str]] = {}
    for (_, timezone), members in groups.items():
        off = off_rules(members[0].rule_set)
        if off is None:
            continue
        tz = ZoneInfo(timezone)
        start_us = epoch_us(now - required_history(off))
        flagged = off_rule_metrics_of_cohort(
            off,
            [since_of(readings.get(d.patient.id, {}), start_us) for d in members],
            tz=tz,
            now=now,
            since=[_local_midnight(d, tz) for d in members],
            stays=[stays.get(d.patient.id, []) for d in members],
        )
        out.update(zip((d.patient.id for d in members), flagged, strict=True))
    return out


def _local_midnight(d: Decided, tz: ZoneInfo) -> datetime:
    """The local midnight before the patient's oldest new reading."""
    if d.request.prompt is None:  # never asked: may_be_told_usual needs a prompt
        raise ValueError("a patient without prompting readings is never told 'as usual'")
    oldest = d.request.prompt.oldest
    return oldest.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def _with_off_rules(
    judged: list[tuple[str, Verdict]], flagged: frozenset[str]
) -> list[tuple[str, Verdict]]:
    """``judged`` with "usual" turned "off_rule" on the metrics where a rule that is off finds
    something (``_off_rule_flags``). Only asked when "as usual" could be said."""
    return [(m, "off_rule" if said == "usual" and m in flagged else said) for m, said in judged]
