#!/usr/bin/env python3
"""Container health check: exit 0 if the URL answers 2xx within 3 s, else 1.

``hemkoll-healthcheck http://127.0.0.1:9100/healthz`` (compose's health checks). The image has
no curl; this uses only the standard library, and the Python the services run on.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3.0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].startswith("http://"):
        print("usage: hemkoll-healthcheck http://HOST:PORT/PATH", file=sys.stderr)
        return 2
    try:
        # Only http:// URLs get here (checked above): no file:// or other schemes.
        with urllib.request.urlopen(argv[1], timeout=TIMEOUT_S) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if not 200 <= status < 300:
        print(f"unhealthy: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
