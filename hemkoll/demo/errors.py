"""The demo's own error: a set-up that cannot go on, with what to do about it.

The launchers of its PostgreSQL and Mosquitto raise ``hemkoll.local_services.children.
StartError`` instead; the CLI reports both alike (``hemkoll.cli.entry.EXIT_STATUS``).
"""


class DemoError(RuntimeError):
    """A demo set-up that cannot go on, with what to do about it."""
