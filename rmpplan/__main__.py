"""``python -m rmpplan``."""

from __future__ import annotations

from rmpplan.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
