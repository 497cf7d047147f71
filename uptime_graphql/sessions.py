"""The open WebSockets of one API process by the named token that opened them, so that a
revoked token's subscriptions end at once (closed with 4403).

``uptime_core.tokens.revoke_token`` notifies ``uptime_tokens`` with the token's id; each API
process's listener (``live.listener.LiveEvents``) hands the id to ``close_token``. After the
listening connection was lost (revocations sent meanwhile are missed), ``close_revoked`` asks
the database which of the tokens with open WebSockets are revoked, and closes those.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
from starlette.websockets import WebSocket, WebSocketState

from uptime_core.tokens import revoked_among
from uptime_graphql.auth import Caller

log = logging.getLogger("uptime.api")

REVOKED_CODE = 4403
REVOKED_REASON = "token revoked"


Stop = Callable[[], Awaitable[None]]


class TokenSessions:
    def __init__(self) -> None:
        self._sockets: dict[int, dict[WebSocket, tuple[Caller, Stop | None]]] = {}
        self._token_of: dict[WebSocket, int] = {}

    def add(self, websocket: WebSocket, caller: Caller, stop: Stop | None = None) -> None:
        """Follow ``websocket``, opened with a named token (others are never revoked);
        ``stop`` ends its running operations (before it is closed)."""
        if caller.token_id is None:
            return
        self._sockets.setdefault(caller.token_id, {})[websocket] = (caller, stop)
        self._token_of[websocket] = caller.token_id

    def discard(self, websocket: WebSocket) -> None:
        token_id = self._token_of.pop(websocket, None)
        if token_id is None:
            return
        sockets = self._sockets.get(token_id, {})
        sockets.pop(websocket, None)
        if not sockets:
            self._sockets.pop(token_id, None)

    def token_ids(self) -> list[int]:
        return list(self._sockets)

    async def close_token(self, token_id: int) -> int:
        """Close every WebSocket of this token with 4403; how many were open."""
        sockets = self._sockets.pop(token_id, {})
        closed = 0
        for websocket, (caller, stop) in sockets.items():
            self._token_of.pop(websocket, None)
            if websocket.application_state is WebSocketState.DISCONNECTED:
                continue
            if stop is not None:
                await stop()  # no event is sent after the close
            try:
                await websocket.close(code=REVOKED_CODE, reason=REVOKED_REASON)
            except RuntimeError:
                continue  # closed meanwhile, by the client or the server
            closed += 1
            log.info("closed a WebSocket of revoked token %s (%d)", caller.name, REVOKED_CODE)
        return closed

    async def close_revoked(self, pool: asyncpg.Pool) -> None:
        """Close the WebSockets of the tokens revoked meanwhile (after a lost listener)."""
        for token_id in await revoked_among(pool, self.token_ids()):
            await self.close_token(token_id)
