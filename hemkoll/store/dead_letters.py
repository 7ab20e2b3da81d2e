"""Dead letters: what ingest refused (a message, or one reading of it), kept with the raw
payload for an operator. Written in the batch's transaction, beside its readings
(``readings.ReadingWriter``); a redelivered message is dead-lettered once.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from hemkoll.store.sql import query
from hemkoll.store.types import DeadLetter


def insert_dead_letters(cur: psycopg.Cursor[TupleRow], letters: Sequence[DeadLetter]) -> None:
    """Insert the dead letters on the caller's cursor (its transaction; one round trip)."""
    cur.executemany(
        query("insert_dead_letter"), [_dead_letter_params(letter) for letter in letters]
    )


def _storable(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL: a device's msg_id or a reason quoting its input may.
    The raw payload (bytea) keeps the exact bytes."""
    return None if text is None else text.replace("\x00", "\ufffd")


def _dead_letter_params(letter: DeadLetter) -> dict[str, object]:
    return {
        "received_at": letter.received_at,
        "topic": _storable(letter.topic),
        "device_id": letter.device_id,
        "msg_id": _storable(letter.msg_id),
        "reading_index": letter.reading_index,
        "reason_code": letter.reason_code,
        "reason": _storable(letter.reason),
        "payload": letter.payload,
        "payload_size": letter.payload_size,
        "payload_sha256": letter.payload_sha256,
    }
