"""``rmpplan import``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from rmpplan.cli.options import emit, input_errors, input_format_option, note
from rmpplan.terms import InputFormat


@click.command(name="import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The topology file to write: .yaml/.yml, or .json; '-' for YAML on stdout.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("--explicit", is_flag=True, help="Always list every CPU, even for a regular machine.")
@input_format_option
@input_errors
def import_(
    *,
    source: Path,
    output: Path,
    force: bool,
    explicit: bool,
    input_format: InputFormat | None,
) -> None:
    """SOURCE is a sysfs root (a dump folder, or / for this machine), a dump
    tarball, hwloc XML, or saved lscpu output. A regular machine is written
    in the compact layout form, anything else CPU by CPU; loading the file
    gives the same CPUs, cores, packages, dies, online, present and possible
    sets and APIC ids. The file is written atomically and an existing one is
    kept unless --force is given.
    """
    from rmpplan.errors import InputError
    from rmpplan.files import check_output, write_atomic
    from rmpplan.inputs import load_machine, resolve_input
    from rmpplan.topology.dump import dump_json, dump_yaml, to_document, yaml_comment

    suffix = output.suffix.lower()
    if str(output) != "-" and suffix not in (".yaml", ".yml", ".json"):
        raise InputError("unknown output extension; use .yaml, .yml or .json", path=str(output))
    if str(output) != "-":
        # Refused before anything is read: never over the source, a link or a FIFO.
        try:
            inputs = [resolve_input(source)]
        except InputError:
            inputs = []  # no such source: loading it says so, once nothing is at stake
        check_output(output, inputs)
        if os.path.lexists(output) and not force:
            raise InputError("already exists; give --force to replace it", path=str(output))
    machine = load_machine(source, input_format)
    doc = to_document(machine, compact=not explicit)
    if suffix == ".json":
        text = dump_json(doc)
    else:
        header = yaml_comment(
            f"Imported by rmpplan from {source}; `rmpplan show` this file to review it."
        )
        text = dump_yaml(doc, header)
    if str(output) == "-":
        emit(text)
        return
    write_atomic(output, text, force=force)
    form = "compact layout" if "layout" in doc else "explicit"
    note(f"wrote {output} ({len(machine.present)} CPUs, {len(machine.cores)} cores, {form} form)")
