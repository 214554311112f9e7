"""The core never spells a flag: a note or message that names a parameter names it
as the edge running the core does (rmpplan.naming). The command line says
``--rule``, the API ``rule``."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import click
import pytest

from rmpplan import api
from rmpplan.cli.main import cli
from rmpplan.cli.options import flag_names
from rmpplan.fleet import Job, Settings, _isolated
from rmpplan.kernel import modelled
from rmpplan.terms import Check
from tests.cli import one_error, run
from tests.conftest import EXAMPLES, ROOT

CORE = ROOT / "rmpplan"
EDGES = ("cli", "render")
FLAG = re.compile(r"--[a-z][a-z0-9-]*")
ALLOWED = {
    # The JSON Lines shards are written by the command line only; a message about
    # a file that is not one names the command that writes them.
    ("shards.py", "--format"),
    ("shards.py", "--shard"),
}
PRIMARY_OFFLINE = str(EXAMPLES / "primary-offline.yaml")
SMT2 = str(EXAMPLES / "nosmt.yaml")


def _flags(command: click.Command) -> set[str]:
    found = {name for param in command.params for name in param.opts + param.secondary_opts} - {
        "-h"
    }
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found |= _flags(sub)
    return {name for name in found if name.startswith("--")}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstrings of ``tree``: of its module, classes and functions, and
    the string under an assignment (an attribute's docstring). People read them in
    the code, never in output."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for index, statement in enumerate(body):
            if not (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                continue
            after_assignment = index > 0 and isinstance(body[index - 1], ast.Assign | ast.AnnAssign)
            if index == 0 or after_assignment:
                found.add(id(statement.value))
    return found


def _flag_literals(path: Path, flags: set[str]) -> list[tuple[int, str]]:
    """The (line, flag) of each flag of ``flags`` in a string of ``path`` that is not
    a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [
        (node.lineno, name)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        for name in FLAG.findall(node.value)
        if name in flags
    ]


def test_the_scan_knows_the_flags() -> None:
    """The flags scanned for are the command line's own, every command's."""
    flags = _flags(cli)
    assert {"--rule", "--kernel", "--offline-after-setup", "--svg", "--dmesg"} <= flags
    assert {"--config", "--no-config", "--force", "--memory-from"} <= flags


def test_the_scan_finds_a_flag_in_a_literal(tmp_path: Path) -> None:
    """A flag in a message is found, one in a docstring is not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""See --rule."""\n\nNOTE = f"give --rule {1}"\n"""About NOTE: --kernel."""\n'
        'def f() -> str:\n    """--strategy"""\n    return "--svg x or --unknown"\n',
        encoding="utf-8",
    )
    assert _flag_literals(sample, _flags(cli)) == [(3, "--rule"), (7, "--svg")]


def test_no_core_literal_spells_a_flag() -> None:
    """Outside rmpplan/cli and rmpplan/render no string (docstrings aside) holds a flag
    of the command line: the core names parameters through rmpplan.naming."""
    flags = _flags(cli)
    core = [
        path for path in sorted(CORE.rglob("*.py")) if path.relative_to(CORE).parts[0] not in EDGES
    ]
    assert len(core) > 30
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in core
        for line, name in _flag_literals(path, flags)
        if (path.name, name) not in ALLOWED
    ]
    assert found == []


def test_a_what_if_note_names_the_argument_or_the_flag() -> None:
    machine = api.load(PRIMARY_OFFLINE)
    notes = api.plan(machine, 0, rule="first-sibling", kernel="v10").notes
    assert "rule first-sibling replaces v10's apic-primary (what-if)" in notes
    doc = json.loads(
        run(
            "plan", PRIMARY_OFFLINE, "--leader", "0", "--kernel", "v10", "--rule",
            "first-sibling", "--format", "json",
        ).stdout
    )  # fmt: skip
    assert "--rule first-sibling replaces v10's apic-primary (what-if)" in doc["notes"]


