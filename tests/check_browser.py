"""Run by `make test` before pytest: says how to get Chromium for the browser tests.

Prints nothing when Chromium is there. When it is missing it prints a notice and exits 0
(the browser tests will be skipped), or exits 1 when the `CI` variable is set (CI must run them).
"""

import os
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install it with `sudo apt-get install chromium` to run the browser tests"


def chromium_missing() -> str | None:
    """A message when Chromium cannot be launched, None when it is ready."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return f"Chromium not found: {INSTALL_HINT}"


def main() -> int:
    problem = chromium_missing()
    if problem is None:
        return 0
    in_ci = bool(os.environ.get("CI"))
    lines = [
        "",
        f"  {problem}.",
        f"  (looked for {CHROMIUM}; the Playwright package alone is not enough: its own browser",
        "  download is not used here.)",
        "  CI is set: the browser tests are required, stopping."
        if in_ci
        else "  The browser tests (tests/browser) will be skipped.",
        "",
    ]
    print("\n".join(lines), file=sys.stderr if in_ci else sys.stdout)
    return 1 if in_ci else 0


if __name__ == "__main__":
    sys.exit(main())
