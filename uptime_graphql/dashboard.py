"""The dashboard at /ui: static files (plain ES modules, no build step) from ``ui/``.

The page speaks only GraphQL to this same app; its Content-Security-Policy lets it load and
connect to nothing but its own origin.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

UI_DIRECTORY = Path(__file__).resolve().parent / "ui"
UI_PATH = "/ui"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; script-src 'self'; "
    "style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class DashboardFiles(StaticFiles):
    """Static files with the dashboard's headers: same-origin only, revalidated each load."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard under ``/ui`` (``/ui`` itself redirects to ``/ui/``)."""
    app.mount(UI_PATH, DashboardFiles(directory=UI_DIRECTORY, html=True), name="ui")
