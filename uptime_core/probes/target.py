"""What a probe needs to know about a target: its kind and the attributes it reads."""

from __future__ import annotations

from typing import Any, Protocol


class ProbeTarget(Protocol):
    """Anything with these attributes can be probed; the `Target` table row is one."""

    @property
    def kind(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def host(self) -> str | None: ...

    @property
    def port(self) -> int | None: ...

    @property
    def timeout_seconds(self) -> float: ...

    @property
    def options(self) -> dict[str, Any]: ...
