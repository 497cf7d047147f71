"""Where a problem is in the document, written as the file spells it: ``targets[3].port``,
``channels[1].webhook.secret``, ``maintenance_windows[0].starts_at`` (a field is named in the
spelling the file used, camelCase or snake_case; one the file lacks in camelCase), with
``FILE: `` before it when several files are read together."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic.alias_generators import to_snake

from uptime_core.validation import FieldError

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
DOCUMENT = "(document)"


def parts_of(field: str) -> list[str | int]:
    """A dotted field with ``[i]`` indexes (``options.headers[0].value``) as its parts."""
    return [int(index) if index else name for name, index in _PART.findall(field)]


def spelled(raw: object, parts: Sequence[str | int]) -> str:
    """The path of ``parts`` inside ``raw`` (the data as given), each field spelled as there.

    Parts that name no field of the data where it holds a value are pydantic's names of a
    union's branches (``str``, ``int``), not fields: they are left out."""
    text = ""
    node: object = raw
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        if isinstance(node, dict):
            name = part if part in node or to_snake(part) not in node else to_snake(part)
            node = node.get(name)
        elif node is None:
            name = part
        else:
            continue
        text += f".{name}" if text else name
    return text


def located(source: str | None, path: str) -> str:
    """``path`` with the file's name before it, when there is one."""
    path = path or DOCUMENT
    return f"{source}: {path}" if source else path


def problem(
    source: str | None, raw: object, parts: Sequence[str | int], message: str
) -> FieldError:
    """A ``FieldError`` at ``parts`` of the document ``raw`` read from ``source``."""
    return FieldError(located(source, spelled(raw, parts)), message)
