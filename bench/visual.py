"""Render the machine pictures as a person sees them: SVG by rmpplan, PNG by headless Chromium.

The suite checks the SVG's structure (tests/test_svg.py); only a browser
shows whether a reader can use it: whether the numbers fit their boxes, the
legend reads, the folds say what they hold. Each scenario below is drawn by
rmpplan's command line, then screenshot at the picture's own size.

Usage: ``python bench/visual.py [--out DIR] [--chromium PATH]`` (``make visual``
runs it with the project's venv and writes docs/img/). Needs Chromium
(Debian: ``apt-get install chromium``); exit 2 without it, 1 when a command fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (PNG name, rmpplan arguments): a right pass, a core run twice, and the
# largest machine folded, with a CPU offline after setup (a core missed).
SCENARIOS = (
    ("epyc-9654-2s-plan", ["plan", "topologies/epyc-9654-2s.yaml", "--leader", "17"]),
    (
        "epyc-9965-2s-clear-cpu",
        ["explain", "topologies/epyc-9965-2s.yaml", "--leader", "401", "--strategy", "clear-cpu"],
    ),
    (
        "max-8192-offline",
        [
            "explain",
            "topologies/max-8192.yaml",
            "--leader",
            "17",
            "--strategy",
            "v8-three-way",
            "--offline-after-setup",
            "300,4500",
        ],
    ),
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
SIZE = re.compile(r'<svg [^>]*width="(\d+)" height="(\d+)"')


def screenshot(chromium: str, svg: Path, png: Path) -> None:
    found = SIZE.search(svg.read_text(encoding="utf-8")[:2000])
    if found is None:
        raise SystemExit(f"visual: {svg}: no width and height on <svg>")
    width, height = found.groups()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                svg.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    if shutil.which(args.chromium) is None:
        print(f"visual: no {args.chromium} on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name, command in SCENARIOS:
            svg = Path(work) / f"{name}.svg"
            done = subprocess.run(
                [sys.executable, "-m", "rmpplan", *command, "--svg", str(svg)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode not in (0, 1) or not svg.exists():
                print(f"visual: {name}: rmpplan exited {done.returncode}", file=sys.stderr)
                print(done.stderr, file=sys.stderr)
                return 1
            png = args.out / f"{name}.png"
            screenshot(args.chromium, svg, png)
            print(
                f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: "
                f"{png.stat().st_size // 1024} KiB from {svg.stat().st_size // 1024} KiB of SVG"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
