"""The long-running commands: ingest, rules, dispatch, serve, and demo (all of them at once).

Each runs until SIGTERM or SIGINT and then finishes the work in hand.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

from hemkoll.alerts.worker import RulesConfig, RulesWorker
from hemkoll.ingest.service import GIL_SWITCH_INTERVAL_S, IngestConfig, IngestService
from hemkoll.observability.backlog import BacklogSampler
from hemkoll.observability.health import Heartbeat
from hemkoll.observability.server import MetricsServer
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.rules.urgency import urgent_limits
from hemkoll.settings import Settings

if TYPE_CHECKING:
    from hemkoll.api.oidc_client import OidcConfig

log = logging.getLogger("hemkoll")


def _run_until_signalled(
    run: Callable[[], None],
    stop: Callable[[], None],
    doing: str,
    *,
    settings: Settings,
    heartbeat: Heartbeat | None = None,
) -> int:
    """Run a long-lived service; SIGTERM or SIGINT asks it to stop after the work in hand.

    With ``HEMKOLL_METRICS_PORT`` set, ``/metrics`` and ``/healthz`` (the service's heartbeat)
    are served beside it, and the database-wide queues are sampled into gauges.
    """

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; %s", signal.Signals(signum).name, doing)
        stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        if settings.metrics_port is None or heartbeat is None:
            run()
            return 0
        server = MetricsServer(settings.metrics_host, settings.metrics_port, heartbeat)
        sampler = BacklogSampler(settings.database_url)
        server.start()
        sampler.start()
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, server.port)
        try:
            run()
        finally:
            sampler.stop()
            server.stop()
        return 0
    finally:
        _ignore_stop_signals()


def _ignore_stop_signals() -> None:
    """Once the service has stopped, a further SIGTERM or SIGINT has nothing left to stop.

    Ignored rather than left to the handler: while the interpreter finalises, CPython puts
    back the default action for every signal that has a Python handler, so a second SIGTERM
    (an orchestrator's, or a user's second Ctrl-C) landing then would kill a process that was
    exiting cleanly, and its exit status would say it was killed. Ignored signals stay ignored.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ingest_command(args: argparse.Namespace, settings: Settings) -> int:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    service = IngestService(
        IngestConfig(
            database_url=settings.database_url,
            mqtt=settings.mqtt,
            topic_prefix=settings.mqtt_topic_prefix,
            client_id=settings.mqtt_client_id,
            urgent=urgent_limits(HEART_FAILURE),
            ca_file=settings.mqtt_ca_file,
            share_group=settings.ingest_share_group,
        )
    )

    return _run_until_signalled(
        service.run,
        service.stop,
        "finishing the batches in hand",
        settings=settings,
        heartbeat=service.heartbeat,
    )


def rules_command(args: argparse.Namespace, settings: Settings) -> int:
    worker = RulesWorker(RulesConfig(database_url=settings.database_url, rule_set=HEART_FAILURE))
    return _run_until_signalled(
        worker.run,
        worker.stop,
        "finishing the patient in hand",
        settings=settings,
        heartbeat=worker.heartbeat,
    )


def dispatch_command(args: argparse.Namespace, settings: Settings) -> int:
    from hemkoll.notify.dispatcher import Dispatcher, DispatcherConfig  # noqa: PLC0415

    dispatcher = Dispatcher(
        DispatcherConfig(
            database_url=settings.database_url,
            mqtt=settings.mqtt,
            topic_prefix=settings.mqtt_topic_prefix,
            mqtt_client_id=settings.dispatch_client_id,
            public_url=settings.public_url,
            ca_file=settings.mqtt_ca_file,
            notification_retention=timedelta(days=settings.notification_retention_days),
        )
    )
    return _run_until_signalled(
        dispatcher.run,
        dispatcher.stop,
        "finishing the sends in flight",
        settings=settings,
        heartbeat=dispatcher.heartbeat,
    )


def oidc_config(settings: Settings) -> OidcConfig | None:
    from hemkoll.api.oidc_client import OidcConfig  # noqa: PLC0415
    from hemkoll.api.staff_claims import ClaimNames  # noqa: PLC0415

    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    secret = settings.oidc_client_secret
    return OidcConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret="" if secret is None else secret.get_secret_value(),
        scope=settings.oidc_scope,
        claims=ClaimNames(
            employee_hsa_id=settings.oidc_claim_employee_hsa_id,
            assignments=settings.oidc_claim_assignments,
            assignment_hsa_id=settings.oidc_claim_assignment_hsa_id,
            unit_hsa_id=settings.oidc_claim_unit_hsa_id,
            purpose=settings.oidc_claim_purpose,
        ),
        purposes=settings.oidc_purposes,
    )


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn  # noqa: PLC0415 (only this command needs the ASGI server)

    from hemkoll.api.app import ApiConfig, create_app  # noqa: PLC0415
    from hemkoll.api.guards import ApiLimits  # noqa: PLC0415

    app = create_app(
        ApiConfig(
            database_url=settings.database_url,
            programme=HEART_FAILURE,
            public_url=settings.public_url,
            topic_prefix=settings.mqtt_topic_prefix,
            limits=ApiLimits.from_settings(settings),
            oidc=oidc_config(settings),
        )
    )
    # uvicorn handles SIGINT/SIGTERM itself: it stops accepting, finishes requests, closes
    # the pool in the lifespan. Behind a reverse proxy, pass its address in --forwarded-allow-ips
    # so that the audit log records the client's address rather than the proxy's.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=False,
    )
    return 0


def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from hemkoll.demo.command import run_command  # noqa: PLC0415 (only this command)

    run_command(args, settings)
    return 0
