"""A free port on 127.0.0.1, and waiting until something listens on one."""

from __future__ import annotations

import socket
import time

# A local service binds its port within milliseconds; a loaded CI machine can take seconds.
START_TIMEOUT_S = 10.0
# How often a port that does not answer yet is tried again.
RETRY_S = 0.05
# How long one connection attempt may take (a local listener answers at once).
CONNECT_TIMEOUT_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
                return
        except OSError:
            time.sleep(RETRY_S)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout} s")
