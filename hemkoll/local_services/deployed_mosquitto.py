"""Mosquitto on the deployed configuration files, moved into a folder of the caller's.

``render`` keeps every line of a deployed file except the ones that name a port or a path of
the target machine: those are replaced, each of them exactly once, so a deployed file that
changes shape fails here rather than being run half. The TLS listener needs the material of
``hemkoll.local_services.tls``; the password and ACL files are the caller's (``hemkoll
broker-auth`` writes them from the registry).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hemkoll.local_services.mosquitto import LIMITS_DIR, Mosquitto
from hemkoll.local_services.ports import free_port
from hemkoll.local_services.tls import Tls

DEPLOY = LIMITS_DIR.parents[1]
SYSTEMD_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
COMPOSE_CONF = DEPLOY / "compose" / "mosquitto.conf"


def directive(text: str, name: str) -> list[str]:
    """The values of every ``name value`` line of a Mosquitto configuration."""
    return [m[1].strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, flags=re.MULTILINE)]


def _replace_once(pattern: str, value: str, text: str, source: Path) -> str:
    text, count = re.subn(pattern, value, text, flags=re.MULTILINE)
    if count != 1:
        raise ValueError(f"{source.name}: {pattern} matched {count} lines")
    return text


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
        text = _replace_once(pattern, value, text, source)
    for name in drop:
        text = _replace_once(rf"^{name}\s.*$", "", text, source)
    rendered = folder / "mosquitto.conf"
    # Started as root, Mosquitto would switch to its own user, which cannot read the caller's
    # private folder; as deployed it does switch, and reads its files as that user.
    rendered.write_text(text + "\nuser root\n")
    return rendered


class DeployedMosquitto(Mosquitto):
    """A broker on a rendered configuration; its output in ``broker.log`` beside it."""

    def __init__(self, config: Path, tls_port: int, plain_port: int) -> None:
        super().__init__(config, config.parent / "broker.log", [plain_port, tls_port])
        self.tls_port = tls_port
        self.plain_port = plain_port

    @classmethod
    def ports(cls) -> tuple[int, int]:
        """Free ports for the TLS and the plain listener, in that order."""
        return free_port(), free_port()
