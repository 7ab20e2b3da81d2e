"""The API's start: what it made is frozen out of the garbage collector's full collections
(a full collection through it all took ~100 ms in the middle of a request: bench/api.py)."""

from __future__ import annotations

import gc

from tests.api.conftest import api_client


def test_the_start_freezes_what_it_made_and_requests_are_served_after(db_url: str) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    clients = api_client(db_url)
    client = next(clients)
    try:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200
    finally:
        clients.close()
