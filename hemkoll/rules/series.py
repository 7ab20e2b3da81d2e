"""Input arrays of the rules engine: a cohort's readings of one metric, sorted and deduplicated.

A patient's series is a mapping ``metric -> (measured_at, value)`` of numpy arrays:
``measured_at`` as int64 epoch microseconds (UTC) or datetime64 (any unit, UTC), ``value`` float64
in the metric's canonical unit. Arrays may be unsorted, contain duplicate timestamps, gaps, a
single reading or none.

Normalisation (the same for every rule and for one patient or ten thousand):
- non-finite values are dropped, and readings after ``now`` are ignored, so ``evaluate`` with a
  past ``now`` reproduces what a live evaluation at that moment saw;
- readings are sorted by time; readings of one metric at the same instant (a re-delivered or
  doubly-relayed reading) become one reading with the mean of their values, which does not
  depend on the order they arrived in.

Daily rules use the first reading of each local calendar day (the morning weight after voiding
that heart-failure patients are taught to take); later readings that day do not change it, so a
daily value, and a finding computed from it, never changes once made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from hemkoll.rules.arrays import BoolArray, FloatArray, IntArray
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.localtime import local_days

Series = Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]]
# Marks "no reading" in an int64 time grid.
NO_TIME = np.iinfo(np.int64).min


_INT64 = np.dtype(np.int64)
_FLOAT64 = np.dtype(np.float64)
_EMPTY_T = np.zeros(0, dtype=np.int64)
_EMPTY_V = np.zeros(0, dtype=np.float64)


def as_epoch_us(measured_at: npt.ArrayLike) -> IntArray:
    a = np.asarray(measured_at)
    if a.dtype == np.int64 and a.ndim == 1:
        return a
    if a.dtype.kind == "M":
        return a.astype("datetime64[us]").astype(np.int64)
    if a.dtype.kind in "iu" or a.size == 0:
        return a.astype(np.int64).reshape(-1)
    raise TypeError(f"measured_at must be int64 epoch microseconds or datetime64, not {a.dtype}")


@dataclass(frozen=True)
class MetricBatch:
    """One metric's readings for a cohort, sorted by (patient, time), one reading per instant."""

    patient: IntArray
    t: IntArray
    v: FloatArray
    # offsets[p]:offsets[p + 1] are patient p's readings (length n_patients + 1).
    offsets: IntArray
    # Per reading: the index of its patient's first reading.
    seg_start: IntArray

    @property
    def n_patients(self) -> int:
        return len(self.offsets) - 1

    def has_readings(self) -> BoolArray:
        return self.offsets[1:] > self.offsets[:-1]


def build_batch(
    parts: Sequence[tuple[npt.ArrayLike, npt.ArrayLike] | None], now_us: int | None
) -> MetricBatch:
    """Concatenate per-patient (measured_at, value) arrays into a normalised MetricBatch."""
    times: list[IntArray] = []
    values: list[FloatArray] = []
    sizes: list[int] = []
    # This loop runs once per patient and metric: keep the common case (int64 and float64
    # arrays) free of conversions.
    for i, part in enumerate(parts):
        if part is None:
            t_i, v_i = _EMPTY_T, _EMPTY_V
        else:
            t_i, v_i = part  # type: ignore[assignment]
            if not (isinstance(t_i, np.ndarray) and t_i.dtype is _INT64 and t_i.ndim == 1):
                t_i = as_epoch_us(t_i)
            if not (isinstance(v_i, np.ndarray) and v_i.dtype is _FLOAT64):
                v_i = np.asarray(v_i, dtype=np.float64)
            if v_i.ndim != 1 or t_i.shape != v_i.shape:
                raise ValueError(f"patient {i}: {t_i.shape} timestamps but {v_i.shape} values")
        times.append(t_i)
        values.append(v_i)
        sizes.append(t_i.size)
    lengths = np.asarray(sizes, dtype=np.int64)
    patient = np.repeat(np.arange(len(parts), dtype=np.int64), lengths)
    t = np.concatenate(times) if times else np.zeros(0, np.int64)
    v = np.concatenate(values) if values else np.zeros(0)
    keep = np.isfinite(v)
    if now_us is not None:
        keep &= t <= now_us
    if not keep.all():
        patient, t, v = patient[keep], t[keep], v[keep]
    same_patient = patient[1:] == patient[:-1]
    if not np.all(~same_patient | (t[1:] > t[:-1])):
        order = np.lexsort((t, patient))
        patient, t, v = patient[order], t[order], v[order]
        new = np.ones(t.size, dtype=bool)
        new[1:] = (patient[1:] != patient[:-1]) | (t[1:] != t[:-1])
        if not new.all():
            first = np.flatnonzero(new)
            counts = np.diff(np.append(first, t.size))
            v = np.add.reduceat(v, first) / counts
            patient, t = patient[first], t[first]
    offsets = np.searchsorted(patient, np.arange(len(parts) + 1, dtype=np.int64)).astype(np.int64)
    return MetricBatch(
        patient=patient,
        t=t,
        v=v,
        offsets=offsets,
        seg_start=np.repeat(offsets[:-1], np.diff(offsets)),
    )


