"""``main``: parses the command line, builds the settings once and runs the command with them."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from hemkoll.cli.parser import build_parser
from hemkoll.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            print(f"hemkoll: setting HEMKOLL_{field.upper()}: {error['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "token" and not args.name:
        args.name = args.role
    run: Command = args.run
    return run(args, settings)
