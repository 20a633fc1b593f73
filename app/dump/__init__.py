"""Moving a whole community in and out: the JSON Lines dump of DUMP-FORMAT.md.

`export` writes it, `import_dump` reads it into an empty database (all or nothing),
`DumpError` says which line is wrong.
"""

from app.dump.exporter import export
from app.dump.format import DumpError
from app.dump.importer import import_dump

__all__ = ["DumpError", "export", "import_dump"]