def test_the_landed_note_names_the_argument_or_the_flag() -> None:
    machine = api.load(PRIMARY_OFFLINE)
    (api_note,) = api.plan(machine, 0).notes
    assert "the kernel as landed (v10, kernel v10) builds another mask" in api_note
    doc = json.loads(run("plan", PRIMARY_OFFLINE, "--leader", "0", "--format", "json").stdout)
    (cli_note,) = doc["notes"]
    assert "the kernel as landed (v10, --kernel v10) builds another mask" in cli_note
    assert cli_note.replace("--kernel", "kernel") == api_note


def _landed(messages: list[str]) -> list[str]:
    return [message for message in messages if "the kernel as landed" in message]


def test_a_landed_finding_names_the_argument_or_the_flag() -> None:
    machine = api.load(PRIMARY_OFFLINE)
    verdict = api.verify(machine)
    found = _landed([f.message for f in verdict.findings if f.check is Check.LANDED_KERNEL])
    assert found
    assert all(message.endswith("(see kernel v10)") for message in found)
    doc = json.loads(run("verify", "--no-config", PRIMARY_OFFLINE, "--format", "json").stdout)
    messages = _landed([f["message"] for f in doc["results"][0]["findings"]])
    assert messages == [message.replace("(see kernel", "(see --kernel") for message in found]


def test_a_process_of_the_fleet_names_as_its_caller(tmp_path: Path) -> None:
    """A check in a process of its own names the flags its caller sent, not the core's
    names (the pool's and a Dask cluster's processes run the same Checker)."""
    job = Job("primary-offline", Path(PRIMARY_OFFLINE))
    sent = Settings(modelled(None), names=flag_names("kernel"))
    done = _isolated(job, sent)
    found = _landed([item.message for item in done.checked.verdict.findings])  # type: ignore[union-attr]
    assert found and all(message.endswith("(see --kernel v10)") for message in found)
    bare = _isolated(job, Settings(modelled(None)))
    found = _landed([item.message for item in bare.checked.verdict.findings])  # type: ignore[union-attr]
    assert found and all(message.endswith("(see kernel v10)") for message in found)


def test_the_case3_scenario_names_the_argument_or_the_flag() -> None:
    epyc = str(ROOT / "topologies" / "epyc-9654-2s.yaml")
    machine = api.load(epyc)
    explained = api.explain(machine, 200, strategy="v8-three-way")
    api_notes = [note for note in explained.notes if "smallest" in note]
    args = ("explain", epyc, "--leader", "200", "--strategy", "v8-three-way", "--format", "json")
    cli_notes = [note for note in json.loads(run(*args).stdout)["notes"] if "smallest" in note]
    assert len(api_notes) == len(cli_notes) == 1
    assert "reaches it: --offline-after-setup 0 (" in cli_notes[0]
    assert "reaches it: offline_after_setup 0 (" in api_notes[0]


def test_an_error_names_the_argument_or_the_flag(tmp_path: Path) -> None:
    unknown = tmp_path / "machine.txt"
    unknown.write_text("not a topology\n", encoding="utf-8")
    with pytest.raises(api.InputError, match=r"\(or give input_format\)$"):
        api.load(unknown)
    one_error(run("show", str(unknown)), "(or give --input-format)")
    with pytest.raises(api.InputError, match=r"see bundled\(\)\)$"):
        api.load("no-such-machine")
    one_error(run("show", "no-such-machine"), "see `rmpplan verify --builtin`)")


def test_verify_messages_name_flags(tmp_path: Path) -> None:
    """The verify pipeline's own messages, made in the core, name the flags."""
    log = tmp_path / "dmesg.log"
    log.write_text("", encoding="utf-8")
    folder = str(ROOT / "topologies")
    config = str(ROOT / "pyproject.toml")
    for args, needle in [
        (("--config", config, "--no-config"), "--config and --no-config conflict"),
        (("--svg", str(tmp_path / "x.svg")), "--svg draws one machine"),
        (("--dmesg", str(log)), "--dmesg is the log of one machine"),
        (("--memory", "0-1G"), "--memory and --memory-from go with --dmesg"),
    ]:
        one_error(run("verify", folder, *args), needle)
