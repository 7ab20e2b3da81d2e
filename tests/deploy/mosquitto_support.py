"""Starting Mosquitto from the deployed configuration files, moved into a test's folder.

``render`` keeps every line of a deployed file except the ones that name a port or a path of
the target machine: those are replaced, each of them exactly once, so a deployed file that
changes shape fails here rather than being tested half. ``tls_material`` makes a throwaway CA
and a server certificate for 127.0.0.1/localhost with openssl.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hemkoll.ingest.local_broker import LIMITS_DIR, free_port, wait_for_port

DEPLOY = LIMITS_DIR.parents[1]
SYSTEMD_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
COMPOSE_CONF = DEPLOY / "compose" / "mosquitto.conf"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def tls_material(folder: Path) -> Tls:
    """A CA and a server certificate it signed, for localhost and 127.0.0.1 (two days)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        folder / name for name in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = ["openssl", "req", *ec]
    subprocess.run(
        [
            *run,
            "-x509",
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=hemkoll test CA",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*run, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        check=True,
        capture_output=True,
    )
    extensions = folder / "server.ext"
    extensions.write_text(
        "subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n"
    )
    subprocess.run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", extensions],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Tls(ca, cert, key)


def directive(text: str, name: str) -> list[str]:
    """The values of every ``name value`` line of a Mosquitto configuration."""
    return [m[1].strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, flags=re.MULTILINE)]


def render(
    source: Path,
    folder: Path,
    *,
    tls_port: int,
    plain_port: int,
    tls: Tls,
    passwd: Path,
    acl: Path,
    drop: tuple[str, ...] = (),
) -> Path:
    """The deployed file with its ports, paths and (as root here) user moved into ``folder``.

    ``drop`` removes directives altogether (the control of the persistence test).
    """
    text = source.read_text()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    limits = folder / "hemkoll.d"
    limits.mkdir(exist_ok=True)
    for conf in LIMITS_DIR.glob("*.conf"):
        shutil.copy(conf, limits / conf.name)
    replacements = {
        r"^listener 8883$": f"listener {tls_port} 127.0.0.1",
        r"^listener 1883( 127\.0\.0\.1)?$": f"listener {plain_port} 127.0.0.1",
        r"^certfile .*$": f"certfile {tls.cert}",
        r"^keyfile .*$": f"keyfile {tls.key}",
        r"^password_file .*$": f"password_file {passwd}",
        r"^acl_file .*$": f"acl_file {acl}",
        r"^persistence_location .*$": f"persistence_location {folder / 'data'}/",
        r"^include_dir .*$": f"include_dir {limits}",
    }
    for pattern, value in replacements.items():
        text, count = re.subn(pattern, value, text, flags=re.MULTILINE)
        assert count == 1, f"{source.name}: {pattern} matched {count} lines"
    for name in drop:
        text, count = re.subn(rf"^{name}\s.*$", "", text, flags=re.MULTILINE)
        assert count == 1, f"{source.name}: {name} matched {count} lines"
    rendered = folder / "mosquitto.conf"
    # Started as root, Mosquitto would switch to its own user, which cannot read the test's
    # private folder; as deployed it does switch, and reads its files as that user.
    rendered.write_text(text + "\nuser root\n")
    return rendered


class Broker:
    """A Mosquitto process on a rendered configuration; stderr/stdout to ``folder/broker.log``."""

    def __init__(self, config: Path, tls_port: int, plain_port: int) -> None:
        self.config = config
        self.tls_port = tls_port
        self.plain_port = plain_port
        self.log = config.parent / "broker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @classmethod
    def ports(cls) -> tuple[int, int]:
        return free_port(), free_port()

    def start(self) -> Broker:
        if self._log is None:
            self._log = self.log.open("ab")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for_port("127.0.0.1", self.plain_port)
        wait_for_port("127.0.0.1", self.tls_port)
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")
