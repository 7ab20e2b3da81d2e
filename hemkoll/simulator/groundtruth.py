"""The ground-truth episodes of a simulation as records, and their JSON-lines file.

One line per episode, in order of patient and onset::

    {"patient": "SIM-0007", "onset_at": "2025-05-14T17:20:00Z", "onset_date": "2025-05-14",
     "kind": "weight", "weight_gain_kg": 2.41, "gain_14d_kg": 2.05, "prodrome_days": 16,
     "prodrome_start": "2025-04-28", "hospital_days": 6, "discharge_at": "2025-05-20T12:00:00Z",
     "heart_rate_rise": 9.7, "in_window": true}

``onset_at`` is the admission (UTC); ``kind`` is ``"silent"`` for an episode with little or no
weight signal; ``in_window`` says whether the onset lies within the simulated days (episodes
that only touch them with their prodrome or recovery are listed too, marked false).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal, cast
from zoneinfo import ZoneInfo

import orjson

from hemkoll.simulator.episodes import EpisodeTable
from hemkoll.simulator.timeline import Timeline

EpisodeKind = Literal["weight", "silent"]
# Discharge is in the afternoon of the last hospital day (its morning has no home measurements;
# the next morning has) [assumption].
DISCHARGE_HOUR = 14.0
_FLOAT_DECIMALS = 3


@dataclass(frozen=True)
class Episode:
    patient: str
    onset_at: datetime
    onset_date: date
    kind: EpisodeKind
    weight_gain_kg: float
    gain_14d_kg: float
    prodrome_days: int
    prodrome_start: date
    hospital_days: int
    discharge_at: datetime
    heart_rate_rise: float
    in_window: bool

    @property
    def silent(self) -> bool:
        return self.kind == "silent"

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "patient": self.patient,
                "onset_at": _rfc3339(self.onset_at),
                "onset_date": self.onset_date.isoformat(),
                "kind": self.kind,
                "weight_gain_kg": round(self.weight_gain_kg, _FLOAT_DECIMALS),
                "gain_14d_kg": round(self.gain_14d_kg, _FLOAT_DECIMALS),
                "prodrome_days": self.prodrome_days,
                "prodrome_start": self.prodrome_start.isoformat(),
                "hospital_days": self.hospital_days,
                "discharge_at": _rfc3339(self.discharge_at),
                "heart_rate_rise": round(self.heart_rate_rise, _FLOAT_DECIMALS),
                "in_window": self.in_window,
            }
        )

    @classmethod
    def from_json(cls, line: bytes | str) -> Episode:
        doc = orjson.loads(line)
        kind = doc["kind"]
        if kind not in ("weight", "silent"):
            raise ValueError(f"unknown episode kind {kind!r}")
        return cls(
            patient=str(doc["patient"]),
            onset_at=datetime.fromisoformat(doc["onset_at"]),
            onset_date=date.fromisoformat(doc["onset_date"]),
            kind=cast(EpisodeKind, kind),
            weight_gain_kg=float(doc["weight_gain_kg"]),
            gain_14d_kg=float(doc["gain_14d_kg"]),
            prodrome_days=int(doc["prodrome_days"]),
            prodrome_start=date.fromisoformat(doc["prodrome_start"]),
            hospital_days=int(doc["hospital_days"]),
            discharge_at=datetime.fromisoformat(doc["discharge_at"]),
            heart_rate_rise=float(doc["heart_rate_rise"]),
            in_window=bool(doc["in_window"]),
        )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local_moment(timeline: Timeline, day: int, hour: float) -> datetime:
    """A local time of day on a simulated day (which may lie outside the simulated days)."""
    zone = ZoneInfo(timeline.timezone)
    midnight = datetime.combine(timeline.date_of(day), datetime.min.time(), tzinfo=zone)
    naive = midnight.replace(tzinfo=None) + timedelta(seconds=round(hour * 3600))
    return naive.replace(tzinfo=zone).astimezone(UTC)


def episode_records(
    table: EpisodeTable, references: tuple[str, ...], timeline: Timeline
) -> tuple[Episode, ...]:
    gain_14d = table.gain_over(14)
    records = []
    for i in range(table.size):
        day = int(table.onset_day[i])
        stay = int(table.stay_days[i])
        prodrome = int(table.prodrome_days[i])
        records.append(
            Episode(
                patient=references[int(table.patient[i])],
                onset_at=_local_moment(timeline, day, float(table.admission_hour[i])),
                onset_date=timeline.date_of(day),
                kind="silent" if bool(table.silent[i]) else "weight",
                weight_gain_kg=float(table.weight_gain_kg[i]),
                gain_14d_kg=float(gain_14d[i]),
                prodrome_days=prodrome,
                prodrome_start=timeline.date_of(day - prodrome),
                hospital_days=stay,
                discharge_at=_local_moment(timeline, day + stay, DISCHARGE_HOUR),
                heart_rate_rise=float(table.heart_rate_rise[i]),
                in_window=0 <= day < timeline.days,
            )
        )
    records.sort(key=lambda e: (e.patient, e.onset_at))
    return tuple(records)


def write_episodes(path: Path, episodes: Iterable[Episode]) -> int:
    """Write one JSON line per episode; returns how many were written."""
    count = 0
    with path.open("wb") as handle:
        for episode in episodes:
            handle.write(episode.to_json() + b"\n")
            count += 1
    return count


def read_episodes(path: Path) -> list[Episode]:
    with path.open("rb") as handle:
        return [Episode.from_json(line) for line in handle if line.strip()]
