"""The documentation keeps up with the code (Datasette's test_docs idea).

A setting, a command or an API route added without its line in the README or docs/api.md
fails here, so the docs a newcomer reads are the ones that are true.
"""

import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from app.cli import app as cli_app
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
API_DOC = ROOT / "docs" / "api.md"
CI_SCRIPT = ROOT / ".ci" / "run"

ENV_NAME = re.compile(r"CERCLE_[A-Z0-9_]+")
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _section(text: str, heading: str) -> str:
    """The body of the `## heading` section of a Markdown text (up to the next `## `)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def _table_rows(section: str) -> list[list[str]]:
    """The cells of the Markdown table rows of a section, header and rule lines left out."""
    rows = []
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.fullmatch(r"\|[\s:|-]+\|", line):
            continue
        # `\|` inside a cell is a literal bar, not a column separator.
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))]
        rows.append(cells)
    return rows[1:] if rows else rows


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _setting_env_names() -> set[str]:
    return {f"CERCLE_{name.upper()}" for name in Settings.model_fields}


def _documented_settings() -> dict[str, list[str]]:
    """First-column variable name -> its row, from the README's configuration table."""
    rows = _table_rows(_section(_readme(), "Configuration"))
    documented = {}
    for cells in rows:
        names = ENV_NAME.findall(cells[0])
        assert len(names) == 1, f"a configuration row names one variable: {cells}"
        documented[names[0]] = cells
    return documented


def _cli_commands() -> dict[str, list[str]]:
    """Command name ("demo", "badges recompute") -> what its README row must mention."""
    commands: dict[str, list[str]] = {}

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            if command.hidden:
                continue
            if hasattr(command, "commands"):  # a sub-app: its own commands are documented
                walk(command, f"{prefix}{name} ")
            else:
                commands[prefix + name] = _needed_words(command)

    walk(typer.main.get_command(cli_app), "")
    return commands


def _needed_words(command: Any) -> list[str]:
    """Options (`--host`) and argument names (`USERNAME`) a command's README row must mention."""
    needed = []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            needed.append(param.name.upper())
        else:
            needed.append(next(opt for opt in param.opts if opt.startswith("--")))
    return needed


def _documented_commands() -> dict[str, str]:
    """Command name -> its whole row, from the README's command line table."""
    documented = {}
    for cells in _table_rows(_section(_readme(), "Command line")):
        # `cercle badges recompute` is a sub-command; in `cercle create-admin USERNAME`, the
        # word in capitals is an argument.
        match = re.match(r"`cercle ([a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)*)", cells[0])
        assert match, f"a command row starts with `cercle COMMAND`: {cells}"
        documented[match.group(1)] = " | ".join(cells)
    return documented


def _api_routes() -> set[tuple[str, str]]:
    from app.main import create_app

    spec = create_app().openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/")
        for method in operations
        if method.upper() in HTTP_METHODS
    }


def _documented_api_routes() -> set[tuple[str, str]]:
    text = API_DOC.read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`(/api/[^`]+)`", text, re.M))


# Settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("env_name", sorted(_setting_env_names()))
def test_setting_is_documented_in_readme_configuration_table(env_name: str) -> None:
    assert env_name in _documented_settings(), f"{env_name} is missing from README.md's configuration table"


@pytest.mark.parametrize("env_name", sorted(_setting_env_names()))
def test_setting_is_explained_in_docs_configuration(env_name: str) -> None:
    assert f"**`{env_name}`**" in CONFIGURATION_DOC.read_text(encoding="utf-8"), (
        f"{env_name} has no paragraph in docs/configuration.md"
    )


def test_readme_configuration_table_names_only_variables_that_exist() -> None:
    # A variable outside Settings (the demo password) must at least be read somewhere.
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "app").rglob("*.py"))
    sources += (ROOT / "Makefile").read_text(encoding="utf-8")
    stale = [name for name in _documented_settings() if name not in _setting_env_names() and name not in sources]
    assert not stale, f"README.md documents variables nothing reads: {stale}"


def test_readme_configuration_table_gives_a_default_for_every_setting() -> None:
    for name, cells in _documented_settings().items():
        assert len(cells) == 3 and cells[1] and cells[2], f"{name}: the row needs a default and a meaning"


# Command line ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(_cli_commands()))
def test_cli_command_is_documented_in_readme_with_its_options(command: str) -> None:
    documented = _documented_commands()
    assert command in documented, f"`cercle {command}` is missing from README.md's command line table"
    missing = [word for word in _cli_commands()[command] if word not in documented[command]]
    assert not missing, f"`cercle {command}`: README.md does not mention {missing}"


def test_readme_command_table_lists_only_commands_that_exist() -> None:
    stale = sorted(set(_documented_commands()) - set(_cli_commands()))
    assert not stale, f"README.md documents commands that do not exist: {stale}"


# API ------------------------------------------------------------------------------------------


def test_every_api_route_is_in_docs_api_table() -> None:
    missing = sorted(_api_routes() - _documented_api_routes(), key=lambda route: (route[1], route[0]))
    assert not missing, f"docs/api.md does not list: {missing}"


def test_docs_api_table_lists_only_routes_that_exist() -> None:
    stale = sorted(_documented_api_routes() - _api_routes(), key=lambda route: (route[1], route[0]))
    assert not stale, f"docs/api.md lists routes that do not exist: {stale}"


# Quick start and CI ---------------------------------------------------------------------------


def test_readme_quick_start_is_make_run_and_make_test() -> None:
    quick_start = _section(_readme(), "Quick start")
    block = re.search(r"```[a-z]*\n(.*?)```", quick_start, re.S)
    assert block, "the quick start has a code block"
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    assert "http://127.0.0.1:8000" in quick_start
    assert "`admin`" in quick_start and "`cercle-demo`" in quick_start
    assert "CERCLE_DEMO_PASSWORD" in quick_start


def test_readme_links_point_to_files_that_exist() -> None:
    links = re.findall(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)", _readme())
    missing = [link for link in links if not (ROOT / link.split("#")[0]).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_ci_script_runs_make_test_with_postgresql_required() -> None:
    assert CI_SCRIPT.exists(), ".ci/run is missing"
    assert os.access(CI_SCRIPT, os.X_OK), ".ci/run is not executable"
    text = CI_SCRIPT.read_text(encoding="utf-8")
    assert text.startswith("#!") and "bash" in text.splitlines()[0]
    code = [line.split("#", 1)[0] for line in text.splitlines()]
    assert any("set -euo pipefail" in line for line in code)
    assert any(re.search(r"(^|[\s;&|(])make test\b", line) for line in code), ".ci/run does not call `make test`"
    assert any("CERCLE_TEST_POSTGRES=required" in line for line in code)
