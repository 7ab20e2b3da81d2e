"""Detection quality: rule sets backtested on simulated cohorts and scored against ground truth.

``readings.simulation_series`` turns a simulation's device messages into rules-engine input the
way ingest would (parsing each payload); ``scoring.score`` counts detected episodes, lead times
and unexplained alerts; ``rulesets`` holds the comparison rule sets; ``report`` formats a table.
"""
