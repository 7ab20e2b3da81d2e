"""The demo's own error: a set-up that cannot go on, with what to do about it.

The launchers of its PostgreSQL and Mosquitto raise ``hemkoll.local_services.children.
StartError`` instead; ``run`` reports both alike.
"""


class DemoError(RuntimeError):
    """A demo set-up that cannot go on, with what to do about it."""
