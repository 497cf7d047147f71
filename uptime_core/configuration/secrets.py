"""Secrets stay out of the file: a string value ``${NAME}`` is read from the environment.

Only a whole value is replaced (``${WEBHOOK_SECRET}``, not ``Bearer ${TOKEN}``), anywhere in
the document; ``$${NAME}`` is the literal text ``${NAME}``. A variable that is not set is a
problem at the value's path, like any other.

``secret_reference`` names the variable that ``uptime export`` writes for a secret field
(see its docstring for the rule), so an exported file says which variables ``uptime apply``
will need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from uptime_core.validation import FieldError

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ESCAPED = re.compile(r"\$\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_OUTSIDE = re.compile(r"[^A-Z0-9]+")
PREFIXES = {"target": "TARGET", "channel": "CHANNEL", "window": "WINDOW"}


def substitute(
    data: object,
    environ: Mapping[str, str],
    path: str,
    errors: list[FieldError],
) -> object:
    """``data`` with every ``${NAME}`` value replaced by ``environ[NAME]`` (a copy: lists and
    objects are rebuilt); a missing variable adds a ``FieldError`` at its path."""
    if isinstance(data, str):
        if (match := _REFERENCE.fullmatch(data)) is not None:
            name = match.group(1)
            if name not in environ:
                errors.append(FieldError(path, f"the environment variable {name} is not set"))
                return data
            return environ[name]
        if _ESCAPED.fullmatch(data):
            return data[1:]
        return data
    if isinstance(data, list):
        return [
            substitute(item, environ, f"{path}[{index}]", errors) for index, item in enumerate(data)
        ]
    if isinstance(data, dict):
        return {
            name: substitute(value, environ, f"{path}.{name}" if path else str(name), errors)
            for name, value in data.items()
        }
    return data


def referenced(data: object) -> set[str]:
    """The variables that the ``${NAME}`` values of ``data`` name (what ``substitute`` would
    read), so that ``uptime apply`` sends those and nothing else of its environment."""
    if isinstance(data, str):
        found = _REFERENCE.fullmatch(data)
        return {found.group(1)} if found else set()
    if isinstance(data, list):
        return set().union(*map(referenced, data)) if data else set()
    if isinstance(data, dict):
        return set().union(*map(referenced, data.values())) if data else set()
    return set()


def _word(part: str | int) -> str:
    text = _WORD_BREAK.sub("_", str(part)).upper()
    return _OUTSIDE.sub("_", text).strip("_")


def secret_reference(kind: str, key: str, *field: str | int) -> str:
    """The ``${NAME}`` that export writes for a secret of the ``kind`` ("target", "channel",
    "window") with ``key``, at ``field`` inside it.

    The rule: the kind in capitals, the key, then each part of the field's path, joined by
    ``_``; in each part a camelCase word break becomes ``_``, letters are capitalised and
    every run of other characters than ``A-Z0-9`` is one ``_``. For example the channel
    ``ops-mail``'s ``webhook.secret`` is ``${CHANNEL_OPS_MAIL_WEBHOOK_SECRET}``, the target
    ``api-eu``'s ``Authorization`` header ``${TARGET_API_EU_HTTP_HEADERS_AUTHORIZATION}``
    (headers are named by their name, not their position), its URL ``${TARGET_API_EU_URL}``.
    """
    words = [PREFIXES[kind], _word(key), *(_word(part) for part in field)]
    return "${" + "_".join(word for word in words if word) + "}"