def run_firings(cond: BoolArray, batch: MetricBatch, day: IntArray) -> BoolArray:
    """Where a run of readings meeting ``cond`` fires: its first reading, and again at its first
    reading of each later local day (``day``: each reading's local day) while it lasts.

    A condition that goes on is news again each day it is still true: the alert it opened stays
    as it is while unresolved (a touch), and a nurse who resolved it hears again the next day
    (``alerting``). The firings depend only on each reading and the one before it, never on
    where the history given starts, so a live evaluation finds exactly the backtest's tail.
    """
    prev = np.zeros_like(cond)
    prev[1:] = cond[:-1]
    prev[batch.offsets[:-1][batch.has_readings()]] = False  # a patient's first reading
    same_day = np.zeros_like(cond)
    same_day[1:] = day[1:] == day[:-1]
    return cond & ~(prev & same_day)


@dataclass(frozen=True)
class DailyGrid:
    """First reading of each local day per patient: rows are patients, columns days."""

    day0: IntArray  # (P,) local day number (days since local 1970-01-01) of column 0
    value: FloatArray  # (P, W), NaN where the patient has no reading that day
    t: IntArray  # (P, W) measured_at of that reading, NO_TIME where none
    valid: BoolArray  # (P, W) the patient has a reading that day
    valid_rows: IntArray  # row of each valid cell, in row-major order


def first_of_day(
    batch: MetricBatch, tz: ZoneInfo, horizon_day: IntArray | None = None
) -> DailyGrid:
    """Daily grid from each patient's first local day to its last reading (or ``horizon_day``)."""
    return daily_grid(batch, local_days(batch.t, tz), horizon_day)


def day_range(batch: MetricBatch, day: IntArray) -> tuple[IntArray, IntArray]:
    """Per patient, the first and the last local day of her readings (``day``: each reading's
    local day; 0 and -1 for a patient without readings)."""
    n = batch.n_patients
    has = batch.has_readings()
    first = np.zeros(n, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    if day.size:
        starts = batch.offsets[:-1][has]
        # minimum, not first: where a zone falls back across midnight local days are not monotone
        first[has] = np.minimum.reduceat(day, starts)
        last[has] = np.maximum.reduceat(day, starts)
    return first, last


def day_cells(
    batch: MetricBatch, day: IntArray, day0: IntArray, width: int
) -> tuple[IntArray, IntArray]:
    """The cells of a (patients, ``width``) day grid whose column 0 is each patient's local day
    ``day0`` that hold a first reading of the day: (row-major cell numbers, in order; the index
    of the reading in each). Every reading's day must fall within its patient's row."""
    key = (np.arange(batch.n_patients, dtype=np.int64) * width - day0)[batch.patient]
    key += day
    # Sorted keys: first readings where the key changes; else (a zone falling back across
    # midnight) np.unique's first occurrences. Either way cells come in row-major order.
    if bool(np.all(key[1:] >= key[:-1])):
        new = np.ones(key.size, dtype=bool)
        np.not_equal(key[1:], key[:-1], out=new[1:])
        first = np.flatnonzero(new)
    else:
        first = np.unique(key, return_index=True)[1]
    return key[first], first


def daily_grid(batch: MetricBatch, day: IntArray, horizon_day: IntArray | None = None) -> DailyGrid:
    """``first_of_day`` with each reading's local day given (``day``, e.g. cached per metric)."""
    n = batch.n_patients
    has = batch.has_readings()
    day0, last = day_range(batch, day)
    width = int((last - day0)[has].max()) + 1 if has.any() else 0
    if horizon_day is not None and has.any():
        width = max(width, int((horizon_day - day0)[has].max()) + 1)
    cells, first = day_cells(batch, day, day0, width)
    value = np.full((n, width), np.nan)
    t = np.full((n, width), NO_TIME, dtype=np.int64)
    valid = np.zeros((n, width), dtype=bool)
    value.reshape(-1)[cells] = batch.v[first]
    t.reshape(-1)[cells] = batch.t[first]
    valid.reshape(-1)[cells] = True
    return DailyGrid(day0=day0, value=value, t=t, valid=valid, valid_rows=batch.patient[first])


def series_from_rows(
    rows: Iterable[tuple[str, datetime, float]],
) -> dict[str, tuple[IntArray, FloatArray]]:
    """A patient's stored readings, (metric, measured_at, value) rows, as the engine's input."""
    times: dict[str, list[int]] = {}
    values: dict[str, list[float]] = {}
    for metric, at, value in rows:
        times.setdefault(metric, []).append(epoch_us(at))
        values.setdefault(metric, []).append(value)
    return {
        metric: (
            np.array(times[metric], dtype=np.int64),
            np.array(values[metric], dtype=np.float64),
        )
        for metric in times
    }
