"""A simulated health centre: the webhook endpoint hemkoll notifies, and optionally a nurse.

For the demo, the tests and the reliability suite. ``WebhookReceiver`` serves the endpoint on
127.0.0.1 in a thread of the calling process, verifies each request per Standard Webhooks and
records what it received (``Recorder``: every delivery with its receive time, first deliveries,
duplicates, refusals; optionally a JSON-lines file). ``Mode`` makes it fail on purpose (500,
429 with Retry-After, slow, 410); stopping it is "down". ``Nurse`` acknowledges and resolves the
notified alerts through the care-team API after a delay.

Depends on starlette, uvicorn, standardwebhooks and httpx; nothing else in hemkoll imports it.
"""

from hemkoll.simulator.receiver.endpoint import WEBHOOK_PATH, NotificationListener
from hemkoll.simulator.receiver.health_centre import WebhookReceiver
from hemkoll.simulator.receiver.modes import Mode
from hemkoll.simulator.receiver.nurse import (
    OUTCOME_WEIGHTS,
    Nurse,
    NurseCall,
    NurseConfig,
    NurseStats,
    outcome_for,
)
from hemkoll.simulator.receiver.recorder import Delivery, ReceiverStats, Recorder
from hemkoll.simulator.receiver.server import ThreadedServer

__all__ = [
    "OUTCOME_WEIGHTS",
    "WEBHOOK_PATH",
    "Delivery",
    "Mode",
    "NotificationListener",
    "Nurse",
    "NurseCall",
    "NurseConfig",
    "NurseStats",
    "ReceiverStats",
    "Recorder",
    "ThreadedServer",
    "WebhookReceiver",
    "outcome_for",
]
