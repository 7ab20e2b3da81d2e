"""The simulated health centre's webhook endpoint, served in-process.

::

    with WebhookReceiver("whsec_...", jsonl_path=out / "notifications.jsonl") as centre:
        register(centre.url)                       # where hemkoll's dispatcher delivers
        centre.recorder.wait_for_notifications(3, timeout_s=30)
        centre.set_mode(Mode.throttle(retry_after_s=60))
        centre.stop(); ...; centre.start()        # down, then back on the same port

With a nurse, pass ``on_notification=nurse.on_notification`` (see ``nurse``). A listener is
called on the server's event loop for each first delivery, after it is recorded: it must return
at once, and an exception from it answers 500 (logged by uvicorn) while the delivery stays
recorded, so the sender's retry is then a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hemkoll.simulator.receiver.endpoint import (
    WEBHOOK_PATH,
    Endpoint,
    NotificationListener,
    Verifier,
    build_app,
)
from hemkoll.simulator.receiver.modes import Mode
from hemkoll.simulator.receiver.recorder import Recorder
from hemkoll.simulator.receiver.server import DEFAULT_HOST, ThreadedServer


class WebhookReceiver:
    """``start()``/``stop()`` or ``with``; ``url`` stays the same across restarts."""

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        jsonl_path: Path | None = None,
        on_notification: NotificationListener | None = None,
    ) -> None:
        self.recorder = Recorder(jsonl_path)
        verifier = Verifier([secrets] if isinstance(secrets, str) else list(secrets))
        self._endpoint = Endpoint(verifier, self.recorder, on_notification)
        self._server = ThreadedServer(
            build_app(self._endpoint), host=host, port=port, name="hemkoll-webhook-receiver"
        )

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The endpoint to register with hemkoll (known once started)."""
        return self._server.base_url + WEBHOOK_PATH

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def running(self) -> bool:
        return self._server.running

    @property
    def mode(self) -> Mode:
        return self._endpoint.mode

    def set_mode(self, mode: Mode) -> None:
        """Answer every request from now on as ``mode`` says (requests in flight keep theirs)."""
        self._endpoint.mode = mode

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
