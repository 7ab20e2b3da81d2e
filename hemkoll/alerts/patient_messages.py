"""What the patient reads on the device, in their language (sv or en). Pure.

Short, calm and concrete: the patient should know that someone has seen it and what happens
next, without being told a diagnosis. The texts were written for hemkoll; a region adapts them
with its patient-information team.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PatientMessage:
    text_en: str
    text_sv: str


# An alert opened: the health centre has been told.
ALERT_OPENED = PatientMessage(
    text_en="Your health centre has been told about your measurements and will contact you "
    "today. If you feel much worse, call 1177 or, in an emergency, 112.",
    text_sv="Din vårdcentral har fått dina mätvärden och kontaktar dig i dag. Om du mår mycket "
    "sämre, ring 1177 eller vid akut fara 112.",
)
# A nurse has acknowledged the alert.
ALERT_ACKNOWLEDGED = PatientMessage(
    text_en="A nurse at your health centre has seen your measurements and will be in touch.",
    text_sv="En sjuksköterska på din vårdcentral har sett dina mätvärden och hör av sig.",
)
# Readings evaluated with nothing outstanding for the patient.
READINGS_IN_RANGE = PatientMessage(
    text_en="Thank you. Your measurements look as usual.",
    text_sv="Tack. Dina mätvärden ser ut som vanligt.",
)
