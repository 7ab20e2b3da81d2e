"""Errors of a console form, beside the field they are about and in the console's language.

A ``FieldError`` says what is wrong with one field (or, ``field == FORM``, with the form as a
whole) as a code and the figures its message needs, never as a library's text. ``message``
writes it in a language: a value out of range says the range (from the ``Bounds`` the
validation itself uses), a rule broken across fields says which (``error_<code>`` in the
catalogue). Templates put each message right after its input, which gets ``aria-invalid`` and
an ``aria-describedby`` naming the message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from hemkoll.api.console.catalogue import PLURALS
from hemkoll.api.console.i18n import Formatter
from hemkoll.rules.config import Bounds

Catalogue = Mapping[str, str]
# The key of an error about the whole form rather than one of its fields.
FORM = ""
# Codes whose message is the field's allowed range (when the field has one).
RANGE_CODES = frozenset({"range", "required", "not_a_number", "whole_number"})


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    # What the message quotes: figures in the field's unit (floats), counts (ints), text.
    values: Mapping[str, float | int | str] = dataclasses.field(default_factory=dict)
    # What the field may be, for a message that states it; None for a rule across fields.
    bounds: Bounds | None = None
    integer: bool = False

    def __str__(self) -> str:
        """For logs and tests: the field and the code, never the value typed."""
        return f"{self.field or 'form'}: {self.code}"


def quantity(value: float, unit: str, fmt: Formatter) -> str:
    return f"{fmt.figure(value)} {unit}".rstrip()


def range_text(bounds: Bounds, integer: bool, unit: str, fmt: Formatter, t: Catalogue) -> str:
    """The values a field may take, as an instruction: "Ange ett värde mellan 20 och 300 ..."."""
    kind = "whole" if integer else "value"
    low, high = bounds.low, bounds.high
    if low is not None and high is not None and not (bounds.low_open or bounds.high_open):
        return t[f"error_{kind}_between"].format(
            low=fmt.figure(low), high=quantity(high, unit, fmt)
        )
    parts = []
    if low is not None:
        key = "above" if bounds.low_open else "at_least"
        parts.append(t[f"error_{kind}_{key}"].format(low=quantity(low, unit, fmt)))
    if high is not None:
        key = "below" if bounds.high_open else "at_most"
        parts.append(t[f"error_{kind}_{key}"].format(high=quantity(high, unit, fmt)))
    return " ".join(parts) or t[f"error_{kind}"]


def message(error: FieldError, unit: str, fmt: Formatter, t: Catalogue) -> str:
    if error.code in RANGE_CODES:
        if error.bounds is not None:
            return range_text(error.bounds, error.integer, unit, fmt, t)
        return t["error_whole" if error.integer else "error_value"]
    values = {
        name: quantity(value, unit, fmt) if isinstance(value, float) else str(value)
        for name, value in error.values.items()
        if name != "n"
    }
    key = f"error_{error.code}"
    n = error.values.get("n")
    if key in PLURALS and isinstance(n, int):  # "at most 1 character", "at most 2 characters"
        return fmt.count(key, n, **values)
    return t[key].format(**values, **({} if n is None else {"n": str(n)}))


def messages(
    errors: Iterable[FieldError], units: Mapping[str, str], fmt: Formatter, t: Catalogue
) -> dict[str, str]:
    """Each field's message (the first, if it has several), by field name; ``FORM``'s too."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(error.field, message(error, units.get(error.field, ""), fmt, t))
    return found


def typed_day(value: str | None, name: str, example: date, errors: list[FieldError]) -> date | None:
    """A date typed in a period form, ISO (an empty field: None, the default)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(FieldError(name, "date", values={"example": example.isoformat()}))
        return None


def day_period(
    first: date | None,
    last: date | None,
    today: date,
    errors: list[FieldError],
    *,
    default_days: int,
    max_days: int,
    last_field: str,
) -> tuple[date, date]:
    """A period's first and last day (by default the ``default_days`` up to today), or errors
    beside the field at fault (``from``, or ``last_field``)."""
    end = last or today
    try:
        start = first or end - timedelta(days=default_days - 1)
    except OverflowError:  # the last day at the very start of the calendar
        errors.append(FieldError(last_field, "period_too_early"))
        return end, end
    if start > end:
        errors.append(FieldError("from", "period_order"))
    elif (end - start).days >= max_days:
        errors.append(FieldError("from", "period_too_long", values={"n": max_days}))
    return start, end
