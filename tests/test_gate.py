"""The gate never lies, hangs or blows up: every failure is one line and exit 2,
a bug in rmpplan one line and exit 3, and verify never passes by not looking."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rmpplan.cli.main import cli
from tests.conftest import ROOT, TOPOLOGIES

SINGLE = (TOPOLOGIES / "single-core.yaml").read_text()
BROKEN = "name: broken\ncpus: 5\n"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Invoke rmpplan as a user would, with stdout and stderr kept apart."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def one_line(result: Result, code: int, needle: str) -> str:
    """Exit ``code``, one line on stderr holding ``needle``, no traceback; that line."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def rmpplan(*args: str, stdout: str = "", env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the installed command in a shell, stdout redirected by ``stdout``; (code, stderr)."""
    command = " ".join([f'"{sys.executable}" -m rmpplan', *args, stdout])
    done = subprocess.run(
        command,
        shell=True,
        cwd=ROOT,
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return done.returncode, done.stderr


def tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative paths) below ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# --- exit 2, one line: unwritable output ------------------------------------------


@pytest.mark.parametrize("redirect", ["> /dev/full", ">&-"])
def test_unwritable_stdout_is_exit_2(redirect: str) -> None:
    """verify with stdout on /dev/full or closed: exit 2 and one line, not a lost report."""
    if redirect.startswith(">") and "full" in redirect and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    code, stderr = rmpplan("verify", "topologies", stdout=redirect)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("rmpplan: error: cannot write the report")


def test_reader_leaving_is_not_an_error() -> None:
    """`rmpplan … | head -c1`: the reader left early, exit 0 and nothing on stderr."""
    command = f'"{sys.executable}" -m rmpplan show max-8192 --format text | head -c1 >/dev/null'
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# --- exit 3: a bug in rmpplan -------------------------------------------------------


def _explode(*_args: object, **_kwargs: object) -> Any:
    raise RuntimeError("the prover fell over\nat a second line")


def test_internal_error_is_exit_3_and_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception rmpplan did not expect: exit 3, one line asking for a report."""
    monkeypatch.setattr("rmpplan.landed.verify", _explode)
    line = one_line(run("verify", str(TOPOLOGIES), env={"RMPPLAN_DEBUG": ""}), 3, "internal")
    assert line == (
        "rmpplan: internal error: RuntimeError: the prover fell over\\nat a second line; "
        "please report it with RMPPLAN_DEBUG=1 output"
    )


def test_internal_error_traceback_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """RMPPLAN_DEBUG=1 adds the traceback to the one line, and only then."""
    monkeypatch.setattr("rmpplan.landed.verify", _explode)
    result = run("verify", str(TOPOLOGIES), env={"RMPPLAN_DEBUG": "1"})
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert "_explode" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("rmpplan: internal error: ")


def test_unexpected_os_error_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError no command turned into a message is the system refusing: exit 2."""

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise PermissionError(13, "Permission denied", "/some/where")

    monkeypatch.setattr("rmpplan.landed.verify", refuse)
    line = one_line(run("verify", str(TOPOLOGIES)), 2, "Permission denied")
    assert line == "rmpplan: error: /some/where: Permission denied"


# --- verify: deep, vanishing, unreadable, /proc -------------------------------------


def test_verify_a_very_deep_tree(tmp_path: Path) -> None:
    """A folder tree 1,200 deep is searched (no recursion) and its file checked."""
    folders = [tmp_path / "d"]
    for _ in range(1199):
        folders.append(folders[-1] / "d")
    try:
        for folder in folders:
            folder.mkdir()
        (folders[-1] / "x.yaml").write_text(SINGLE)
        result = run("verify", str(tmp_path), "--format", "text")
    finally:
        # Python's own rmtree recurses, so pytest could not remove this tree later.
        (folders[-1] / "x.yaml").unlink(missing_ok=True)
        for folder in reversed(folders):
            if folder.exists():
                folder.rmdir()
    assert result.exit_code == 0, result.stderr
    assert result.stdout.partition("\n")[2].startswith("ok ")  # after the config line
    assert "/x.yaml (single-core)" in result.stdout


class _Listing:
    """What os.scandir returns, fixed before the test changes the folder."""

    def __init__(self, entries: list[os.DirEntry[str]]) -> None:
        self.entries = entries

    def __enter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self.entries)

    def __exit__(self, *_exc: object) -> None:
        return None


def _is(path: Any, folder: Path) -> bool:
    return not isinstance(path, int) and Path(path) == folder


def _scandir_then(monkeypatch: pytest.MonkeyPatch, actions: dict[Path, Callable[[], None]]) -> None:
    """Make listing each folder of ``actions`` run its action right after the listing."""
    real = os.scandir

    def scandir(path: Any) -> Any:
        action = next((act for folder, act in actions.items() if _is(path, folder)), None)
        if action is None:
            return real(path)
        with real(path) as listing:
            entries = list(listing)
        action()
        return _Listing(entries)

    monkeypatch.setattr(os, "scandir", scandir)


