"""The API's edges, tried as an attacker would (issue 13): a token that is no secret, DNS
rebinding without a token, huge bodies, secrets and tracebacks in the log, deep nesting.

Real processes (`uptime api`, started by ``start_api``) and real sockets on loopback; the
helpers the files here share are in support.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.graphql.trust.support import ApiProcess


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[Any]:
    started: list[ApiProcess] = []

    def start(**settings: str) -> ApiProcess:
        api = ApiProcess(tmp_path / f"api-{len(started)}.log", **settings)
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()
