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
    acknowledge_after_s: float
    resolve_after_s: float
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
            f"  nurse token   {self.token}",
            f"  worklist      curl -s -H 'Authorization: Bearer {self.token}' {worklist}",
            f"  health centre webhooks to {self.receiver_url}, kept in "
            f"{self.data_dir / 'notifications.jsonl'}; the simulated nurse acknowledges each "
            f"alert after {self.acknowledge_after_s:g} s and resolves it after "
            f"{self.resolve_after_s:g} s",
            f"{READY} started in {self.startup_s:.1f} s; {self.devices} devices publish "
            f"{self.messages:,} planned messages; a summary every {self.summary_every_s:g} s "
            "when something changes; Ctrl-C stops everything",
        ]


def goodbye(data_dir: Path) -> str:
    return (
        f"stopped; everything is kept in {data_dir}: `hemkoll demo` carries on from here, "
        "`hemkoll demo --reset` starts over"
    )
