"""Two real `cercle serve` processes on one database keep no state of their own."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = dict(os.environ, CERCLE_DATABASE_URL=database_url, CERCLE_BASE_URL=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


@pytest.fixture
def two_servers(db: object, database_url: str) -> Iterator[tuple[str, str]]:
    started = [_start_server(database_url), _start_server(database_url)]
    try:
        yield started[0][1], started[1][1]
    finally:
        for process, _base in started:
            process.terminate()
            process.wait(timeout=10)


def _csrf(client: httpx.Client, base: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"{base}/login").text)
    assert match
    return match.group(1)


def test_a_session_made_on_one_process_works_on_the_other(db, two_servers):
    make_user(db, "alice")
    first, second = two_servers
    with httpx.Client() as browser:
        token = _csrf(browser, first)
        response = browser.post(f"{first}/login", data={"username": "alice", "password": PASSWORD,
                                                        "csrf_token": token, "next": "/"})
        assert response.status_code == 303
        cookie = browser.cookies.get("cercle_session")
    assert cookie
    answer = httpx.get(f"{second}/api/v1/me", cookies={"cercle_session": cookie})
    assert answer.status_code == 200
    assert answer.json()["username"] == "alice"


def test_sign_in_throttling_counts_failures_on_both_processes(db, two_servers):
    make_user(db, "alice")
    first, second = two_servers
    statuses = []
    for attempt in range(6):
        base = first if attempt % 2 == 0 else second
        with httpx.Client() as browser:
            token = _csrf(browser, base)
            response = browser.post(f"{base}/login", data={"username": "alice", "password": "wrong password!",
                                                           "csrf_token": token})
            statuses.append(response.status_code)
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429
