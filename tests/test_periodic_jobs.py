"""The workers' periodic jobs (the dispatcher's escalation pass, the rules worker's scheduled
pass): a failure is counted, logged with its class and, after FAILURES_UNHEALTHY in a row, makes
/healthz unhealthy; a run that succeeds makes it healthy again. Never swallowed."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from prometheus_client import REGISTRY

from hemkoll.alerts.worker import SCHEDULED_EVALUATION_JOB, RulesConfig, RulesWorker
from hemkoll.notify.dispatcher import ESCALATION_JOB, Dispatcher, DispatcherConfig
from hemkoll.observability.health import FAILURES_UNHEALTHY, Heartbeat
from hemkoll.observability.periodic import PeriodicJob, run_job
from hemkoll.observability.server import MetricsServer
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.settings import MqttEndpoint
from tests.helpers import wait_until


def _failures(job: str, error: str) -> float:
    value = REGISTRY.get_sample_value(
        "hemkoll_periodic_job_failures_total", {"job": job, "error": error}
    )
    return value or 0.0


def _unreachable(db_url: str) -> str:
    # A database that does not exist: every connection fails, as in an outage or a bad role.
    return psycopg.conninfo.make_conninfo(db_url, dbname="hemkoll_test_no_such_database")


@pytest.fixture
def served() -> Iterator[tuple[Heartbeat, str]]:
    heartbeat = Heartbeat()
    heartbeat.beat()
    server = MetricsServer("127.0.0.1", 0, heartbeat)
    server.start()
    yield heartbeat, f"http://127.0.0.1:{server.port}"
    server.stop()


def test_a_job_failing_in_a_row_turns_healthz_red_and_a_success_turns_it_green(
    served: tuple[Heartbeat, str], caplog: pytest.LogCaptureFixture
) -> None:
    heartbeat, base = served

    def broken() -> None:
        raise RuntimeError("a bug, with a patient reference TUNA-0042 in its message")

    before = _failures("test_job", "RuntimeError")
    with caplog.at_level(logging.ERROR):
        for _ in range(FAILURES_UNHEALTHY - 1):
            run_job(PeriodicJob("test_job", broken, 30), heartbeat)
            assert httpx.get(f"{base}/healthz").status_code == 200  # one failure is a blip
        run_job(PeriodicJob("test_job", broken, 30), heartbeat)
    answer = httpx.get(f"{base}/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "failing", "failing": ["test_job"]}
    assert _failures("test_job", "RuntimeError") == before + FAILURES_UNHEALTHY
    metrics = httpx.get(f"{base}/metrics").text
    assert (
        f'hemkoll_periodic_job_failure_streak{{job="test_job"}} {FAILURES_UNHEALTHY}.0' in metrics
    )
    assert "test_job failed (RuntimeError; 3 in a row" in caplog.text
    assert "TUNA-0042" not in caplog.text  # the class, never the message

    run_job(PeriodicJob("test_job", lambda: None, 30), heartbeat)
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert (
        'hemkoll_periodic_job_failure_streak{job="test_job"} 0.0'
        in httpx.get(f"{base}/metrics").text
    )


def test_a_stalled_loop_is_reported_with_its_failing_jobs() -> None:
    heartbeat = Heartbeat(failures_unhealthy=1)
    assert heartbeat.status().state == "stalled"  # never beaten
    heartbeat.beat()
    heartbeat.job_failed("escalation")
    assert heartbeat.status().state == "failing"
    stale = Heartbeat(stale_after_s=0.0, failures_unhealthy=1)
    stale.job_failed("escalation")
    status = stale.status()
    assert (status.state, status.failing_jobs) == ("stalled", ("escalation",))


def test_the_escalation_pass_of_a_dispatcher_that_cannot_reach_its_database_turns_it_red(
    db_url: str,
) -> None:
    config = DispatcherConfig(
        database_url=_unreachable(db_url),
        mqtt=MqttEndpoint(host="127.0.0.1", port=1883, tls=False, username=None, password=None),
        topic_prefix="unused",
        mqtt_client_id="unused",
        public_url="http://127.0.0.1:8000",
    )
    dispatcher = Dispatcher(config)
    try:
        dispatcher.heartbeat.beat()
        before = _failures(ESCALATION_JOB, "OperationalError")
        for _ in range(FAILURES_UNHEALTHY):
            run_job(dispatcher.escalation_job, dispatcher.heartbeat)  # as start_jobs runs it
        status = dispatcher.heartbeat.status()
        assert (status.state, status.failing_jobs) == ("failing", (ESCALATION_JOB,))
        assert _failures(ESCALATION_JOB, "OperationalError") == before + FAILURES_UNHEALTHY
    finally:
        dispatcher.close()


def test_the_scheduled_pass_of_a_rules_worker_that_cannot_reach_its_database_turns_it_red(
    db_url: str,
) -> None:
    worker = RulesWorker(RulesConfig(database_url=_unreachable(db_url), rule_set=HEART_FAILURE))
    worker.heartbeat.beat()
    for _ in range(FAILURES_UNHEALTHY):
        run_job(worker.scheduled_pass, worker.heartbeat)  # as start_jobs runs it
    status = worker.heartbeat.status()
    assert (status.state, status.failing_jobs) == ("failing", (SCHEDULED_EVALUATION_JOB,))

    healthy = RulesWorker(RulesConfig(database_url=db_url, rule_set=HEART_FAILURE))
    healthy.heartbeat.beat()
    run_job(healthy.scheduled_pass, healthy.heartbeat)
    assert healthy.heartbeat.status().healthy


def test_a_job_that_hangs_without_failing_turns_it_red() -> None:
    heartbeat = Heartbeat()
    heartbeat.beat()
    heartbeat.expect("escalation", interval_s=0.02)
    heartbeat.job_succeeded("escalation")
    assert heartbeat.status().healthy
    # No run finishes (the scheduler skips runs while one hangs): after three intervals,
    # failing.
    wait_until(lambda: not heartbeat.status().healthy, 2, "the hung job to be noticed")
    heartbeat.beat()
    assert heartbeat.status().failing_jobs == ("escalation",)
    heartbeat.job_succeeded("escalation")
    assert heartbeat.status().healthy
