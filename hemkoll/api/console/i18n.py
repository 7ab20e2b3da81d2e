"""The console's languages: Swedish (the default) and English, chosen per user with a cookie.

Every string the console shows comes from ``catalogue.ENTRIES`` (both languages side by side);
numbers, dates, times and durations are written the way each language writes them, in the
health centre's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from hemkoll.api.console.catalogue import ENTRIES, MONTHS, ONE, PLURALS

Lang = Literal["sv", "en"]
LANGS: tuple[Lang, ...] = ("sv", "en")
DEFAULT_LANG: Lang = "sv"
# A finding measured this long before its alert opened is shown as having arrived late, not as
# news: a device's backlog, a replay, a worker that was down. A day covers a scale or a cuff that
# uploads once a day (and the nightly hub sync) while still catching a reading days old.
LATE_ARRIVAL = dt.timedelta(hours=24)
# What stands for no value, and the minus sign Swedish typesetting uses.
DASH = "\u2013"
MINUS = "\u2212"

CATALOGUE: Mapping[Lang, Mapping[str, str]] = MappingProxyType(
    {
        "sv": MappingProxyType({key: sv for key, (sv, _) in ENTRIES.items()}),
        "en": MappingProxyType({key: en for key, (_, en) in ENTRIES.items()}),
    }
)


def parse_lang(value: str | None) -> Lang:
    if value == "en":
        return "en"
    return DEFAULT_LANG


class Formatter:
    """Numbers, dates and durations in one language and time zone, relative to ``now``."""

    def __init__(self, lang: Lang, tz: ZoneInfo, now: dt.datetime) -> None:
        self.lang = lang
        self.tz = tz
        self.now = now

    def number(self, value: float | None, decimals: int = 1) -> str:
        if value is None:
            return DASH
        text = f"{value:.{decimals}f}"
        if self.lang == "sv":
            text = text.replace(".", ",").replace("-", MINUS)
        return text

    def figure(self, value: float) -> str:
        """A value as written in a form: no more decimals than it has ("30", "1,5")."""
        text = f"{value:.10g}"
        if self.lang == "sv":
            text = text.replace(".", ",").replace("-", MINUS)
        return text

    def share(self, value: float | None) -> str:
        """A share as a percentage: "82 %" in Swedish, "82%" in English."""
        if value is None:
            return DASH
        number = self.number(100 * value, 0)
        return f"{number}\u00a0%" if self.lang == "sv" else f"{number}%"

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.tz)

    def datetime(self, at: dt.datetime | None) -> str:
        if at is None:
            return DASH
        return self.local(at).strftime("%Y-%m-%d %H:%M")

    def time(self, at: dt.datetime) -> str:
        return self.local(at).strftime("%H:%M")

    def date(self, day: dt.date) -> str:
        return f"{self.short_date(day)} {day.year}"

    def short_date(self, day: dt.date) -> str:
        month = MONTHS[self.lang][day.month - 1]
        return f"{day.day} {month}"

    def day_of(self, at: dt.datetime) -> str:
        return self.short_date(self.local(at).date())

    def duration(self, span: dt.timedelta | None) -> str:
        """Two units at most: "2 d 4 h", "3 h 5 min", "12 min" ("tim" in Swedish)."""
        if span is None:
            return DASH
        minutes = max(0, int(span.total_seconds() // 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        hour = "tim" if self.lang == "sv" else "h"
        if days:
            return f"{days} d {hours} {hour}" if hours else f"{days} d"
        if hours:
            return f"{hours} {hour} {minutes} min" if minutes else f"{hours} {hour}"
        return f"{minutes} min"

    def age(self, at: dt.datetime) -> str:
        """How long ago ``at`` was."""
        return self.duration(self.now - at)

    def ago(self, at: dt.datetime) -> str:
        """When ``at`` was, relative to now: "för 3 tim sedan" / "3 h ago"; under a minute
        ago (or a moment ahead, a clock's skew), "nyss" / "just now"."""
        t = CATALOGUE[self.lang]
        if self.now - at < dt.timedelta(minutes=1):
            return t["just_now"]
        return t["ago"].format(age=self.age(at))

    def count(self, key: str, n: int, **fields: object) -> str:
        """A count in words, its singular or plural form: "1 larm", "1 alert", "2 alerts".
        ``key`` is one of the catalogue's ``PLURALS``; ``{n}`` is the count."""
        if key not in PLURALS:
            raise KeyError(f"{key} is not a count in the catalogue")
        t = CATALOGUE[self.lang]
        return t[key + ONE if n == 1 else key].format(n=n, **fields)


def arrived_late(measured_at: dt.datetime, opened_at: dt.datetime) -> bool:
    """Whether a finding measured at ``measured_at`` was older than ``LATE_ARRIVAL`` when its
    alert opened at ``opened_at``."""
    return opened_at - measured_at > LATE_ARRIVAL
