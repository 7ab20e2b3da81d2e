"""A long-running command stops on SIGTERM after the work in hand, and exits cleanly even when
a second SIGTERM follows the first."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from hemkoll.cli.services import _run_until_signalled
from hemkoll.settings import Settings


@pytest.fixture
def restore_signal_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_sigterm_stops_the_service_and_later_ones_are_ignored(
    monkeypatch: pytest.MonkeyPatch, restore_signal_handlers: None
) -> None:
    monkeypatch.delenv("HEMKOLL_METRICS_PORT", raising=False)
    stopped = threading.Event()
    stops: list[str] = []

    def run() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopped.wait(5.0), "SIGTERM did not ask the service to stop"

    def stop() -> None:
        stops.append("stop")
        stopped.set()

    code = _run_until_signalled(run, stop, "stopping", settings=Settings())

    assert code == 0
    assert stops == ["stop"]
    # While the interpreter finalises, CPython restores the default action (termination) for
    # signals with a Python handler: a second SIGTERM then would turn this clean exit into a
    # kill. Ignored signals stay ignored through finalisation.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    os.kill(os.getpid(), signal.SIGTERM)  # survives
    assert stops == ["stop"]
