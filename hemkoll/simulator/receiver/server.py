"""An ASGI app served by uvicorn on a thread of its own, for tests, benchmarks and the demo.

The listening socket is bound here (with SO_REUSEADDR), not by uvicorn: a port in use fails
``start()`` in the caller's thread with the OSError, and ``stop()`` then ``start()`` binds the
same port again at once (a stopped endpoint is how a health centre "goes down"). uvicorn keeps
the process's logging configuration and writes no access log.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

DEFAULT_HOST = "127.0.0.1"
# uvicorn serves within milliseconds of starting; this long means something is wrong.
START_TIMEOUT_S = 10.0
# How often start() looks whether uvicorn is serving yet.
START_POLL_S = 0.005
# On stop, requests in flight get this long to finish (whole seconds, as uvicorn takes them).
# A normal one takes milliseconds; a longer one (a slow mode's delay) is then cancelled, as an
# endpoint going down would drop it: its sender sees a 500 and uvicorn logs the cancellation.
STOP_GRACE_S = 1
# uvicorn notices should_exit within its 0.1 s tick and waits 0.1 s for connections to close;
# beyond the grace, this much more before forcing it.
STOP_MARGIN_S = 5.0


class ThreadedServer:
    """``start()``, ``stop()`` (or ``with``); the port chosen on the first start is kept."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        name: str = "asgi-server",
        lifespan: Literal["on", "off"] = "off",
    ) -> None:
        """``lifespan="on"`` for an app that opens resources in its lifespan (the API)."""
        self._app = app
        self._lifespan = lifespan
        self.host = host
        self._port = port
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __enter__(self) -> ThreadedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port; 0 until a start has chosen a free one."""
        return self._port

    @property
    def base_url(self) -> str:
        if self._port == 0:
            raise RuntimeError("no port yet: start the server first")
        return f"http://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
        except OSError:
            sock.close()
            raise
        self._port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self._app,
            lifespan=self._lifespan,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=STOP_GRACE_S,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._halt(server, thread, sock)
                raise RuntimeError(
                    f"{self._name} did not start serving on {self.host}:{self._port} "
                    f"within {START_TIMEOUT_S:g} s (see the log)"
                )
            time.sleep(START_POLL_S)
        self._server, self._thread, self._socket = server, thread, sock

    def stop(self) -> None:
        """Stop serving and join the thread; does nothing when not running."""
        if self._server is None or self._thread is None or self._socket is None:
            return
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        self._halt(server, thread, sock)

    def _halt(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket) -> None:
        server.should_exit = True
        thread.join(STOP_GRACE_S + STOP_MARGIN_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_MARGIN_S)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"{self._name}'s thread did not stop")
