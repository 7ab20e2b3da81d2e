"""The ``hemkoll demo`` command's entry: SIGINT and SIGTERM are caught first, before the
seconds of imports (the API, numpy, uvicorn), so that Ctrl-C at any moment stops cleanly."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from hemkoll.settings import Settings


def run_command(args: argparse.Namespace, settings: Settings) -> None:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        from hemkoll.demo.clock import wall_s_per_day  # noqa: PLC0415
        from hemkoll.demo.run import run_demo  # noqa: PLC0415 (after the handlers)
        from hemkoll.demo.state import DataDir, DemoOptions, default_data_dir  # noqa: PLC0415

        options = DemoOptions(
            data_dir=DataDir(args.data_dir or default_data_dir()),
            patients=args.patients,
            days=args.days,
            seed=args.seed,
            reset=args.reset,
            port=args.port,
            summary_every_s=args.summary_every,
            nurse=args.nurse == "on",
            pace_s=wall_s_per_day(args.pace),
        )
        run_demo(options, settings, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
