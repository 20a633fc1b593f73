"""Real-browser fixtures: the app served by uvicorn, and Chromium driven by Playwright.

- `live_server`: the base URL of `create_app()` served in a background thread on a free port,
  on the test database of the `db` fixture (so every browser test runs on SQLite and PostgreSQL).
- `browser`: one Chromium per session (so one per xdist worker), the system's /usr/bin/chromium.
- `page`: a new browser context per test; `new_page()` opens further contexts (another person).
- Every page is watched: a JavaScript error, a console error or a Content-Security-Policy
  violation makes the test fail after its body ran.

Without Chromium the tests are skipped, or fail when the `CI` variable is set.
"""

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.check_browser import CHROMIUM, chromium_missing

HERE = Path(__file__).resolve().parent
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Runs in every page before its own scripts: CSP violations also reach the console listener,
# with the directive and what was blocked (Chromium's own message says less for some cases).
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
});
"""

# Chromium logs every 4xx/5xx answer as a console error. 422 is how the app answers an invalid
# form (re-rendered with its messages, for full pages and htmx alike): expected, not a problem.
# Any other failed load (a 404 asset, a 500) still fails the journey.
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of 422\b")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


class PageProblems:
    """JavaScript errors, console errors and CSP violations seen on the watched pages."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.pages: list[Any] = []

    def watch(self, page: Any) -> None:
        self.pages.append(page)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.items.append(f"JavaScript error: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error" and not EXPECTED_STATUS.match(message.text):
            where = message.location.get("url", "") if message.location else ""
            self.items.append(f"console error: {message.text}" + (f" ({where})" if where else ""))

    def flush(self) -> None:
        """Lets events already sent by the browser reach the listeners."""
        for page in self.pages:
            if not page.is_closed():
                # A page that navigated away or crashed has nothing more to say.
                with contextlib.suppress(Exception):
                    page.evaluate("0")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    problems: PageProblems | None = getattr(item, "_page_problems", None)
    if problems is not None:
        problems.flush()
        if problems.items:
            raise AssertionError("the browser reported errors during the journey:\n  " + "\n  ".join(problems.items))
    return result


def _free_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """`create_app()` served by uvicorn on 127.0.0.1 (the `app` fixture uses the `db` database)."""
    sock = _free_port()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    problem = chromium_missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set: the browser tests must run)", pytrace=False)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """`new_page()` opens a page in a fresh context (own cookies), watched for errors."""
    problems = PageProblems()
    request.node._page_problems = problems  # read by pytest_runtest_call above
    contexts: list[Any] = []

    def factory(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server, viewport=options.pop("viewport", VIEWPORT), **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()
