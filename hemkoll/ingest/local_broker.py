"""A Mosquitto process of our own on a free local port, with hemkoll's queue limits.

For the tests that prove delivery guarantees, the benchmarks, and a demo on a machine with a
``mosquitto`` binary: each gets a broker configured exactly as deployed
(``deploy/mosquitto/conf.d``), never Debian's defaults, which drop messages for a slow
subscriber.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

# Where the project's broker limits live in a source checkout.
LIMITS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "conf.d"
# Mosquitto binds within a few milliseconds; a loaded CI machine can take seconds.
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout} s")


class LocalMosquitto:
    """Start with ``start()``, stop with ``stop()``; the log goes to ``workdir/mosquitto.log``."""

    def __init__(
        self,
        workdir: Path,
        extra_config: str = "",
        *,
        include_limits: bool = True,
        anonymous: bool = True,
    ) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise FileNotFoundError("no mosquitto binary on PATH or in /usr/sbin")
        if include_limits and not LIMITS_DIR.is_dir():
            raise FileNotFoundError(f"hemkoll's broker limits not found at {LIMITS_DIR}")
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            # Started as root, Mosquitto would switch to its own user, which may not be able to
            # read a private working folder.
            "user root",
            "persistence false",
            "log_type error",
            "log_type warning",
            "log_type notice",
            extra_config,
        ]
        if include_limits:
            lines.append(f"include_dir {LIMITS_DIR}")
        workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        self._log_handle = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own config file)
            [self.binary, "-c", str(self.config)],
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.host, self.port)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
