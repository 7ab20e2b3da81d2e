"""Fixtures of the notification tests: a scripted webhook receiver and an enrolled patient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hemkoll.store.devices import Enrolment
from tests.helpers import enrol
from tests.notify.receiver import Receiver, TricklingReceiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def trickling() -> Iterator[TricklingReceiver]:
    server = TricklingReceiver()
    yield server
    server.stop()


@pytest.fixture
def enrolment(db_url: str) -> Enrolment:
    return enrol(db_url, kind="pulse_oximeter", patient="TUNA-0042", centre="VC Tuna")
