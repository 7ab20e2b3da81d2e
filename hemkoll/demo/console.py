"""What the demo prints: where to look once it is ready, summaries, the report, the goodbye.

Everything for the person at the terminal goes to stdout; hemkoll's own log goes to the data
directory's demo.log, with warnings and errors also on stderr.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

# The line a script (or the end-to-end test) waits for.
READY = "ready:"


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def log_to_file(path: Path, level: str) -> None:
    """hemkoll's log to ``path``; the terminal keeps only warnings and errors."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setLevel(level)
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(file_handler)


@dataclass(frozen=True)
class NurseText:
    acknowledge_after_s: float
    resolve_after_s: float

    def line(self, name: str) -> str:
        return (
            f'  sim. nurse    on (--nurse off stops her): as the staff member "{name}", with a '
            "token of her own (not the one above), she acknowledges every alert an hour and "
            "resolves it four hours after its first finding while the past is replayed (on "
            "its clock, as the backtest's nurse does), and once live "
            f"{self.acknowledge_after_s:g} s after its notification (yellow and red alike, and "
            f"those left open by a last run) and resolves it {self.resolve_after_s:g} s after, "
            "with a drawn outcome"
        )


def pace_text(pace_s: int, seconds_per_day: int) -> str:
    if pace_s == seconds_per_day:
        return "real time (--pace realtime): each reading at its simulated moment"
    return (
        f"a simulated day every {pace_s / 60:g} min (--pace); each reading stamped with the "
        "moment it is published"
    )


@dataclass(frozen=True)
class Banner:
    patients: int
    seed: int
    start: str
    replay_days: int
    devices: int
    data_dir: Path
    database: str
    # The embedded database's URL (None: yours, whose password is not printed).
    database_url: str | None
    broker: str
    api_url: str
    token: str
    receiver_url: str
    # None: --nurse off.
    nurse: NurseText | None
    nurse_name: str
    visitor_name: str
    # Wall-clock seconds per simulated day once live.
    pace_s: int
    seconds_per_day: int
    messages: int
    resumed_from: str | None
    summary_every_s: float
    startup_s: float

    def lines(self) -> list[str]:
        worklist = f"{self.api_url}/api/v1/alerts"
        resumed = (
            f"; resuming at {self.resumed_from} where the last run stopped"
            if self.resumed_from
            else ""
        )
        psql = [] if self.database_url is None else [f"                psql '{self.database_url}'"]
        return [
            f"hemkoll demo: {self.patients} simulated patients (seed {self.seed}), "
            f"{self.replay_days} days from {self.start} replayed fast, then live{resumed}",
            f"  data          {self.data_dir}  (a new run reuses it; --reset starts over)",
            f"  database      {self.database}",
            *psql,
            f"  broker        {self.broker}",
            f"  API docs      {self.api_url}/docs   (Authorize with the token below)",
            f'  nurse token   {self.token}   (yours: what you do shows as "{self.visitor_name}")',
            f"  worklist      curl -s -H 'Authorization: Bearer {self.token}' {worklist}",
            f"  health centre webhooks to {self.receiver_url}, kept in "
            f"{self.data_dir / 'notifications.jsonl'}",
            self.nurse.line(self.nurse_name)
            if self.nurse is not None
            else "  sim. nurse    off (--nurse off): alerts stay on the worklist until you act",
            f"  live          {pace_text(self.pace_s, self.seconds_per_day)}",
            f"{READY} started in {self.startup_s:.1f} s; {self.devices} devices publish "
            f"{self.messages:,} planned messages; a summary every {self.summary_every_s:g} s "
            "when something changes; Ctrl-C stops everything",
        ]


def goodbye(data_dir: Path) -> str:
    return (
        f"stopped; everything is kept in {data_dir}: `hemkoll demo` carries on from here, "
        "`hemkoll demo --reset` starts over"
    )
