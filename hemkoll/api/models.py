"""Request and response shapes shared by several routes, and their validators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hemkoll.store.types import DeviceKind


def _valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a time needs its UTC offset (e.g. 2026-11-24T08:00:00Z)")
    return value


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["Europe/Stockholm"]),
    AfterValidator(_valid_timezone),
]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
WebhookUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2000)]
Note = Annotated[str, Field(max_length=2000)]
Language = Annotated[str, Field(pattern=r"^(sv|en)$")]

__all__ = ["DeviceKind"]


class Model(BaseModel):
    """Requests refuse fields they do not know: a typo is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(BaseModel):
    """Where the next page starts (pass it as ``cursor``); null on the last page."""

    next_cursor: str | None
