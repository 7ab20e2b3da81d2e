"""Mosquitto password and ACL files written from the device registry.

Devices log in with their device id as user name; the ACL's ``pattern`` lines (``%u`` is the
user name) let each device publish only to its own readings topic and read only its own
feedback topic. The ingest service's own user reads every readings topic and writes every
feedback topic. Mosquitto rereads both files on SIGHUP.

Shared subscriptions (several ingest workers, docs/scaling.md): Mosquitto 2.0.11 grants any
subscription and checks read access when it delivers, against the message's own topic, so the
plain ``topic read .../+/readings`` line is what lets a ``$share/<group>/...`` member receive
(measured: with only the ``$share`` line nothing is delivered). The ``$share/+/...`` line is
kept for brokers that check the subscription filter as written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from hemkoll.protocol.topics import PROTOCOL_VERSION
from hemkoll.store.types import DeviceCredential

_HEADER = "# Written by `hemkoll broker-auth` from the hemkoll device registry. Do not edit.\n"


def password_file(devices: Iterable[DeviceCredential], service_users: dict[str, str]) -> str:
    """Lines ``user:hash``: the service users' given hashes, then every active device's."""
    lines = [f"{user}:{hashed}" for user, hashed in sorted(service_users.items())]
    lines += [f"{device.id}:{device.credential_hash}" for device in devices]
    return _HEADER + "\n".join(lines) + "\n"


def acl_file(prefix: str, service_user: str) -> str:
    base = f"{prefix}/{PROTOCOL_VERSION}/devices"
    return (
        _HEADER
        + f"\n# The ingest service.\nuser {service_user}\n"
        + f"topic read {base}/+/readings\n"
        + f"topic read $share/+/{base}/+/readings\n"
        + f"topic write {base}/+/feedback\n"
        + "\n# Every device, by its own id (the user name it logs in with).\n"
        + f"pattern write {base}/%u/readings\n"
        + f"pattern read {base}/%u/feedback\n"
    )


def write_atomically(path: Path, content: str, *, mode: int = 0o640) -> None:
    """Replace ``path`` in one step, so the broker never reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
