"""What the API and the worker share: settings, database, tables, probes, statistics."""

from __future__ import annotations

__version__ = "0.1.0"
