"""The `cercle` command: serve, migrate, create-admin, reset-link, demo."""

import getpass
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(help="Cercle — a self-hosted micro-community forum for brands.", no_args_is_help=True)
console = Console(stderr=True)
ROOT = Path(__file__).resolve().parent.parent


def alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def run_migrations() -> None:
    from alembic import command

    command.upgrade(alembic_config(), "head")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    run_migrations()
    console.print("[green]Database is up to date.[/green]")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (use PostgreSQL for more than one)."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve Cercle with uvicorn."""
    import uvicorn

    from app.config import get_settings

    if workers > 1 and get_settings().is_sqlite:
        console.print("[yellow]Several workers on SQLite work, but PostgreSQL is the database for that.[/yellow]")
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                reload=reload, proxy_headers=True, access_log=False)


@app.command("create-admin")
def create_admin(
    username: str = typer.Argument(..., help="Username of the new administrator."),
    email: str = typer.Option(..., prompt=True, help="E-mail address."),
    password: str = typer.Option("", help="Password (asked when not given)."),
) -> None:
    """Create an administrator account."""
    from app.db import open_session
    from app.errors import DomainError
    from app.services import accounts

    if not password:
        password = getpass.getpass("Password: ")
    with open_session() as session:
        try:
            user = accounts.create_admin(session, username=username, email=email, password=password)
        except DomainError as error:
            console.print(f"[red]{error.message}[/red] {error.fields or ''}")
            raise typer.Exit(1) from None
    console.print(f"[green]Administrator {user.username} created.[/green]")


@app.command("reset-link")
def reset_link(username: str = typer.Argument(..., help="Username or e-mail of the account.")) -> None:
    """Print a one-time password reset link (when no SMTP server is configured)."""
    from app.db import open_session
    from app.services import accounts

    with open_session() as session:
        user = accounts.find_by_login(session, username)
        if user is None or user.is_deleted:
            console.print("[red]No such account.[/red]")
            raise typer.Exit(1)
        token = accounts.create_reset_token(session, user=user)
    typer.echo(accounts.reset_link(token))


@app.command()
def demo(
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when the database has users."),
    members: int = typer.Option(40, help="How many members to create."),
) -> None:
    """Seed a lively demo community (admin password from CERCLE_DEMO_PASSWORD)."""
    import os

    from app.config import get_settings
    from app.db import open_session
    from app.demo import database_is_empty, seed_demo

    # The seeder writes a community's months of history in seconds: write limits stay off.
    for name in ("REPLIES_PER_10_MINUTES", "THREADS_PER_HOUR", "FLAGS_PER_DAY", "INVITES_PER_DAY"):
        os.environ[f"CERCLE_{name}"] = "0"
    get_settings.cache_clear()

    with open_session() as session:
        if if_empty and not database_is_empty(session):
            console.print("The database already has a community; the demo is not added.")
            return
        seed_demo(session, members=members, console=console)


badges_app = typer.Typer(help="Badges: backfill the automatic ones.", no_args_is_help=True)
app.add_typer(badges_app, name="badges")


@badges_app.command("recompute")
def badges_recompute() -> None:
    """Award every automatic badge that should have been awarded (safe to run again)."""
    from rich.progress import Progress

    from app.db import open_session
    from app.services import badges

    with open_session() as session, Progress(console=console) as progress:
        task = progress.add_task("Badge rules", total=len(badges.RULES))
        count = badges.recompute(session, progress=lambda _slug: progress.advance(task))
    console.print(f"[green]{count} badges awarded.[/green]")


