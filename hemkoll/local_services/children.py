"""Child processes (the demo's PostgreSQL and Mosquitto): never left behind, never hit by Ctrl-C.

Each child starts in a session of its own, so a Ctrl-C at the terminal (SIGINT to the whole
foreground process group) reaches only the parent (the demo), which then stops everything in
order: the services first, the broker and the database last. On Linux each child also gets a
parent-death signal, so even a parent killed with SIGKILL leaves no child running. The signal
comes when the thread that started the child ends: start them from the main thread.

``unprivileged=True`` (for PostgreSQL, which refuses to run as root): when the parent runs as
root on Linux, the child enters a new user namespace in which it is uid 65534 ("nobody"),
mapped to root outside. PostgreSQL is then not root, while its files stay root's: no system
user is created and no folder's permissions are changed. Not root: nothing to do.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1
# The id the child has inside its user namespace: "nobody" exists on every Linux system, and
# PostgreSQL looks its own user up by id.
NAMESPACE_ID = 65534


class StartError(RuntimeError):
    """A local service that cannot be started, with what to do about it."""


def needs_namespace() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


def _child_setup(death_signal: int, unprivileged: bool) -> Callable[[], None] | None:
    """Run in the child between fork and exec (no threads there; only system calls)."""
    if sys.platform != "linux":
        return None
    enter_namespace = unprivileged and needs_namespace()
    gid = os.getegid()

    def setup() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if enter_namespace:
            if libc.unshare(CLONE_NEWUSER) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error))
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{NAMESPACE_ID} 0 1"),
                ("gid_map", f"{NAMESPACE_ID} {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
                    handle.write(text)
        libc.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)

    return setup


def _namespace_hint(args: Sequence[str]) -> StartError:
    return StartError(
        f"could not start {Path(args[0]).name} in a user namespace, which the demo needs to run "
        "PostgreSQL as root (PostgreSQL refuses root). Run `hemkoll demo` as an ordinary user, "
        "or set HEMKOLL_DATABASE_URL to a PostgreSQL of yours."
    )


def run_once(args: Sequence[str], *, log: Path, unprivileged: bool = False) -> None:
    """Run a command to completion (initdb), its output appended to ``log``."""
    with log.open("ab") as out:
        try:
            result = subprocess.run(  # noqa: S603 (our own binary and arguments)
                list(args),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(signal.SIGKILL, unprivileged),
                check=False,
            )
        except subprocess.SubprocessError as exc:
            raise _namespace_hint(args) from exc
    if result.returncode != 0:
        raise StartError(f"{Path(args[0]).name} failed (exit {result.returncode}); see {log}")


def start(
    args: Sequence[str], *, log: Path, death_signal: int, unprivileged: bool = False
) -> subprocess.Popen[bytes]:
    """Start a long-lived child; it gets ``death_signal`` should its parent die first."""
    with log.open("ab") as out:
        try:
            return subprocess.Popen(  # noqa: S603 (our own binary and arguments)
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup(death_signal, unprivileged),  # noqa: PLW1509
            )
        except subprocess.SubprocessError as exc:
            raise _namespace_hint(args) from exc


def stop(process: subprocess.Popen[bytes], *, signals: Sequence[tuple[int, float]]) -> int | None:
    """Send each (signal, seconds to wait) in turn until the child is gone; SIGKILL at last."""
    for sig, wait_s in signals:
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.kill()
        process.wait()
    return process.returncode
