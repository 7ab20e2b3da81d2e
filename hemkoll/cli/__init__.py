"""The ``hemkoll`` command: builds the settings once and hands each command what it needs.

``parser`` declares the commands; ``services`` (ingest, rules, dispatch, serve, demo),
``admin`` (migrate, enrol, token, broker-auth), ``enrol_bulk`` (enrol-bulk) and ``clinical``
(thresholds, monitoring, backtest) run them, raising or letting through the error that says what
was wrong (``errors`` holds the command line's own); ``entry.main`` is the entry point and the
one place that turns each such error into its message and exit status.
"""

from hemkoll.cli.entry import main

__all__ = ["main"]
