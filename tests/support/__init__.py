"""Helpers shared by the tests: databases, ports, processes."""