def test_verify_while_folders_vanish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file gone after its folder was listed, and a folder gone before it was listed,
    are not there: no traceback, and what is left is checked."""
    tree(tmp_path, {"a/x.yaml": SINGLE, "b/c.yaml": BROKEN, "d.yaml": BROKEN})
    # The search lists the top, then a (pending folders go last in, first out), then b.
    _scandir_then(
        monkeypatch,
        {
            tmp_path: (tmp_path / "d.yaml").unlink,
            tmp_path / "a": lambda: shutil.rmtree(tmp_path / "b"),
        },
    )
    result = run("verify", str(tmp_path), "--format", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.partition("\n")[2].startswith(f"ok    {tmp_path / 'a' / 'x.yaml'} ")
    assert "c.yaml" not in result.stdout
    assert "d.yaml" not in result.stdout


def test_verify_refuses_an_unreadable_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subfolder verify cannot list is exit 2 naming it, never a silent pass.

    Tests often run as root, whom chmod does not stop, so the refusal is os.scandir's.
    """
    tree(tmp_path, {"a.yaml": SINGLE, "locked/b.yaml": BROKEN})
    real = os.scandir
    locked = tmp_path / "locked"

    def scandir(path: Any) -> Any:
        if _is(path, locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run("verify", str(tmp_path), "--format", "text")
    line = one_line(result, 2, str(locked))
    assert line == f"rmpplan: error: {locked}: cannot search this folder: Permission denied"
    assert f"ERROR {tmp_path}: {locked}: cannot search this folder" in result.stdout


def test_verify_refuses_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file verify cannot open to see whether it is a source is exit 2 naming it."""
    tree(tmp_path, {"a.yaml": SINGLE, "saved.xml": "unseen\n"})
    real = os.open
    secret = tmp_path / "saved.xml"

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path) == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    one_line(run("verify", str(tmp_path)), 2, f"{secret}: cannot read: Permission denied")


def test_verify_an_unreadable_topology_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A topology file found but not readable fails its row, exit 2."""
    tree(tmp_path, {"a.yaml": SINGLE, "b.yaml": SINGLE})
    real = os.open
    secret = tmp_path / "b.yaml"

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path) == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    one_line(run("verify", str(tmp_path)), 2, f"{secret}: cannot read")


def test_verify_proc_is_clean() -> None:
    """verify /proc ends in a clean result or a clean error, never a traceback or a hang."""
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    result = run("verify", "/proc", "--format", "text")
    assert result.exit_code in (0, 1, 2)
    assert "Traceback" not in result.stdout + result.stderr
    assert all(line.startswith("rmpplan: ") for line in result.stderr.splitlines())


# --- verify: links and hidden folders -----------------------------------------------


def test_verify_follows_links_once(tmp_path: Path) -> None:
    """Linked folders and files are checked; a link back up is searched once, no loop."""
    tree(tmp_path, {"elsewhere/x.yaml": SINGLE, "spare/y.yaml": SINGLE})
    top = tree(tmp_path / "top", {"a.yaml": SINGLE})
    (top / "linked").symlink_to(tmp_path / "elsewhere")
    (top / "y.yaml").symlink_to(tmp_path / "spare" / "y.yaml")
    (top / "loop").symlink_to(top)
    (tmp_path / "elsewhere" / "back").symlink_to(top)
    result = run("verify", str(top), "--format", "json")
    assert result.exit_code == 0, result.stderr
    import json

    paths = [entry["path"] for entry in json.loads(result.stdout)["results"]]
    assert paths == [str(top / "a.yaml"), str(top / "linked" / "x.yaml"), str(top / "y.yaml")]


def test_verify_refuses_a_link_to_nothing(tmp_path: Path) -> None:
    """A dangling link may have named a topology: exit 2 naming it."""
    tree(tmp_path, {"a.yaml": SINGLE})
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    one_line(run("verify", str(tmp_path)), 2, f"{tmp_path / 'gone'}: a symbolic link to nothing")


def test_verify_skips_hidden_folders(tmp_path: Path) -> None:
    """.git, .venv, .tox and other dot-folders are not searched; a given one is."""
    tree(tmp_path, {"a.yaml": SINGLE, ".venv/b.yaml": BROKEN, ".git/c.yaml": BROKEN})
    result = run("verify", str(tmp_path), "--format", "text")
    assert result.exit_code == 0, result.stderr
    assert ".venv" not in result.stdout
    assert run("verify", str(tmp_path / ".venv")).exit_code == 2


# --- import -------------------------------------------------------------------------


def test_import_of_a_path_that_is_not_utf8(tmp_path: Path) -> None:
    """A source path holding a byte that is not UTF-8 imports; the header escapes it."""
    source = Path(os.fsdecode(bytes(tmp_path) + b"/box\xff.yaml"))
    source.write_text(SINGLE)
    out = tmp_path / "out.yaml"
    result = run("import", str(source), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "box\\xff.yaml" in out.read_text().splitlines()[0]
    assert run("verify", str(out)).exit_code == 0
