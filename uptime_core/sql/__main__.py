"""``python -m uptime_core.sql FOLDER`` (``make sql``): print the composed statements whole
into FOLDER (``docs/sql``)."""

from __future__ import annotations

import sys
from pathlib import Path

from uptime_core.sql.printed import write_all


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m uptime_core.sql FOLDER", file=sys.stderr)
        return 2
    for path in write_all(Path(argv[0])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
