"""``python -m rmpplan``."""

from __future__ import annotations

from rmpplan.cli.main import entry

if __name__ == "__main__":
    entry()
