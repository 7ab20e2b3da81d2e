"""One seeded simulation: cohort, episodes, daily signals, devices, and the message plan.

Each part draws from its own child of ``numpy.random.SeedSequence(seed)``, so the same seed gives
byte-identical output, and changing how one part draws leaves the others as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from hemkoll.simulator.cohort import Cohort, draw_cohort
from hemkoll.simulator.devices import simulate_devices
from hemkoll.simulator.episodes import EpisodeEffects, EpisodeTable, draw_episodes, episode_effects
from hemkoll.simulator.groundtruth import Episode, episode_records, write_episodes
from hemkoll.simulator.parameters import DEFAULT_PARAMETERS, SimulationParameters
from hemkoll.simulator.physiology import (
    FloatArray,
    Signals,
    follow_up_answers,
    measured_signals,
    true_signals,
)
from hemkoll.simulator.plan import MessagePlan, build_plan
from hemkoll.simulator.timeline import Timeline, make_timeline

# Child streams of the seed, one per part (their order must never change: it is the format).
_STREAMS = ("cohort", "episodes", "true", "measured", "devices", "plan", "follow_up")
# A default start that puts Swedish midsummer inside a 180-day run.
DEFAULT_START = date(2025, 4, 1)


@dataclass(frozen=True)
class Simulation:
    seed: int
    parameters: SimulationParameters
    timeline: Timeline
    cohort: Cohort
    episode_table: EpisodeTable
    episodes: tuple[Episode, ...]
    effects: EpisodeEffects
    true: Signals
    measured: Signals
    # Patients x days: the answer to the questionnaire's follow-up, NaN where not asked.
    follow_up: FloatArray
    plan: MessagePlan

    def write_ground_truth(self, path: Path) -> int:
        """Write the episodes as JSON lines (see hemkoll.simulator.groundtruth)."""
        return write_episodes(path, self.episodes)


def run_tag(seed: int) -> str:
    """Eight hex digits that tell one seed's message ids from another's."""
    state = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint32)
    return f"{int(state[0]):08x}"


def simulate(
    patients: int,
    days: int,
    *,
    seed: int,
    start: date = DEFAULT_START,
    parameters: SimulationParameters = DEFAULT_PARAMETERS,
) -> Simulation:
    """Simulate ``patients`` patients for ``days`` days from local date ``start``."""
    streams = dict(
        zip(
            _STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STREAMS))),
            strict=True,
        )
    )
    timeline = make_timeline(start, days, parameters.timezone)
    cohort = draw_cohort(streams["cohort"], patients, parameters)
    table = draw_episodes(streams["episodes"], patients, days, parameters)
    effects = episode_effects(table, patients, days, parameters)
    true = true_signals(streams["true"], cohort, timeline, effects, parameters)
    measured = measured_signals(streams["measured"], cohort, true, parameters)
    follow_up = follow_up_answers(streams["follow_up"], cohort, true, measured, parameters)
    readings, messages = simulate_devices(
        streams["devices"],
        cohort=cohort,
        timeline=timeline,
        measured=measured,
        follow_up=follow_up,
        in_hospital=effects.in_hospital,
        params=parameters,
    )
    plan = build_plan(
        streams["plan"],
        readings=readings,
        messages=messages,
        references=cohort.references,
        run_tag=run_tag(seed),
        params=parameters,
    )
    return Simulation(
        seed=seed,
        parameters=parameters,
        timeline=timeline,
        cohort=cohort,
        episode_table=table,
        episodes=episode_records(table, cohort.references, timeline),
        effects=effects,
        true=true,
        measured=measured,
        follow_up=follow_up,
        plan=plan,
    )
