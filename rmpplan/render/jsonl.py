"""``verify --format jsonl``: one result per line, the same object as an entry
of the JSON document's ``results``, so that a long run can be piped, watched
and resumed, then a trailer record that says the run is whole (docs/json.md).
The command line prints each line as soon as its input is checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rmpplan import __version__
from rmpplan.escaping import unicode_text
from rmpplan.render.common import SCHEMA_VERSION
from rmpplan.render.json import summary_json, verify_line
from rmpplan.shards import TRAILER
from rmpplan.tally import summary_of

if TYPE_CHECKING:
    from rmpplan.checks import Checked
    from rmpplan.shards import ShardMark

__all__ = ["trailer", "verify_line"]


def trailer(
    results: Sequence[Checked],
    sha256: str,
    config: str | None,
    settings: Mapping[str, str | None],
    shard: ShardMark | None = None,
) -> str:
    """The last line: the run's counts, the SHA-256 of the UTF-8 lines before it, the
    configuration file used (or null), the settings that change verdicts, and with
    ``--shard K/N`` which shard of which list of inputs this is."""
    record = {
        "kind": TRAILER,
        "schema_version": SCHEMA_VERSION,
        "rmpplan_version": __version__,
        "summary": summary_json(summary_of(results)),
        "sha256": sha256,
        "config": None if config is None else unicode_text(config),
        "settings": dict(settings),
    }
    if shard is not None:
        record["shard"] = shard.as_json()
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
