"""rmpplan: plan and prove how RMPOPT is spread over a machine's CPUs."""

from __future__ import annotations

__version__ = "0.1.0"
