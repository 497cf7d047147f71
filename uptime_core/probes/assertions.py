"""Checks on an HTTP response: accepted status codes, keyword and JSON assertions."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from typing import Any

from uptime_core.probes.errors import quote

JsonPath = tuple[str | int, ...]

_PATH_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(-?\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]")
_MISSING = object()


class JsonOperator(enum.StrEnum):
    """How the value found at a JSON path is compared with the expected value."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    CONTAINS = "contains"
    EXISTS = "exists"


ORDERING_OPERATORS = frozenset({JsonOperator.LT, JsonOperator.LE, JsonOperator.GT, JsonOperator.GE})


def parse_status_ranges(specs: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Parse ["200-399", "418"] into inclusive ranges; raise ValueError naming the bad item."""
    ranges: list[tuple[int, int]] = []
    for spec in specs:
        low_text, _, high_text = spec.partition("-")
        try:
            low = int(low_text)
            high = int(high_text) if high_text else low
        except ValueError:
            raise ValueError(f'"{spec}" is not a status code or a range like "200-299"') from None
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise ValueError(f'"{spec}": status codes are between 100 and 599')
        if low > high:
            raise ValueError(f'"{spec}": the range starts after it ends')
        ranges.append((low, high))
    return tuple(ranges)


def status_accepted(status: int, ranges: Sequence[tuple[int, int]]) -> bool:
    """True when `status` falls in one of the inclusive ranges."""
    return any(low <= status <= high for low, high in ranges)


def parse_json_path(path: str) -> JsonPath:
    """Parse `$.data.items[0].status` (the `$` and the first dot are optional).

    Keys holding dots or brackets can be written `["a.b"]`; negative indexes count from the end.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith(("[", ".")):
        text = "." + text
    segments: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_SEGMENT.match(text, position)
        if match is None:
            raise ValueError(f"cannot parse the path at {text[position:]!r}")
        key, index, quoted = match.groups()
        if key is not None:
            segments.append(key)
        elif index is not None:
            segments.append(int(index))
        else:
            segments.append(json.loads(f'"{quoted}"'))
        position = match.end()
    return tuple(segments)


def format_json_path(path: JsonPath) -> str:
    """Render a parsed path back as `$.a[0]`."""
    parts = ["$"]
    for segment in path:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif re.fullmatch(r"[^.\[\]\"]+", segment):
            parts.append(f".{segment}")
        else:
            parts.append(f"[{json.dumps(segment)}]")
    return "".join(parts)


def _lookup(document: Any, path: JsonPath) -> Any:
    current = document
    for segment in path:
        if isinstance(segment, int) and isinstance(current, list):
            if not -len(current) <= segment < len(current):
                return _MISSING
            current = current[segment]
        elif isinstance(segment, str) and isinstance(current, dict):
            if segment not in current:
                return _MISSING
            current = current[segment]
        else:
            return _MISSING
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1 and "1" != 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return bool(type(left) is type(right) and left == right)


def _show(value: Any) -> str:
    return quote(json.dumps(value, ensure_ascii=False))


def evaluate_json_assertion(
    document: Any, path: JsonPath, operator: JsonOperator, expected: Any
) -> str | None:
    """Check one assertion against a parsed JSON document; return why it failed, or None."""
    where = format_json_path(path)
    actual = _lookup(document, path)
    if operator is JsonOperator.EXISTS:
        return None if actual is not _MISSING else f"{where} not found"
    if actual is _MISSING:
        return f"{where} not found"
    passed: bool
    if operator is JsonOperator.EQ:
        passed = json_equal(actual, expected)
    elif operator is JsonOperator.NE:
        passed = not json_equal(actual, expected)
    elif operator is JsonOperator.CONTAINS:
        if isinstance(actual, str) and isinstance(expected, str):
            passed = expected in actual
        elif isinstance(actual, list):
            passed = any(json_equal(item, expected) for item in actual)
        elif isinstance(actual, dict) and isinstance(expected, str):
            passed = expected in actual
        else:
            return f"{where} is {_show(actual)}, which cannot contain {_show(expected)}"
    else:
        if not _is_number(actual):
            return f"{where} is {_show(actual)}, not a number"
        passed = {
            JsonOperator.LT: actual < expected,
            JsonOperator.LE: actual <= expected,
            JsonOperator.GT: actual > expected,
            JsonOperator.GE: actual >= expected,
        }[operator]
    if passed:
        return None
    return f"expected {where} {operator.value} {_show(expected)}, found {_show(actual)}"
