"""``python -m uptime_cli COMMAND``: the ``uptime`` command, as ``uptime run`` starts its
children (the interpreter that runs the supervisor, whatever ``PATH`` holds)."""

from __future__ import annotations

import sys

from uptime_cli.entry import main

sys.exit(main())
