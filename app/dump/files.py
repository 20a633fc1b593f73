"""Dump files for the command line: plain or gzip-compressed, or standard input/output."""

import gzip
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

BUFFER = 1 << 20


@dataclass
class Source:
    lines: IO[bytes]
    raw: Any  # the file read, for its position
    size: int | None  # bytes, when known

    def position(self) -> int | None:
        try:
            return int(self.raw.tell()) if self.size else None
        except (OSError, ValueError):
            return None


@contextmanager
def open_source(path: str) -> Iterator[Source]:
    # Standard input is buffered again so its first bytes can be peeked at (gzip or not).
    raw: Any = io.BufferedReader(sys.stdin.buffer, BUFFER) if path == "-" else open(path, "rb")  # noqa: SIM115
    try:
        size = None if path == "-" else os.fstat(raw.fileno()).st_size
        stream: Any = raw
        if path.endswith(".gz") or (path == "-" and _gzip_magic(raw)):
            stream = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), BUFFER)  # type: ignore[arg-type]
        elif path != "-":
            stream = io.BufferedReader(raw, BUFFER)
        yield Source(stream, raw, size)
    finally:
        if path != "-":
            raw.close()


def _gzip_magic(raw: Any) -> bool:
    try:
        return bool(raw.peek(2)[:2] == b"\x1f\x8b")
    except (AttributeError, OSError):
        return False


@contextmanager
def open_target(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    raw: Any = gzip.open(path, "wb", compresslevel=6) if path.endswith(".gz") else open(path, "wb", BUFFER)  # noqa: SIM115
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    try:
        yield text
    finally:
        text.close()
