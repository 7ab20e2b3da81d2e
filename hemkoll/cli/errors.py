"""The refusals of the command line's own: what was given cannot be used, and why.

The parts the commands call raise their own (``RegistryError``, ``StaffError``,
``RuleConfigError``, ``DemoError``); ``entry.main`` maps each to its message and exit status.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from pydantic import ValidationError


class CommandError(Exception):
    """What the command was given cannot be used; each of ``problems`` is one line saying why."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class SettingsInvalid(CommandError):
    """``HEMKOLL_*`` variables that are malformed: one problem per variable."""

    def __init__(self, exc: ValidationError) -> None:
        lines = []
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            lines.append(f"setting HEMKOLL_{field.upper()}: {error['msg']}")
        super().__init__(*lines)


class NotFound(CommandError):
    """The id given names nothing in the database."""

    def __init__(self, what: str, key: UUID) -> None:
        super().__init__(f"no {what} {key}")


class InputFileError(CommandError):
    """A file given cannot be read, or is not the JSON document it must be."""

    def __init__(self, path: Path, exc: OSError | ValidationError) -> None:
        super().__init__(f"{path}: {exc}")
