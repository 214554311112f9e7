"""Mutation testing of rmpplan's core: change one operator or constant, run the tests.

For each module this lists the mutation points in its code (comparison, arithmetic,
set and boolean operators, ``not``, ``True``/``False``, small integers, ``break``/
``continue``), writes one mutant at a time over the module, runs the module's own
test files on it (Hypothesis dev profile, ``-x``, no cache, no xdist) and restores
the file. A mutant that every test lets through is a survivor: printed with its
line so that a test can be written for it, or the reason it cannot recorded in
CONTRIBUTING.md ("Mutation testing").

String constants (messages), docstrings and annotations are left alone: a message's
wording is pinned by the golden files, not worth one mutant a word. mutmut 3 is not
used because it copies the project into a ``mutants/`` tree and imports the package
from there, which the subprocess tests (tests/cli.py ``run_child``) do not follow.

Usage: ``python bench/mutants.py [MODULE ...] [--cap N] [--seed S] [--list]``
(MODULE like ``cpumask``; every module below by default). It rewrites the files in
place, one at a time, and restores each on exit; run it on a clean tree.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

ROOT = Path(__file__).resolve().parents[1]
CORE_TESTS = (
    "tests/test_checks.py",
    "tests/test_plan.py",
    "tests/test_kernel.py",
    "tests/test_kernel_fidelity.py",
    "tests/test_explain.py",
    "tests/test_strategy_records.py",
    "tests/test_mutants.py",
)
# The test files that exercise each module: a mutant run needs only these.
MODULES: dict[str, tuple[str, ...]] = {
    "cpumask": ("tests/test_cpumask.py", "tests/test_mutants.py"),
    "mask_rules": CORE_TESTS,
    "plan": CORE_TESTS,
    "strategies": CORE_TESTS,
    "checks": CORE_TESTS,
    "kernel": CORE_TESTS,
    "explain": CORE_TESTS,
}
_Op = TypeVar("_Op", bound=ast.AST)
SWAPS: dict[type[ast.AST], type[ast.AST]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
    ast.BitXor: ast.BitOr,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass(frozen=True)
class Mutant:
    """One change: the source span it replaces and the text put there."""

    line: int
    start: tuple[int, int]
    end: tuple[int, int]
    old: str
    new: str

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for text in lines:
            offsets.append(offsets[-1] + len(text.encode()))
        data = source.encode()
        first = offsets[self.start[0] - 1] + self.start[1]
        last = offsets[self.end[0] - 1] + self.end[1]
        return (data[:first] + self.new.encode() + data[last:]).decode()


def _skipped(tree: ast.Module) -> set[int]:
    """Ids of nodes not to mutate: docstrings, annotations, TYPE_CHECKING blocks."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(child) for child in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.arg):
            mark(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            mark(node)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mark(body[0])
    return skip


def _swap(op: _Op) -> _Op:
    """The operator that ``op`` is swapped for (of the same kind: a comparison for a
    comparison, and so on)."""
    return cast("_Op", SWAPS[type(op)]())


def _variants(node: ast.AST) -> Iterator[ast.AST]:
    """Each mutated copy of ``node`` (its own operator or value, not its children's)."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            if type(op) in SWAPS:
                ops = list(node.ops)
                ops[index] = _swap(op)
                yield ast.Compare(node.left, ops, node.comparators)
    elif isinstance(node, ast.BinOp) and type(node.op) in SWAPS:
        yield ast.BinOp(node.left, _swap(node.op), node.right)
    elif isinstance(node, ast.AugAssign) and type(node.op) in SWAPS:
        yield ast.AugAssign(node.target, _swap(node.op), node.value)
    elif isinstance(node, ast.BoolOp):
        yield ast.BoolOp(_swap(node.op), node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield node.operand
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield ast.Constant(not node.value)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield ast.Constant(node.value + 1)
        if node.value in (1, 2):
            yield ast.Constant(node.value - 1)
    elif isinstance(node, ast.Break):
        yield ast.Continue()
    elif isinstance(node, ast.Continue):
        yield ast.Break()


def mutants(source: str) -> list[Mutant]:
    """Every mutant of ``source``, in the order of the file."""
    tree = ast.parse(source)
    skip = _skipped(tree)
    found: list[Mutant] = []
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.expr | ast.stmt):
            continue
        old = ast.get_source_segment(source, node)
        if old is None:
            continue
        for variant in _variants(node):
            new = ast.unparse(variant)
            if isinstance(node, ast.expr) and not isinstance(node, ast.Constant):
                new = f"({new})"
            found.append(
                Mutant(
                    line=node.lineno,
                    start=(node.lineno, node.col_offset),
                    end=(node.end_lineno or node.lineno, node.end_col_offset or 0),
                    old=old,
                    new=new,
                )
            )
    return sorted(found, key=lambda m: (m.start, m.new))


def _run(tests: tuple[str, ...], timeout: float) -> str:
    """ "killed", "survived" or "timeout" for the tree as it is on disk."""
    # ROOT first on the path: a copy of the tree tests its own rmpplan, not the installed one.
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(ROOT))
    env.pop("CI", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "--hypothesis-profile=dev",
        *[t for t in tests if (ROOT / t).exists()],
    ]
    try:
        done = subprocess.run(
            command, check=False, cwd=ROOT, env=env, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if done.returncode == 0 else "killed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", nargs="*", help=f"any of {', '.join(MODULES)}")
    parser.add_argument("--cap", type=int, default=0, help="sample at most N mutants a module")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    args = parser.parse_args()
    unknown = [name for name in args.module if name not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}")
    for name in args.module or list(MODULES):
        path = ROOT / "rmpplan" / f"{name}.py"
        original = path.read_text()
        every = mutants(original)
        chosen = every
        if args.cap and len(every) > args.cap:
            chosen = sorted(
                random.Random(f"{args.seed}:{name}").sample(every, args.cap),
                key=lambda m: (m.start, m.new),
            )
        print(f"== {name}: {len(chosen)} of {len(every)} mutants", flush=True)
        if args.list:
            for m in chosen:
                print(f"  {name}.py:{m.line}: {m.old!r} -> {m.new!r}")
            continue
        tests = MODULES[name]
        started = time.monotonic()
        if _run(tests, timeout=600) != "survived":
            print(f"   the tests fail on the unmutated {name}.py: skipped", flush=True)
            continue
        # A cached bytecode file of the original could outlive a same-sized mutant.
        for cached in (path.parent / "__pycache__").glob(f"{name}.*.pyc"):
            cached.unlink()
        timeout = 5 * (time.monotonic() - started) + 10
        survivors = 0
        try:
            for m in chosen:
                path.write_text(m.apply(original))
                outcome = _run(tests, timeout)
                if outcome == "survived":
                    survivors += 1
                    print(f"   SURVIVED {name}.py:{m.line}: {m.old!r} -> {m.new!r}", flush=True)
        finally:
            path.write_text(original)
        print(f"   {survivors} survived of {len(chosen)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
