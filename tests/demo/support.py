"""Running ``hemkoll demo`` as a subprocess and looking at its processes (tests only)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

READY_TIMEOUT_S = 60.0
# Beyond the demo's own wait for a settled replay (watch.REPORT_SETTLE_S, 90 s).
SETTLE_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (by parent pid), with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = {pid}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in found and child not in found:
                found.add(child)
                changed = True
    found.discard(pid)
    out = {}
    for child in found:
        try:
            out[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
    return {k: v.decode(errors="replace") for k, v in out.items()}


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Demo:
    """``hemkoll demo`` in a subprocess; ``env``: HEMKOLL_* settings (none: embedded services)."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEMKOLL_")} | (env or {})
        # stderr to a file: a pipe read only at the end could fill up and block the demo.
        self.stderr_path = data_dir.parent / f"{data_dir.name}-stderr-{time.monotonic_ns()}.txt"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hemkoll",
                "demo",
                "--data-dir",
                str(data_dir),
                "--port",
                "0",
                "--summary-every",
                "1",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self.lines: list[str] = []
        self._buffer = b""
        self._stopped: tuple[int, str] | None = None

    def read_until(self, pattern: str, timeout_s: float) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.lines:
                if regex.search(line):
                    return line
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    break
                self._buffer += chunk
                *complete, self._buffer = self._buffer.split(b"\n")
                self.lines += [c.decode() for c in complete]
        code, err = self.interrupt()
        raise AssertionError(
            f"no line matching {pattern!r} (exit status {code}); stdout:\n"
            + "\n".join(self.lines)
            + f"\nstderr:\n{err[-4000:]}"
        )

    def pump(self, timeout_s: float) -> None:
        """Read what the demo prints for ``timeout_s`` (into ``lines``), matching nothing."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.process.stdout], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    return
                self._buffer += chunk
                *complete, self._buffer = self._buffer.split(b"\n")
                self.lines += [c.decode() for c in complete]

    def interrupt(self) -> tuple[int, str]:
        """SIGINT, then everything it still prints; (exit status, stderr). Once is enough."""
        if self._stopped is None:
            self.process.send_signal(signal.SIGINT)
            out, _ = self.process.communicate(timeout=STOP_TIMEOUT_S)
            self._stderr.close()
            self.lines += (self._buffer + out).decode().splitlines()
            self._buffer = b""
            err = self.stderr_path.read_text(errors="replace")
            self._stopped = (self.process.returncode, err)
        return self._stopped
