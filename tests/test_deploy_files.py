"""Dockerfile, compose.yaml, .dockerignore and docs/deploy.md stay true to the code.

Docker does not run here, so the Dockerfile is parsed: what it copies must exist and not be
ignored, what it runs must be real `cercle` commands, and the image's layout is rebuilt in a
temporary folder where its CMD and HEALTHCHECK really run.
"""

import fnmatch
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import typer
import yaml

import app.cli
import app.web
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SETTING_NAMES = {f"CERCLE_{name.upper()}" for name in Settings.model_fields}


# Reading the files -------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    result, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line
        keyword, _sep, arguments = current.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continuation line"
    return result


def arguments_of(keyword: str) -> list[str]:
    return [arguments for found, arguments in instructions() if found == keyword]


def exec_form(arguments: str) -> list[str]:
    words = json.loads(arguments) if arguments.startswith("[") else ["/bin/sh", "-c", arguments]
    assert all(isinstance(word, str) for word in words)
    return words


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in arguments_of("ENV"):
        for pair in shlex.split(arguments):
            name, sep, value = pair.partition("=")
            assert sep, f"ENV {pair!r}: use the NAME=value form"
            env[name] = value
    return env


def workdir() -> PurePosixPath:
    [*_before, last] = arguments_of("WORKDIR")
    return PurePosixPath(last)


def copies() -> list[tuple[list[str], PurePosixPath]]:
    """(sources in the build context, destination in the image) of every COPY from the context."""
    result: list[tuple[list[str], PurePosixPath]] = []
    for keyword, arguments in instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        words = exec_form(arguments) if arguments.startswith("[") else shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        words = [word for word in words if not word.startswith("--")]
        *sources, destination = words
        base = PurePosixPath(destination) if destination.startswith("/") else workdir() / destination
        if len(sources) > 1 or destination.endswith("/"):
            result.extend(([source], base / PurePosixPath(source).name) for source in sources)
        else:
            result.append((sources, base))
    return result


def ignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in ignore_patterns():
        if pattern.startswith("!"):
            continue
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatch(candidate, pattern.lstrip("/")) for candidate in candidates):
            return True
    return False


def cli_commands() -> dict[str, Any]:
    """ "migrate", "badges recompute"… -> the click command."""
    found: dict[str, Any] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                walk(command, f"{prefix}{name} ")
            else:
                found[prefix + name] = command

    walk(typer.main.get_command(app.cli.app), "")
    return found


def cercle_invocations(script: str) -> list[list[str]]:
    """The `cercle …` commands of a shell script, each as its words."""
    invocations = []
    for part in re.split(r"&&|\|\||;|\n", script):
        words = shlex.split(part)
        while words and words[0] == "exec":
            words = words[1:]
        if words and PurePosixPath(words[0]).name == "cercle":
            invocations.append(words[1:])
    return invocations


def check_invocation(words: list[str]) -> str:
    """The command name of `cercle WORDS…`, after checking it and its options exist."""
    commands = cli_commands()
    name = next((n for n in sorted(commands, key=len, reverse=True) if words[: len(n.split())] == n.split()), None)
    assert name is not None, f"`cercle {' '.join(words)}`: no such command (known: {sorted(commands)})"
    options = {opt for param in commands[name].params for opt in param.opts}
    for word in words[len(name.split()) :]:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"`cercle {name}` has no option {word}"
    return name


def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def app_environment() -> dict[str, str]:
    environment = compose()["services"]["app"]["environment"]
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


# Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_on_python_311_slim():
    assert arguments_of("FROM") == ["python:3.11-slim"]


def test_dockerfile_installs_the_project_with_pip():
    assert any(re.search(r"\bpip install (--\S+ )*\.(\s|$)", run) for run in arguments_of("RUN"))


def test_every_copy_source_exists_in_the_repository():
    assert copies(), "the Dockerfile copies nothing"
    for sources, _destination in copies():
        for source in sources:
            assert list(ROOT.glob(source)), f"COPY {source}: not in the repository"


