"""The robustness grid: its cells, their seeds, and cohorts of both generators a backtest scores."""

from __future__ import annotations

import numpy as np
import pytest

from hemkoll.detection.backtest import backtest
from hemkoll.detection.grid import GENERATORS, LEVELS, TUNING_CELLS, build_cohort, grid_cells
from hemkoll.detection.rulesets import RULE_SETS
from hemkoll.simulator import SimulationParameters
from hemkoll.simulator.independent import IndependentParameters


def test_twelve_cells_both_generators_every_level_held_out_seeds() -> None:
    cells = grid_cells()
    assert len(cells) >= 12
    assert {(c.generator, c.level) for c in cells} == {(g, lv) for g in GENERATORS for lv in LEVELS}
    seeds = [c.seed for c in cells]
    assert len(set(seeds)) == len(seeds)
    assert not set(seeds) & {s for _, _, s in TUNING_CELLS}


@pytest.mark.parametrize("cell", grid_cells(), ids=lambda c: c.name)
def test_each_level_changes_real_parameters(cell) -> None:  # type: ignore[no-untyped-def]
    defaults = SimulationParameters() if cell.generator == "first" else IndependentParameters()
    changes = cell.changes()
    assert (changes == {}) == (cell.level == "base")
    for name, value in changes.items():
        assert getattr(defaults, name) != value, name
    if cell.level == "hard":
        others = [c for c in grid_cells() if c.generator == cell.generator and c.level != "hard"]
        for other in others:
            assert other.changes().items() <= changes.items()


@pytest.mark.parametrize("generator", GENERATORS)
def test_a_cohort_of_either_generator_is_backtested_and_scored(generator: str) -> None:
    cell = next(c for c in grid_cells() if c.generator == generator and c.level == "base")
    cohort = build_cohort(cell, 30, 200)
    assert len(cohort.series) == 30
    assert cohort.readings > 30 * 100
    assert cohort.episodes.patient.size == cohort.episodes.onset.size > 0
    assert np.all(cohort.episodes.discharge > cohort.episodes.onset)
    score = backtest(
        RULE_SETS["preset"],
        cohort.series,
        cohort.episodes,
        tz=cohort.tz,
        start=cohort.start,
        end=cohort.end,
    )
    assert score.episodes > 0
    assert 0 < score.detected <= score.episodes
    assert score.alerts >= score.unexplained > 0
