"""The feedback message: what a device is told once its message's outcome is committed.

Pure: no I/O (docs/protocol.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import orjson

FeedbackStatus = Literal["accepted", "partial", "rejected"]


@dataclass(frozen=True)
class Rejection:
    """Why a message (index None) or one of its readings (index i) was not stored."""

    code: str
    reason: str
    index: int | None = None


@dataclass(frozen=True)
class Feedback:
    """What the device is told once its message's outcome is committed.

    ``stored`` counts readings stored by this message; ``duplicates`` counts readings that were
    already stored (a resent backlog). Both are safe for the device to delete.
    """

    msg_id: str | None
    stored: int
    duplicates: int
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)

    @property
    def status(self) -> FeedbackStatus:
        if not self.rejected:
            return "accepted"
        if self.stored or self.duplicates:
            return "partial"
        return "rejected"

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "msg_id": self.msg_id,
                "status": self.status,
                "stored": self.stored,
                "duplicates": self.duplicates,
                "rejected": [
                    {"index": r.index, "code": r.code, "reason": r.reason} for r in self.rejected
                ],
            }
        )
