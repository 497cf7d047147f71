"""``python -m uptime_core.configuration PATH``: write the document's JSON Schema to PATH
(``make schema`` writes docs/uptime.schema.json)."""

from __future__ import annotations

import sys
from pathlib import Path

from uptime_core.configuration.schema import schema_text


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m uptime_core.configuration PATH", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(schema_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
