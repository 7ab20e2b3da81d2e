"""Simulated heart-failure home monitoring: a seeded cohort, its devices and their messages.

Pure generation (no I/O) except ``publisher`` (MQTT) and the ground-truth file. Depends only on
``hemkoll.protocol`` for the device protocol. See docs/simulator.md.
"""

from hemkoll.simulator.groundtruth import Episode, read_episodes, write_episodes
from hemkoll.simulator.parameters import DEFAULT_PARAMETERS, SimulationParameters
from hemkoll.simulator.plan import MessagePlan, PlannedMessage, device_key
from hemkoll.simulator.simulation import DEFAULT_START, Simulation, simulate

__all__ = [
    "DEFAULT_PARAMETERS",
    "DEFAULT_START",
    "Episode",
    "MessagePlan",
    "PlannedMessage",
    "Simulation",
    "SimulationParameters",
    "device_key",
    "read_episodes",
    "simulate",
    "write_episodes",
]
