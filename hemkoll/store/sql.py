"""Named SQL blocks kept in ``queries/*.sql`` and loaded once.

A file holds blocks introduced by a ``-- name: <identifier>`` line; the block runs to the next
such line. Placeholders are psycopg's ``%(name)s``: values are always sent as parameters, never
formatted into the text.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import LiteralString

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_blocks(text: str, *, source: str) -> dict[str, str]:
    """Split one ``.sql`` file's text into its named blocks."""
    blocks: dict[str, str] = {}
    matches = list(_NAME_LINE.finditer(text))
    if not matches and text.strip():
        raise ValueError(f"{source}: SQL outside any '-- name:' block")
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end].strip()
        name = match.group("name")
        if not body:
            raise ValueError(f"{source}: block {name!r} is empty")
        if name in blocks:
            raise ValueError(f"{source}: block {name!r} is defined twice")
        blocks[name] = body
    return blocks


@functools.cache
def _all_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    folder = resources.files("hemkoll.store") / "queries"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, body in parse_blocks(entry.read_text("utf-8"), source=entry.name).items():
            if name in queries:
                raise ValueError(f"{entry.name}: block {name!r} is defined in another file too")
            queries[name] = body
    return queries


def query(name: str) -> LiteralString:
    """The SQL text of the named block (a constant loaded from the package, hence literal)."""
    # The text comes from files shipped in the package, never from input: a literal in effect.
    return _all_queries()[name]


def query_names() -> list[str]:
    return sorted(_all_queries())
