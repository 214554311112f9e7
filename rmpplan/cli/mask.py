"""``rmpplan mask``."""

from __future__ import annotations

import click

from rmpplan.cli.options import emit, input_errors


@click.command()
@click.argument("value")
@click.option(
    "--from",
    "from_form",
    type=click.Choice(["list", "hex"]),
    required=True,
    help="The input's form: kernel cpulist or hex mask.",
)
@click.option(
    "--to", "to_form", type=click.Choice(["list", "hex"]), required=True, help="The output's form."
)
@click.option(
    "--nr-cpus",
    type=click.IntRange(1, 8192),
    default=None,
    help="Bits in the mask (nr_cpu_ids); default: parse with 8192, "
    "print hex as wide as the highest set bit needs.",
)
@input_errors
def mask(value: str, from_form: str, to_form: str, nr_cpus: int | None) -> None:
    """Parsing and printing are bit-exact with the kernel's bitmap_parselist,
    bitmap_parse, %*pbl and %*pb. Put `--` before a VALUE that starts with
    '-'.
    """
    from rmpplan.cpumask import (
        NR_CPUS_MAX,
        format_cpulist,
        format_hexmask,
        hex_nbits,
        parse_cpulist,
        parse_hexmask,
    )
    from rmpplan.errors import InputError

    nbits = nr_cpus or NR_CPUS_MAX
    parse = parse_cpulist if from_form == "list" else parse_hexmask
    cpus = parse(value, nbits)
    if to_form == "list":
        emit(format_cpulist(cpus) + "\n")
        return
    try:
        emit(format_hexmask(cpus, nr_cpus or hex_nbits(cpus)) + "\n")
    except InputError as err:
        raise err.within(f"--nr-cpus {nr_cpus} is too small") from None
