"""What the patient reads on her devices, in her language (sv or en), derived from what was
evaluated; and ``tell``/``tell_each``, which queue a message in the caller's transaction.

Short, calm and concrete: the patient should know whether someone has been told and what she
should do, without being told a diagnosis. Never reassuring from silence: "your measurements
look as usual" only when every reading of her message was judged by an enabled rule and none
fired, and no rule that is off would have (``hemkoll.rules.judged``); a severe symptom answer
is always acknowledged, with advice; and each severity says what it promises (red: the centre
contacts her now, and she calls it if it has not within the programme's time; yellow: today).
docs/patient-messages.md lists every message. The texts were written for hemkoll; a region
adapts them with its patient-information team, and sets the numbers they name in the
programme's ``PatientAdvice``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from uuid import UUID

from hemkoll.rules.config import PatientAdvice, Severity
from hemkoll.rules.judged import Verdict, is_symptom
from hemkoll.store import notifications
from hemkoll.store.connect import Conn
from hemkoll.store.notifications import DeviceEvent


@dataclass(frozen=True)
class PatientMessage:
    event: DeviceEvent
    text_en: str
    text_sv: str


@dataclass(frozen=True)
class Said:
    """A thing said, in English and Swedish."""

    en: str
    sv: str


def _message(event: DeviceEvent, parts: Sequence[Said]) -> PatientMessage:
    return PatientMessage(
        event, " ".join(p.en for p in parts if p.en), " ".join(p.sv for p in parts if p.sv)
    )


@dataclass(frozen=True)
class Measure:
    """A metric as the patient calls it: "your blood pressure", "ditt blodtryck"."""

    en: str
    sv: str


# What the patient measures or answers, in her words (the staff's are in rules/explain.py).
YOUR: MappingProxyType[str, Measure] = MappingProxyType(
    {
        "body_weight": Measure("your weight", "din vikt"),
        "systolic_bp": Measure("your blood pressure", "ditt blodtryck"),
        "diastolic_bp": Measure("your blood pressure", "ditt blodtryck"),
        "heart_rate": Measure("your pulse", "din puls"),
        "spo2": Measure("your oxygen level", "din syremättnad"),
        "body_temperature": Measure("your temperature", "din temperatur"),
        "symptom_breathlessness": Measure("your breathlessness", "din andfåddhet"),
        "symptom_ankle_swelling": Measure("your ankle swelling", "svullnaden i dina anklar"),
        "symptom_fatigue": Measure("your tiredness", "din trötthet"),
        "self_rated_health": Measure("your health", "din hälsa"),
        "worse_than_usual": Measure(
            "your answer whether it is worse than usual", "ditt svar om det är värre än vanligt"
        ),
    }
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _listed(metrics: Sequence[str]) -> tuple[Said, bool]:
    """ "your pulse and your weight" / "din puls och din vikt" (each patient word once), and
    whether that is more than one."""
    words: list[Measure] = []
    for metric in metrics:
        if YOUR[metric] not in words:
            words.append(YOUR[metric])

    def join(items: list[str], conjunction: str) -> str:
        return (
            items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conjunction} {items[-1]}"
        )

    listed = Said(join([w.en for w in words], "and"), join([w.sv for w in words], "och"))
    return listed, len(words) > 1


THANKS = Said("Thank you.", "Tack.")
AS_USUAL = Said("Your measurements look as usual.", "Dina mätvärden ser ut som vanligt.")
SAVED = Said("Your measurements have been saved.", "Dina mätvärden har sparats.")
FOLLOWED_UP = Said(
    "Your health centre already knows about your earlier measurements.",
    "Din vårdcentral känner redan till dina tidigare mätvärden.",
)
MEASURE_AGAIN = Said(
    "Please rest for a few minutes and measure again.", "Vila några minuter och mät igen."
)
TOLD_TODAY = Said(
    "Your health centre has been told about your measurements and will contact you today.",
    "Din vårdcentral har fått dina mätvärden och kontaktar dig i dag.",
)
TOLD_NOW = Said(
    "Your health centre has been told about your measurements and will contact you now.",
    "Din vårdcentral har fått dina mätvärden och kontaktar dig nu.",
)
TOLD_MISSING = Said(
    "Your health centre has been told and will contact you today.",
    "Din vårdcentral har fått veta det och kontaktar dig i dag.",
)
PLEASE_MEASURE = Said("Please measure when you can.", "Mät gärna så snart du kan.")
PLEASE_ANSWER = Said("Please answer when you can.", "Svara gärna så snart du kan.")

# A nurse has acknowledged the alert.
ALERT_ACKNOWLEDGED = PatientMessage(
    "alert.acknowledged",
    text_en="A nurse at your health centre has seen your measurements and will be in touch.",
    text_sv="En sjuksköterska på din vårdcentral har sett dina mätvärden och hör av sig.",
)


def _phone(phone: str | None) -> tuple[str, str]:
    return (f" on {phone}", f" på {phone}") if phone else ("", "")


def call_centre(when: str, phone: str | None) -> Said:
    """Ask the patient to call her centre "now" or "today", with its number when known."""
    on_en, on_sv = _phone(phone)
    return Said(
        f"Call your health centre {'now' if when == 'now' else 'today'}{on_en}.",
        f"Ring din vårdcentral {'nu' if when == 'now' else 'i dag'}{on_sv}.",
    )


def call_back(advice: PatientAdvice, phone: str | None) -> Said:
    """What a red alert asks of the patient if the centre has not called her back."""
    on_en, on_sv = _phone(phone)
    minutes = advice.red_call_back_minutes
    return Said(
        f"If they have not called you within {minutes} minutes, call them{on_en}.",
        f"Om de inte har ringt dig inom {minutes} minuter, ring dem{on_sv}.",
    )


def if_worse(advice: PatientAdvice) -> Said:
    """Where to turn if she feels much worse: the advice line and the emergency number."""
    line, emergency = advice.advice_line, advice.emergency_number
    if line and emergency:
        return Said(
            f"If you feel much worse, call {line}, or {emergency} in an emergency.",
            f"Om du mår mycket sämre, ring {line} eller vid akut fara {emergency}.",
        )
    if line:
        return Said(
            f"If you feel much worse, call {line}.", f"Om du mår mycket sämre, ring {line}."
        )
    if emergency:
        return Said(f"In an emergency, call {emergency}.", f"Vid akut fara, ring {emergency}.")
    return Said(
        "If you feel much worse, contact your health centre.",
        "Om du mår mycket sämre, kontakta din vårdcentral.",
    )


def severe(symptoms: Sequence[str]) -> Said:
    """ "You answered that your breathlessness is severe." (one or several symptoms)"""
    listed, several = _listed(symptoms)
    return Said(
        f"You answered that {listed.en} {'are' if several else 'is'} severe.",
        f"Du har svarat att {listed.sv} är {'svåra' if several else 'svår'}.",
    )


def outside(metrics: Sequence[str]) -> Said:
    """ "Your pulse was outside your limits." (one or several measures)"""
    listed, several = _listed(metrics)
    return Said(
        f"{_cap(listed.en)} {'were' if several else 'was'} outside your limits.",
        f"{_cap(listed.sv)} var utanför dina gränser.",
    )


def not_received(metric: str) -> Said:
    your = YOUR[metric]
    if is_symptom(metric):
        return Said(
            f"We have not received your answer about {your.en} for a while.",
            f"Vi har inte fått något svar om {your.sv} på ett tag.",
        )
    return Said(
        f"We have not received a measurement of {your.en} for a while.",
        f"Vi har inte fått någon mätning av {your.sv} på ett tag.",
    )


def _severe_call(advice: PatientAdvice, symptoms: Sequence[str]) -> str:
    return "now" if any(s in advice.severe_call_now for s in symptoms) else "today"


AlertChange = Literal["opened", "severity_raised"]


@dataclass(frozen=True)
class AlertNews:
    """The most pressing alert an evaluation opened or raised (red over yellow)."""

    severity: Severity
    change: AlertChange
    # A missing-measurement alert names its metric.
    missing_metric: str | None = None


def about_alert(
    news: AlertNews, advice: PatientAdvice, *, phone: str | None, severe_symptoms: Sequence[str]
) -> PatientMessage:
    """The message to every device of the patient when an evaluation opened or raised an alert.

    A severe answer of the same message is acknowledged first; if its advice is more urgent
    than the severity's promise (yellow: today; severe breathlessness: call now), the patient
    is asked to call as well.
    """
    event: DeviceEvent = "alert.opened" if news.change == "opened" else "alert.severity_raised"
    parts: list[Said] = []
    if severe_symptoms:
        parts.append(severe(severe_symptoms))
    if news.severity == "red":
        parts += [TOLD_NOW, call_back(advice, phone)]
    else:
        if news.missing_metric is not None and not severe_symptoms:
            please = PLEASE_ANSWER if is_symptom(news.missing_metric) else PLEASE_MEASURE
            parts += [not_received(news.missing_metric), please, TOLD_MISSING]
        else:
            parts.append(TOLD_TODAY)
        if severe_symptoms and _severe_call(advice, severe_symptoms) == "now":
            parts.append(call_centre("now", phone))
    parts.append(if_worse(advice))
    return _message(event, parts)


def about_readings(
    judged: Sequence[tuple[str, Verdict]],
    advice: PatientAdvice,
    *,
    phone: str | None,
    all_judged_live: bool,
    followed_up: bool,
) -> PatientMessage:
    """The message to the devices whose readings prompted an evaluation that opened nothing.

    ``judged`` are the (metric, verdict) of those readings; ``all_judged_live`` is False when
    some were measured before the rules' window (not judged); ``followed_up`` when the patient
    has an alert that is not resolved.
    """
    verdicts = {v for _, v in judged}
    if "severe" in verdicts:
        symptoms = [m for m, v in judged if v == "severe"]
        return _message(
            "readings.severe_symptom",
            [
                severe(symptoms),
                call_centre(_severe_call(advice, symptoms), phone),
                if_worse(advice),
            ],
        )
    if "outside" in verdicts:
        metrics = [m for m, v in judged if v == "outside"]
        return _message(
            "readings.measure_again", [THANKS, outside(metrics), MEASURE_AGAIN, if_worse(advice)]
        )
    if judged and verdicts == {"usual"} and all_judged_live and not followed_up:
        return _message("readings.in_range", [THANKS, AS_USUAL])
    parts = [THANKS, SAVED]
    if followed_up:
        parts.append(FOLLOWED_UP)
    parts.append(if_worse(advice))
    return _message("readings.received", parts)


def after_evaluation(
    news: AlertNews | None,
    judged: Sequence[tuple[str, Verdict]],
    advice: PatientAdvice,
    *,
    phone: str | None,
    all_judged_live: bool,
    followed_up: bool,
) -> PatientMessage:
    """What an evaluation tells the patient: of its most pressing alert if it opened or raised
    one (``news``: every device of hers hears it), else what the rules made of the readings
    that prompted it (``judged``: the devices that sent them hear it)."""
    if news is not None:
        severe_symptoms = [metric for metric, said in judged if said == "severe"]
        return about_alert(news, advice, phone=phone, severe_symptoms=severe_symptoms)
    return about_readings(
        judged, advice, phone=phone, all_judged_live=all_judged_live, followed_up=followed_up
    )


def tell(conn: Conn, patient_id: UUID, message: PatientMessage, *, alert_id: UUID | None) -> None:
    """Queue ``message`` for every active device of the patient."""
    notifications.enqueue_device_messages(
        conn,
        patient_id,
        event=message.event,
        text_en=message.text_en,
        text_sv=message.text_sv,
        alert_id=alert_id,
    )


def tell_each(
    conn: Conn,
    told: Sequence[tuple[UUID, Sequence[UUID] | None, PatientMessage, UUID | None]],
) -> None:
    """Queue each (patient, the devices of hers to tell or None for every active one, message,
    the alert it is about or None) in one round trip."""
    notifications.enqueue_device_messages_to_many(
        conn,
        [
            (patient_id, devices, message.event, message.text_en, message.text_sv, alert_id)
            for patient_id, devices, message, alert_id in told
        ],
    )
