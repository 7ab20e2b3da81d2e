"""A second, independent cohort generator (a different model of deterioration and of home
measuring than ``hemkoll.simulator``'s), for scoring rules on assumptions they were not tuned on.
See docs/simulator.md, "The second generator"."""

from hemkoll.simulator.independent.generate import IndependentCohort, generate
from hemkoll.simulator.independent.parameters import INDEPENDENT_DEFAULTS, IndependentParameters

__all__ = ["INDEPENDENT_DEFAULTS", "IndependentCohort", "IndependentParameters", "generate"]
