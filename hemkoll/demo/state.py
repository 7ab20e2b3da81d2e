"""The demo's data directory and what it remembers between runs.

``$XDG_DATA_HOME/hemkoll/demo`` (default ``~/.local/share/hemkoll/demo``), or ``--data-dir``::

    state.json            the cohort: seed, patients, days, first simulated day, health centre,
                          the simulated devices' ids and MQTT passwords, where publishing got to
    episodes.jsonl        ground truth: the simulated deterioration episodes
    notifications.jsonl   every webhook the simulated health centre received
    summary.json          the latest summary and detection report
    demo.log              hemkoll's log of the run
    postgres/, postgres.log, postgres.password     the embedded PostgreSQL (when used)
    mosquitto/            the embedded broker: config, password and ACL files, sessions, log

A second run reuses it all; ``--reset`` empties the directory first (once it holds the lock:
never under a running demo). One demo at a time per directory (``demo.lock``).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import orjson

from hemkoll.demo.clock import DEFAULT_PACE_MINUTES, Clock, wall_s_per_day
from hemkoll.demo.errors import DemoError

STATE_VERSION = 1
DEFAULT_PATIENTS, DEFAULT_DAYS, DEFAULT_SEED = 50, 60, 1
# The simulation goes on this long after today: live data for as long as anyone watches.
LIVE_DAYS = 365
TIMEZONE = "Europe/Stockholm"  # the simulator's patients' (DEFAULT_PARAMETERS.timezone)
# What marks a directory as the demo's, so that --reset never deletes anything else.
MARKERS = ("state.json", "demo.lock", "postgres", "mosquitto")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hemkoll" / "demo"


@dataclass(frozen=True)
class DemoState:
    seed: int
    patients: int
    days: int
    # The simulation covers ``days`` replayed days and ``live_days`` after them.
    live_days: int
    start: date
    centre: str
    # Simulated device key ("SIM-0001/scale") -> [device id, MQTT password].
    devices: dict[str, list[str]] = field(default_factory=dict)
    # Publishing starts again at this plan time (None: from the beginning).
    checkpoint: datetime | None = None
    # Where simulated time lands on the wall clock (hemkoll.demo.clock), and when the state
    # was last saved (a resumed run at a pace goes on from the simulated moment it showed).
    clock: Clock = field(default_factory=Clock)
    saved_at: datetime | None = None
    version: int = STATE_VERSION

    def with_checkpoint(self, checkpoint: datetime | None, saved_at: datetime) -> DemoState:
        return replace(self, checkpoint=checkpoint, saved_at=saved_at)


class DataDir:
    def __init__(self, path: Path) -> None:
        self.path = path.expanduser().resolve()
        self._lock: IO[bytes] | None = None

    def file(self, name: str) -> Path:
        return self.path / name

    def reset(self) -> None:
        """Empty the directory (the caller holds its lock), if it is the demo's (or empty)."""
        if not self.path.exists():
            return
        for entry in self.path.iterdir():
            if entry.name == "demo.lock":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def check_resettable(self) -> None:
        """Refuse to reset a non-empty directory that holds no demo (a mistyped --data-dir)."""
        if not self.path.exists() or not any(self.path.iterdir()):
            return
        if not any((self.path / marker).exists() for marker in MARKERS):
            raise DemoError(
                f"{self.path} is not a demo data directory (no state.json); not deleting it"
            )

    def lock(self) -> None:
        """Hold the directory for this run; another demo on it is refused."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = self.file("demo.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DemoError(f"another hemkoll demo is running with {self.path}") from None
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def load(self) -> DemoState | None:
        path = self.file("state.json")
        if not path.exists():
            return None
        raw = orjson.loads(path.read_bytes())
        if raw.get("version") != STATE_VERSION:
            raise DemoError(f"{path} is from another version of the demo; run with --reset")
        checkpoint = raw.get("checkpoint")
        saved_at = raw.get("saved_at")
        return DemoState(
            seed=int(raw["seed"]),
            patients=int(raw["patients"]),
            days=int(raw["days"]),
            live_days=int(raw["live_days"]),
            start=date.fromisoformat(raw["start"]),
            centre=str(raw["centre"]),
            devices={str(k): [str(v[0]), str(v[1])] for k, v in raw["devices"].items()},
            checkpoint=None if checkpoint is None else datetime.fromisoformat(checkpoint),
            clock=Clock.from_json(raw.get("clock")),
            saved_at=None if saved_at is None else datetime.fromisoformat(saved_at),
        )

    def save(self, state: DemoState) -> None:
        """Written whole and replaced in one step; readable only by the owner (passwords)."""
        path = self.file("state.json")
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_bytes(orjson.dumps(asdict(state), option=orjson.OPT_INDENT_2))
        tmp.replace(path)


@dataclass(frozen=True)
class DemoOptions:
    data_dir: DataDir
    # None: the data directory's cohort, or the defaults for a new one.
    patients: int | None
    days: int | None
    seed: int | None
    reset: bool
    port: int
    summary_every_s: float
    # The simulated nurse acts on alerts (her own staff member and token).
    nurse: bool = True
    # Wall-clock seconds per simulated day once live (clock.SECONDS_PER_DAY: real time).
    pace_s: int = wall_s_per_day(DEFAULT_PACE_MINUTES)


def cohort_state(options: DemoOptions, saved: DemoState | None) -> DemoState:
    """The saved cohort (options may only repeat it), or a new one from the options."""
    if saved is None:
        days = options.days or DEFAULT_DAYS
        return DemoState(
            seed=DEFAULT_SEED if options.seed is None else options.seed,
            patients=options.patients or DEFAULT_PATIENTS,
            days=days,
            live_days=LIVE_DAYS,
            start=datetime.now(ZoneInfo(TIMEZONE)).date() - timedelta(days=days),
            centre=f"Demo health centre {secrets.token_hex(3)}",
        )
    asked = {"patients": options.patients, "days": options.days, "seed": options.seed}
    clash = {k: v for k, v in asked.items() if v is not None and v != getattr(saved, k)}
    if clash:
        have = ", ".join(f"{k} {getattr(saved, k)}" for k in clash)
        raise DemoError(
            f"{options.data_dir.path} holds a demo with {have}; run with --reset to start a "
            "new one, or leave those options out to carry on with it"
        )
    return saved
