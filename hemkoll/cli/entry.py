"""``main``: parses the command line, builds the settings once, runs the command with them, and
is the one place where a refusal becomes its message on stderr and its exit status."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from hemkoll.alerts.configuration import RuleConfigError
from hemkoll.cli.errors import CommandError, SettingsInvalid
from hemkoll.cli.parser import build_parser
from hemkoll.demo.errors import DemoError
from hemkoll.local_services.children import StartError
from hemkoll.settings import Settings
from hemkoll.store.patients import RegistryError
from hemkoll.store.staff import StaffError

Command = Callable[[argparse.Namespace, Settings], int]

# Each refusal and its exit status (2, as argparse's own usage errors). Its message goes to
# stderr after the command's words ("hemkoll thresholds set: ..."), one line per problem. Any
# other exception is a fault (a bug, the database gone): a traceback and status 1.
EXIT_STATUS: dict[type[Exception], int] = {
    CommandError: 2,  # ours: the settings, an id not found, an input file, options that go together
    RegistryError: 2,  # enrol: the centre's name, the patient reference, the device kind
    StaffError: 2,  # token create: the role and its health centre
    RuleConfigError: 2,  # thresholds set, backtest: rules the programme refuses, no patient
    DemoError: 2,  # demo: a set-up that cannot go on, with what to do about it
    StartError: 2,  # demo: its PostgreSQL or Mosquitto would not start, and why
}


def _refused(exc: Exception, speaker: str) -> int:
    problems = exc.problems if isinstance(exc, CommandError) else (str(exc),)
    for problem in problems:
        print(f"{speaker}: {problem}", file=sys.stderr)
    return next(EXIT_STATUS[cls] for cls in type(exc).__mro__ if cls in EXIT_STATUS)


def _words(args: argparse.Namespace) -> str:
    """The command as typed, without its options: ``hemkoll thresholds set``."""
    action: str | None = vars(args).get("action")
    return " ".join(["hemkoll", args.command, *([action] if action else [])])


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsInvalid(exc) from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    speaker = "hemkoll"  # until the settings are built
    try:
        settings = _settings()
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        speaker = _words(args)
        run: Command = args.run
        return run(args, settings)
    except tuple(EXIT_STATUS) as exc:
        return _refused(exc, speaker)
