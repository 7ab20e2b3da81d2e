"""What bench/soak.py samples of each process (resident memory and CPU, from /proc), how it
prints the samples, and the verdict on memory over the second half of the load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import cpu_seconds

WATCHED = ("ingest", "rules", "dispatch", "mosquitto", "postgres", "bench (receiver)")
FLAT_SHARE = 0.05
FLAT_MIB = 5.0


def proc_memory_cpu(pid: int) -> tuple[float, float, float] | None:
    """(VmRSS MiB, RssAnon MiB, CPU seconds) of a process, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    cpu = cpu_seconds(pid)
    if cpu is None:
        return None
    fields = {
        line.split(":", 1)[0]: line.split(":", 1)[1] for line in status.splitlines() if ":" in line
    }
    rss = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
    anon = int(fields.get("RssAnon", "0 kB").split()[0]) / 1024
    return rss, anon, cpu


def children_of(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == parent:
            out.append(int(entry.name))
    return out


@dataclass
class Sample:
    t: float  # seconds since the load started
    published: int
    stored: int
    queue: int
    pending: int
    rss: dict[str, float]
    cpu: dict[str, float]  # seconds so far
    load1: float


def print_header() -> None:
    names = "".join(f"{n.split()[0][:9]:>10}" for n in WATCHED)
    print(
        f"\n{'t s':>6}{'published':>11}{'stored':>9}{'rd/s':>7}{'backlog':>8}{'evalq':>6}"
        f"{'pend':>6}{'load':>6} | RSS MiB:{names}"
    )


def print_sample(s: Sample, previous: Sample | None) -> None:
    rate = 0.0
    if previous is not None and s.t > previous.t:
        rate = (s.stored - previous.stored) / (s.t - previous.t)
    memory = "".join(f"{s.rss.get(n, 0.0):10.1f}" for n in WATCHED)
    print(
        f"{s.t:6.0f}{s.published:11,}{s.stored:9,}{rate:7.0f}{s.published - s.stored:8,}"
        f"{s.queue:6}{s.pending:6}{s.load1:6.1f} |         {memory}",
        flush=True,
    )


def memory_verdicts(samples: Sequence[Sample], duration_s: float) -> dict[str, dict[str, Any]]:
    """Per process: RSS over the second half of the load; slope by least squares; flat or not."""
    half = [s for s in samples if duration_s / 2 <= s.t <= duration_s]
    out = {}
    for name in WATCHED:
        t = np.asarray([s.t for s in half])
        y = np.asarray([s.rss.get(name, 0.0) for s in half])
        if len(half) < 3 or not y.any():
            continue
        slope = float(np.polyfit(t, y, 1)[0])  # MiB per second
        growth = slope * (t[-1] - t[0])
        mean = float(y.mean())
        out[name] = {
            "rss_start_mib": round(float(samples[0].rss.get(name, 0.0)), 1),
            "rss_second_half_first_mib": round(float(y[0]), 1),
            "rss_end_mib": round(float(y[-1]), 1),
            "rss_max_mib": round(max(s.rss.get(name, 0.0) for s in samples), 1),
            "slope_mib_per_hour": round(slope * 3600, 1),
            "second_half_growth_mib": round(float(growth), 1),
            "flat": bool(growth < max(FLAT_SHARE * mean, FLAT_MIB)),
        }
    return out
