"""Browser tests: the real product (`uptime api` and `uptime worker` processes on the test
PostgreSQL) driven through Debian's Chromium by Playwright, headless.

Fixtures to reuse:

- ``start_uptime(token=None, worker=True)``: an API (and a worker) on this test's database;
  ``.url``, ``.host``;
- ``uptime``: the same, started without a token;
- ``browser``: Chromium from ``/usr/bin/chromium`` (the Makefile installs it; Playwright never
  downloads a browser here);
- ``page``: a fresh page whose every request (and WebSocket) is recorded: ``page_hosts``
  holds each ``host:port`` it asked for;
- ``artifacts``: ``test-artifacts/`` at the top of the repository, for screenshots.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support.net import free_port, wait_for_http
from tests.support.processes import StartWorker, WorkerProcess

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Chromium as the machine's notes say it runs here: no sandbox (root), no GPU, and none of
# its own background traffic (which a closed network refuses, and which the tests forbid).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Uptime:
    """A running API (and worker); ``restart_api()`` stops the API and starts it again on the
    same port, as a deployment's rollout would."""

    url: str  # http://127.0.0.1:<port>
    database_url: str
    token: str | None
    worker: WorkerProcess | None
    env: dict[str, str]
    log_path: Path
    api: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def start_api(self) -> None:
        with self.log_path.open("a") as log:
            self.api = subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", "api"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.terminate()
            self.api.wait(timeout=20)

    def wait_until_ready(self) -> None:
        try:
            wait_for_http(f"{self.url}/readyz", timeout=30)
        except AssertionError as error:
            code = None if self.api is None else self.api.poll()
            raise AssertionError(
                f"{error}\nuptime api (exit code {code}) said:\n{self.log_path.read_text()[-3000:]}"
            ) from None
        if self.worker is not None:
            try:
                wait_for_http(f"{self.worker.health}/readyz", timeout=30)
            except AssertionError as error:
                raise AssertionError(
                    f"{error}\nuptime worker said:\n{self.worker.output[-3000:]}"
                ) from None

    def restart_api(self) -> None:
        self.stop_api()
        self.start_api()
        self.wait_until_ready()


StartUptime = Callable[..., Uptime]


@pytest.fixture
async def start_uptime(
    database_url: str, start_worker: StartWorker, tmp_path: Path
) -> AsyncIterator[StartUptime]:
    """``start_uptime(token=None, worker=True, **worker_settings)`` starts `uptime api` and
    (unless ``worker=False``, for pages that need no checks) `uptime worker` on the test's
    database; both are stopped at the end."""
    started: list[Uptime] = []

    def start(token: str | None = None, worker: bool = True, **worker_settings: str) -> Uptime:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "UPTIME_API_PORT": str(port)}
        env.pop("UPTIME_API_TOKEN", None)
        if token is not None:
            env["UPTIME_API_TOKEN"] = token
        checker = None
        if worker:
            checker = start_worker(database_url, f"browser-{port}", **worker_settings)
        server = Uptime(
            f"http://127.0.0.1:{port}",
            database_url,
            token,
            checker,
            env,
            tmp_path / f"api-{port}.log",
        )
        started.append(server)
        server.start_api()
        server.wait_until_ready()
        return server

    yield start
    for server in started:
        server.stop_api()


@pytest.fixture
async def uptime(start_uptime: StartUptime) -> Uptime:
    return start_uptime()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (one stat, before anything runs)
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs it (as root), or run "
            "`sudo apt-get install -y --no-install-recommends chromium`"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Hosts:
    """Every host:port the page asked for, with the URLs, in order; and the page's script
    errors (uncaught exceptions and console errors), which a test should find empty."""

    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, url: str) -> None:
        self.urls.append(url)

    @property
    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url in self.urls if not url.startswith("data:")}


@pytest.fixture
def page_hosts() -> Hosts:
    return Hosts()


@pytest.fixture
async def page(browser: Browser, page_hosts: Hosts) -> AsyncIterator[Page]:
    """A page in a fresh context (no stored token), 1280 x 800, recording its requests."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.on("request", lambda request: page_hosts.add(request.url))
    page = await context.new_page()
    page.on("websocket", lambda socket: page_hosts.add(socket.url))
    page.on("pageerror", lambda error: page_hosts.errors.append(str(error)))
    page.on(
        "console",
        lambda message: page_hosts.errors.append(message.text) if message.type == "error" else None,
    )
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        await context.close()


@pytest.fixture
def artifacts() -> Iterator[Path]:
    """Where screenshots go (gitignored); kept after the run for people and CI to look at."""
    directory = REPO / "test-artifacts"
    directory.mkdir(exist_ok=True)
    yield directory
