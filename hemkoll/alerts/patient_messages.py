"""What the patient reads on the device, in their language (sv or en), and ``tell``, which
queues one for the patient's devices in the caller's transaction.

Short, calm and concrete: the patient should know that someone has seen it and what happens
next, without being told a diagnosis. The texts were written for hemkoll; a region adapts them
with its patient-information team.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from hemkoll.store import notifications
from hemkoll.store.connect import Conn
from hemkoll.store.notifications import DeviceEvent


@dataclass(frozen=True)
class PatientMessage:
    event: DeviceEvent
    text_en: str
    text_sv: str


# An alert opened: the health centre has been told.
ALERT_OPENED = PatientMessage(
    "alert.opened",
    text_en="Your health centre has been told about your measurements and will contact you "
    "today. If you feel much worse, call 1177 or, in an emergency, 112.",
    text_sv="Din vårdcentral har fått dina mätvärden och kontaktar dig i dag. Om du mår mycket "
    "sämre, ring 1177 eller vid akut fara 112.",
)
# A nurse has acknowledged the alert.
ALERT_ACKNOWLEDGED = PatientMessage(
    "alert.acknowledged",
    text_en="A nurse at your health centre has seen your measurements and will be in touch.",
    text_sv="En sjuksköterska på din vårdcentral har sett dina mätvärden och hör av sig.",
)
# Readings evaluated with nothing outstanding for the patient.
READINGS_IN_RANGE = PatientMessage(
    "readings.in_range",
    text_en="Thank you. Your measurements look as usual.",
    text_sv="Tack. Dina mätvärden ser ut som vanligt.",
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
    conn: Conn, targets: Sequence[tuple[UUID, Sequence[UUID]]], message: PatientMessage
) -> None:
    """Queue ``message`` for each (patient, the devices of hers to tell) in one round trip."""
    notifications.enqueue_device_messages_to_many(
        conn, targets, event=message.event, text_en=message.text_en, text_sv=message.text_sv
    )
