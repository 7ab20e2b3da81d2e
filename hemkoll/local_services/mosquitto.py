"""A Mosquitto process of our own on a free local port.

``Mosquitto`` runs the binary on a configuration file and waits for its ports; ``LocalMosquitto``
writes that file with hemkoll's queue limits (``deploy/mosquitto/conf.d``), never Debian's
defaults, which drop messages for a slow subscriber: for the tests that prove delivery
guarantees, the benchmarks, and the demo (which adds its registry-written password and ACL
files, hemkoll.demo.broker). The deployed configuration files are run by
``deployed_mosquitto``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from hemkoll.local_services import children
from hemkoll.local_services.children import StartError
from hemkoll.local_services.ports import free_port, wait_for_port

# Where the project's broker limits live in a source checkout.
LIMITS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "conf.d"
HOST = "127.0.0.1"
# SIGTERM makes Mosquitto save its persistence file and quit, in well under a second; a loaded
# machine gets ten before the process is killed.
STOP_TIMEOUT_S = 10.0
# Where a mosquitto binary is looked for after PATH: Debian's, then Homebrew's two prefixes.
BINARY_CANDIDATES = (
    "/usr/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
)


def find_mosquitto() -> Path:
    for candidate in (shutil.which("mosquitto"), *BINARY_CANDIDATES):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise FileNotFoundError(f"no mosquitto binary on PATH or at {', '.join(BINARY_CANDIDATES)}")


class Mosquitto:
    """A Mosquitto process on ``config``; its output appended to ``log``.

    ``start()`` returns once every one of ``listeners`` takes connections (the first is
    ``port``, the plain MQTT listener of ``url``); ``stop()`` is SIGTERM (Mosquitto saves its
    persistence file), ``kill9()`` is not; ``start()`` again runs on the same files and ports.
    ``die_with_parent``: the process is started by ``children`` (a session of its own, and the
    parent-death signal), as the demo needs; otherwise it is a plain child of the caller.
    """

    def __init__(
        self, config: Path, log: Path, listeners: Sequence[int], *, die_with_parent: bool = False
    ) -> None:
        self.binary = find_mosquitto()
        self.host = HOST
        self.config = config
        self.log = log
        self.listeners = tuple(listeners)
        self.port = self.listeners[0]
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> Self:
        command = [str(self.binary), "-c", str(self.config)]
        if self.die_with_parent:
            self.process = children.start(command, log=self.log, death_signal=signal.SIGTERM)
        else:
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(  # noqa: S603 (a fixed binary, our own config)
                    command, stdout=out, stderr=subprocess.STDOUT
                )
        try:
            for port in self.listeners:
                wait_for_port(self.host, port)
        except TimeoutError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise StartError(f"Mosquitto exited at start; see {self.log}")
        return self

    def kill9(self) -> None:
        """SIGKILL: no persistence save; what the last autosave wrote is what comes back."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.die_with_parent:
            children.stop(self.process, signals=((signal.SIGTERM, STOP_TIMEOUT_S),))
        else:
            self.process.terminate()
            self.process.wait(timeout=STOP_TIMEOUT_S)
        self.process = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class LocalMosquitto(Mosquitto):
    """A broker on ``workdir/mosquitto.conf``, written here; its log is ``workdir/mosquitto.log``.

    ``include_limits``: hemkoll's queue limits (required then). ``anonymous``: clients may
    connect without a password (otherwise ``extra_config`` names the password and ACL files).
    ``persistence``: sessions and queued messages are kept in that folder across restarts
    (off: a restart forgets them). ``extra_config``: more lines of configuration.
    """

    def __init__(
        self,
        workdir: Path,
        extra_config: str = "",
        *,
        include_limits: bool = True,
        anonymous: bool = True,
        persistence: Path | None = None,
        die_with_parent: bool = False,
    ) -> None:
        if include_limits and not LIMITS_DIR.is_dir():
            raise FileNotFoundError(f"hemkoll's broker limits not found at {LIMITS_DIR}")
        super().__init__(
            workdir / "mosquitto.conf",
            workdir / "mosquitto.log",
            [free_port()],
            die_with_parent=die_with_parent,
        )
        self.workdir = workdir
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            # Started as root, Mosquitto would switch to its own user, which may not be able to
            # read a private working folder (ignored when not root).
            "user root",
            *(
                ["persistence false"]
                if persistence is None
                else ["persistence true", f"persistence_location {persistence}/"]
            ),
            "log_type error",
            "log_type warning",
            "log_type notice",
            extra_config,
        ]
        if include_limits:
            lines.append(f"include_dir {LIMITS_DIR}")
        workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
