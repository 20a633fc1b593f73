"""Parsing in a second process, so reading a big dump and writing it use two cores.

The importing process feeds the raw bytes of the dump to a child process (a thread does
the reading), the child parses and checks every line and sends batches of rows back, and
the importing process writes them. On SQLite the two halves cost about the same, so a
million-post dump imports in about half the time. The child never touches the database.
"""

import contextlib
import multiprocessing
import queue
import threading
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from app.dump.format import DumpError
from app.dump.parser import Parser, Plan

CHUNK = 1 << 20
QUEUED_MESSAGES = 100  # batches waiting for the writer (half a million rows at most)


class PipeSink:
    """The child's end: what the parser produces goes back to the importing process."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        self.connection.send(("rows", table, rows))

    def section_done(self, name: str) -> None:
        self.connection.send(("section_done", name))

    def progress(self, kind: str, line: int) -> None:
        self.connection.send(("progress", kind, line))


def child_main(source: Connection, results: Connection, now: str) -> None:
    try:
        plan = Parser(PipeSink(results), now).run(_lines(source))
        results.send(("done", plan))
    except DumpError as error:
        results.send(("error", error.message, error.line))
    except BaseException as error:  # noqa: BLE001 — anything else is reported, not lost
        results.send(("crash", f"{type(error).__name__}: {error}"))
    finally:
        results.close()


def _lines(source: Connection) -> Iterator[str | bytes]:
    tail = b""
    while True:
        chunk = source.recv_bytes()
        if not chunk:
            break
        data = tail + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        tail = data[cut + 1 :]
        try:
            yield from data[:cut].decode("utf-8").split("\n")
        except UnicodeDecodeError:
            yield from data[:cut].split(b"\n")  # the parser names the line that is not UTF-8
    if tail:
        yield tail


def _chunks(stream: Any) -> Iterator[bytes]:
    read = getattr(stream, "read", None)
    if read is None:
        for line in stream:
            yield line.encode("utf-8") if isinstance(line, str) else line
        return
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk


def parse_in_child(stream: Iterable[str | bytes], now: str, sink: Any) -> Plan:
    """Runs the parser in a child process; its output is replayed into `sink` here."""
    context = multiprocessing.get_context("spawn")
    source_out, source_in = context.Pipe(duplex=False)
    results_out, results_in = context.Pipe(duplex=False)
    child = context.Process(
        target=child_main, args=(source_out, results_in, now), daemon=True, name="cercle-import-parser"
    )
    child.start()
    source_out.close()
    results_in.close()
    messages: queue.Queue[Any] = queue.Queue(QUEUED_MESSAGES)
    feed_failure: list[BaseException] = []

    def feed() -> None:
        try:
            for chunk in _chunks(stream):
                source_in.send_bytes(chunk)
            source_in.send_bytes(b"")
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child stopped early: it says why
        except BaseException as error:  # noqa: BLE001
            feed_failure.append(error)
            source_in.send_bytes(b"")
        finally:
            source_in.close()

    def receive() -> None:
        try:
            while True:
                message = results_out.recv()
                messages.put(message)
                if message[0] in ("done", "error", "crash"):
                    return
        except (EOFError, OSError):
            messages.put(("crash", "the parser process ended unexpectedly"))

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=receive, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        while True:
            message = messages.get()
            kind = message[0]
            if kind == "rows":
                sink.rows(message[1], message[2])
            elif kind == "section_done":
                sink.section_done(message[1])
            elif kind == "progress":
                sink.progress(message[1], message[2])
            elif kind == "done":
                if feed_failure:
                    raise feed_failure[0]
                return message[1]  # type: ignore[no-any-return]
            elif kind == "error":
                if feed_failure:
                    raise feed_failure[0]
                raise DumpError(message[1], message[2])
            else:
                raise DumpError(f"the import failed: {message[1]}")
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        # Let the threads see the end of the pipes: unblock a receiver waiting on a full queue.
        for _ in range(500):
            if not any(thread.is_alive() for thread in threads):
                break
            with contextlib.suppress(queue.Empty):
                messages.get(timeout=0.01)
        results_out.close()
