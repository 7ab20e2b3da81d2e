"""The ``hemkoll`` command: builds the settings once and hands each command what it needs.

``parser`` declares the commands; ``services`` (ingest, rules, dispatch, serve, demo),
``admin`` (migrate, enrol, token, broker-auth) and ``clinical`` (thresholds, monitoring,
backtest) run them; ``entry`` is the entry point.
"""

from hemkoll.cli.entry import main

__all__ = ["main"]
