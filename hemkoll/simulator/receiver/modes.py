"""How the simulated health centre's endpoint answers: normally, or failing in a chosen way.

The fault tests switch modes while hemkoll's dispatcher delivers: "the endpoint answers 500",
"429 with Retry-After", "slow", "410 Gone". A request answered with a failure is not a received
notification (the sender must retry it); "down" is the receiver stopped, not a mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ModeName = Literal["normal", "fail", "throttle", "slow", "gone"]

# Standard Webhooks: any 2xx is success. 204: received, nothing to say.
ACCEPTED_STATUS = 204
THROTTLED_STATUS = 429
GONE_STATUS = 410


@dataclass(frozen=True)
class Mode:
    """One way of answering; build it with the class methods (``Mode.fail(500)``)."""

    name: ModeName
    status: int
    # Retry-After (whole seconds, HTTP's delay-seconds form) on a 429.
    retry_after_s: int | None = None
    # Wait this long before handling the request (the answer is then a normal one).
    delay_s: float = 0.0

    @classmethod
    def normal(cls) -> Mode:
        return cls("normal", ACCEPTED_STATUS)

    @classmethod
    def fail(cls, status: int = 500) -> Mode:
        if not 400 <= status <= 599:
            raise ValueError(f"a failure answers 4xx or 5xx, not {status}")
        return cls("fail", status)

    @classmethod
    def throttle(cls, retry_after_s: int) -> Mode:
        if retry_after_s < 0:
            raise ValueError(f"Retry-After cannot be negative ({retry_after_s})")
        return cls("throttle", THROTTLED_STATUS, retry_after_s=retry_after_s)

    @classmethod
    def slow(cls, delay_s: float) -> Mode:
        if delay_s < 0:
            raise ValueError(f"a delay cannot be negative ({delay_s})")
        return cls("slow", ACCEPTED_STATUS, delay_s=delay_s)

    @classmethod
    def gone(cls) -> Mode:
        return cls("gone", GONE_STATUS)

    @property
    def accepts(self) -> bool:
        """Whether requests are verified and recorded (normal and slow) or refused."""
        return self.name in ("normal", "slow")
