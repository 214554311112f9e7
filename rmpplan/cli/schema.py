"""``rmpplan schema``."""

from __future__ import annotations

import click

from rmpplan.cli.options import emit


@click.command()
def schema() -> None:
    """Editors and generators can check topology files against it."""
    import json

    from rmpplan.topology.schema import TopologyFile

    emit(
        json.dumps(TopologyFile.model_json_schema(), indent=2, sort_keys=True, allow_nan=False)
        + "\n"
    )