@app.command()
def kpis(
    start: str = typer.Option("", "--start", help="First day, YYYY-MM-DD (UTC); default: 30 days ending --end."),
    end: str = typer.Option("", "--end", help="Last day, included, YYYY-MM-DD (UTC); default: today."),
    circle: str = typer.Option("", "--circle", help="A circle's slug; default: the whole site."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (the API's format)."),
) -> None:
    """Print the KPIs of a period (as defined in KPIS.md): readable tables, or JSON."""
    import json

    from rich.console import Console

    from app.analytics import period_from, report
    from app.analytics.console import print_report
    from app.db import open_session
    from app.errors import DomainError, NotFound
    from app.services import circles

    with open_session(readonly=True) as session:
        try:
            scope = circles.get_by_slug(session, circle) if circle else None
            start_day, end_day = period_from(start or None, end or None)
            data = report(session, start=start_day, end=end_day, circle=scope)
        except NotFound:
            console.print(f"[red]No circle has the slug {circle!r}.[/red]")
            raise typer.Exit(2) from None
        except DomainError as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print_report(data, Console())



PARALLEL_FROM_BYTES = 20_000_000


@app.command("import")
def import_(file: str = typer.Argument(..., help="Dump to read: .jsonl, .jsonl.gz, or - for standard input.")) -> None:
    """Import a community dump (DUMP-FORMAT.md) into an empty database: all or nothing."""
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from app.db import open_session
    from app.dump import DumpError, import_dump
    from app.dump.files import open_source

    started = time.perf_counter()
    try:
        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[lines]:>12,} lines"),
                       TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal)
        with open_source(file) as source, open_session() as session, bar:
            task = bar.add_task("Importing", total=source.size, lines=0)

            def report(kind: str, line: int) -> None:
                bar.update(task, completed=source.position(), lines=line, description=f"Importing {kind}")

            # A big dump is parsed in a second process while this one writes.
            parallel = source.size is None or source.size > PARALLEL_FROM_BYTES
            counts = import_dump(session, source.lines, progress=report, parallel=parallel)
    except FileNotFoundError:
        console.print(f"[red]No such file: {file}[/red]")
        raise typer.Exit(1) from None
    except (DumpError, OSError, EOFError) as error:
        console.print(f"[red]{error}[/red]")
        console.print("Nothing was imported.")
        raise typer.Exit(1) from None
    console.print(f"[green]Imported[/green] {_counted(counts) or 'nothing'} in {time.perf_counter() - started:.1f} s.")


@app.command("export")
def export_(file: str = typer.Argument(..., help="Dump to write: .jsonl, .jsonl.gz, or - for standard output.")) -> None:
    """Export the whole community as a dump (DUMP-FORMAT.md)."""
    import time

    from app.db import open_session
    from app.dump import export
    from app.dump.files import open_target

    started = time.perf_counter()
    status = console.status("Exporting…") if console.is_terminal else _nothing()
    with open_session(readonly=True) as session, open_target(file) as target, status:
        counts = export(session, target)
    console.print(f"[green]Exported[/green] {_counted(counts)} in {time.perf_counter() - started:.1f} s.")


@app.command()
def backup(directory: Path = typer.Argument(..., help="Folder to write the backup into.")) -> None:
    """Back up the database (SQLite: online copy; PostgreSQL: a dump)."""
    from app.backup import backup as make_backup

    target = make_backup(directory)
    console.print(f"[green]Backup written:[/green] {target}")


@app.command()
def restore(file: Path = typer.Argument(..., help="A backup made by `cercle backup` (.db or .jsonl.gz).")) -> None:
    """Restore a backup into the configured, empty database."""
    from app.backup import restore as do_restore
    from app.dump import DumpError

    try:
        console.print(f"[green]Restored:[/green] {do_restore(file)}")
    except (DumpError, ValueError, FileNotFoundError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


def _nothing():  # type: ignore[no-untyped-def]
    from contextlib import nullcontext

    return nullcontext()


def _counted(counts: dict[str, int]) -> str:
    """`{"site": 1, "post": 3}` → "3 posts"."""
    return ", ".join(f"{count:,} {kind.replace('_', ' ')}{'' if count == 1 else 's'}"
                     for kind, count in counts.items() if kind != "site")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