def test_no_copy_source_is_left_out_by_dockerignore():
    for sources, _destination in copies():
        for source in sources:
            assert not is_ignored(source), f"COPY {source}: excluded by .dockerignore"


def test_image_holds_what_the_app_looks_for_beside_its_package():
    """migrations/, alembic.ini and static/ are outside `app`: the image puts them beside it."""
    needed = {
        "app",
        "alembic.ini",
        str(app.cli.ROOT.joinpath("migrations").relative_to(app.cli.ROOT)),
        str(app.web.STATIC_DIR.relative_to(app.cli.ROOT)),
    }
    copied = {
        str(destination.relative_to(workdir()))
        for _sources, destination in copies()
        if destination.is_relative_to(workdir())
    }
    assert needed <= copied
    assert str(workdir()) in image_env().get("PYTHONPATH", "").split(":")


def test_image_runs_as_an_unprivileged_user():
    users = arguments_of("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    keywords = [keyword for keyword, _arguments in instructions()]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:], "a RUN after the last USER would run as that user by surprise"
    assert any("useradd" in run and users[-1] in run for run in arguments_of("RUN"))


def test_image_is_in_production_mode_and_bakes_in_no_secret():
    assert image_env()["CERCLE_ENV"] == "production"
    for keyword, arguments in instructions():
        if keyword in ("ENV", "ARG"):
            assert "CERCLE_SECRET_KEY" not in arguments


def test_every_cercle_setting_of_the_image_is_a_real_setting():
    for name in image_env():
        if name.startswith("CERCLE_"):
            assert name in SETTING_NAMES, name


def test_healthcheck_calls_healthz_with_python_urllib():
    [healthcheck] = arguments_of("HEALTHCHECK")
    command = exec_form(healthcheck.split("CMD", 1)[1].strip())
    assert PurePosixPath(command[0]).name.startswith("python")
    assert "urllib" in " ".join(command)
    assert "/healthz" in " ".join(command)
    from app.main import create_app

    assert create_app().url_path_for("healthz") == "/healthz"


def test_cmd_migrates_then_serves_with_real_cercle_commands():
    [cmd] = arguments_of("CMD")
    words = exec_form(cmd)
    assert words[:2] == ["sh", "-c"]
    names = [check_invocation(invocation) for invocation in cercle_invocations(words[2])]
    assert names == ["migrate", "serve"]
    assert "--host 0.0.0.0" in words[2] and "--port 8000" in words[2]
    assert not arguments_of("ENTRYPOINT")


# compose.yaml and .dockerignore ------------------------------------------------------------


def test_compose_app_uses_postgresql_through_psycopg():
    url = app_environment()["CERCLE_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    match = re.fullmatch(r"postgresql\+psycopg://(\w+):(\w+)@([\w-]+):5432/(\w+)", url)
    assert match, url
    user, password, host, database = match.groups()
    services = compose()["services"]
    assert host in services
    db_env = services[host]["environment"]
    assert (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"]) == (user, password, database)


def test_compose_database_is_postgres_15_with_a_healthcheck_the_app_waits_for():
    services = compose()["services"]
    assert services["db"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_builds_this_dockerfile_and_takes_the_secret_from_the_environment():
    app_service = compose()["services"]["app"]
    assert app_service["build"] in (".", {"context": "."})
    assert re.fullmatch(r"\$\{CERCLE_SECRET_KEY(:\?[^}]*)?\}", app_environment()["CERCLE_SECRET_KEY"])
    assert app_environment()["CERCLE_ENV"] == "production"


def test_every_cercle_variable_in_compose_is_a_real_setting():
    for name in app_environment():
        if name.startswith("CERCLE_"):
            assert name in SETTING_NAMES, f"{name} is not a setting: it would be ignored silently"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    for path in (".env", ".git", ".venv", "var/cercle.db", "app/__pycache__/x.pyc", "tests/conftest.py"):
        assert is_ignored(path), path


# docs/deploy.md ----------------------------------------------------------------------------

DOC_INVOCATION = re.compile(r"(?:`|bin/|app |cercle |&& )cercle ([a-z][^`\n#]*)")


def test_deploy_doc_shows_only_real_cercle_commands_and_options():
    found = set()
    for match in DOC_INVOCATION.finditer(DEPLOY_DOC.read_text()):
        words = [w for w in shlex.split(match.group(1)) if not w.isupper()]  # USERNAME placeholders
        if words and words[0] == "cercle":
            continue
        found.add(check_invocation(words))
    assert {"migrate", "serve", "create-admin", "reset-link"} <= found


def test_deploy_doc_covers_docker_compose_systemd_proxy_migrations_and_backups():
    text = DEPLOY_DOC.read_text()
    headings = set(re.findall(r"^##+ (.+)$", text, re.M))
    assert {
        "Docker",
        "Docker Compose",
        "Bare metal (systemd and a reverse proxy)",
        "Reverse proxy",
        "Migrations",
        "Backups",
    } <= headings
    assert "[Service]" in text and "proxy_pass http://127.0.0.1:8000" in text


def test_deploy_doc_names_the_essential_settings_and_no_unknown_one():
    mentioned = set(re.findall(r"CERCLE_[A-Z0-9_]+", DEPLOY_DOC.read_text()))
    assert {"CERCLE_ENV", "CERCLE_SECRET_KEY", "CERCLE_DATABASE_URL", "CERCLE_BASE_URL"} <= mentioned
    assert mentioned <= SETTING_NAMES


# The image's layout, rebuilt and started ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _build_layout(image_root: Path) -> Path:
    """Runs the COPY instructions into a folder standing for the image's file system."""
    for sources, destination in copies():
        target = image_root / str(destination).lstrip("/")
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(
                    path,
                    target,
                    dirs_exist_ok=True,
                    ignore=lambda folder, names: [
                        n for n in names if is_ignored(str((Path(folder) / n).relative_to(ROOT)))
                    ],
                )
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    home = image_root / str(workdir()).lstrip("/")
    (home / "var").mkdir(exist_ok=True)
    return home


def _container_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CERCLE_", "PYTHON"))}
    for name, value in image_env().items():
        env[name] = value.replace(str(workdir()), str(home))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _script(port: int) -> str:
    [cmd] = arguments_of("CMD")
    return exec_form(cmd)[2].replace("--port 8000", f"--port {port}")


def test_image_refuses_to_start_without_a_secret_key(tmp_path):
    home = _build_layout(tmp_path / "image")
    result = subprocess.run(
        ["sh", "-c", _script(_free_port())],
        cwd=home,
        env=_container_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CERCLE_SECRET_KEY" in result.stderr


def test_image_cmd_migrates_serves_and_passes_its_healthcheck(tmp_path):
    home = _build_layout(tmp_path / "image")
    env = _container_env(home, CERCLE_SECRET_KEY=secrets.token_urlsafe(48))
    # As the `cercle` script imports it (-P: the working directory is not on the path).
    imported = subprocess.run(
        [sys.executable, "-P", "-c", "import app.cli; print(app.cli.ROOT)"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(imported.stdout.strip()) == home
    port = _free_port()
    [healthcheck] = arguments_of("HEALTHCHECK")
    probe = exec_form(healthcheck.split("CMD", 1)[1].strip())
    probe = [sys.executable if word == "python" else word.replace(":8000/", f":{port}/") for word in probe]
    server = subprocess.Popen(
        ["sh", "-c", _script(port)],
        cwd=home,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(probe, env=env, capture_output=True, timeout=10).returncode != 0:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "server stopped"
            assert time.monotonic() < deadline, "the healthcheck never passed"
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/app.css", timeout=5) as response:
            assert response.status == 200
        assert (home / "var" / "cercle.db").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if server.stderr:
            server.stderr.close()


@pytest.mark.parametrize("path", ["Dockerfile", "compose.yaml", ".dockerignore", "docs/deploy.md"])
def test_deployment_file_exists(path):
    assert (ROOT / path).is_file()
