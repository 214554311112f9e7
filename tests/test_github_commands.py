"""``verify --format github`` read the way GitHub's runner reads it.

The runner turns a line of a step's output into a workflow command in two ways:
a line that starts with ``::`` (after whitespace), and, in the legacy form, a
line holding ``##[`` anywhere. ``::stop-commands::TOKEN`` then turns off every
command until ``::TOKEN::``. Below is a port of that parser, from actions/runner
at commit 258d6c857db3519913f7deb6004b60172f8043ae:

- src/Runner.Common/ActionCommand.cs: ``TryParseV2`` (the ``::`` form),
  ``TryParse`` (the ``##[`` form) and their unescaping;
- src/Runner.Worker/ActionCommandManager.cs: ``TryProcessCommand`` (the
  registered commands, stop-commands and its resume token);
- src/Runner.Worker/Handlers/OutputManager.cs: ``OnDataReceived`` (which lines
  are tried) and src/Runner.Sdk/ProcessInvoker.cs (lines are read with .NET's
  ``StreamReader.ReadLine``: CR, LF or CRLF ends one).

The runner matches ``::`` and ``##[`` with .NET's culture-sensitive ``IndexOf``,
which may also match them with ignorable characters between; the port matches
them exactly. That loses nothing: the legacy parser takes the command name from
three characters after the match's start, so a match holding an ignorable
character yields a name starting with ``#``, ``[`` or that character, never a
registered one; and rmpplan escapes the characters that are not printable.

Over hostile topology names, file names and dump folder names (Hypothesis), the
commands parsed from rmpplan's output must be exactly those rmpplan meant: a
group per input, an error annotation per problem, the overflow annotation when
there are more than ten, and nothing else.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmpplan.escaping import printable
from rmpplan.render import github
from tests.cli import run
from tests.conftest import EXAMPLES, ROOT

# The false-pass class: `pytest -m false_pass` runs every test that keeps a failing
# input from exiting 0 (docs/security.md, "False passes").
pytestmark = pytest.mark.false_pass

# Every command the runner registers (ActionCommandManager.Initialize: stop-commands
# and each IActionCommandExtension's Command, internal-set-repo-path only for plugins).
REGISTERED = frozenset(
    {
        "stop-commands", "set-env", "set-output", "save-state", "add-mask", "add-path",
        "add-matcher", "remove-matcher", "debug", "warning", "error", "notice", "group",
        "endgroup", "echo",
    }
)  # fmt: skip
# ActionCommand's escape mappings, applied in this order when unescaping.
LEGACY_UNESCAPES = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))
DATA_UNESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
PROPERTY_UNESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
# .NET's char.IsWhiteSpace for the Latin-1 range; beyond it, the Unicode separators.
DOTNET_SPACE = frozenset(" \t\n\v\f\r\x85\xa0")


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for escaped, plain in mappings:
        text = text.replace(escaped, plain)
    return text


def _is_space(char: str) -> bool:
    # Python's isspace as well (it adds \x1c-\x1f): a port that trims more is stricter.
    return (
        char in DOTNET_SPACE or unicodedata.category(char) in ("Zs", "Zl", "Zp") or char.isspace()
    )


def _split(text: str, separator: str, count: int | None = None) -> list[str]:
    """.NET's ``Split(separator, count, RemoveEmptyEntries)``."""
    parts: list[str] = []
    rest = text
    while count is None or len(parts) < count - 1:
        index = rest.find(separator)
        if index < 0:
            break
        if index:
            parts.append(rest[:index])
        rest = rest[index + 1 :]
    if rest:
        parts.append(rest)
    return parts


def _properties(text: str, separator: str, unescape: tuple[tuple[str, str], ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in _split(text, separator):
        pair = _split(entry, "=", 2)
        if len(pair) == 2:
            found[pair[0].lower()] = _unescape(pair[1], unescape)  # OrdinalIgnoreCase keys
    return found


def try_parse_v2(message: str, registered: set[str]) -> Command | None:
    """ActionCommand.TryParseV2: ``::name key=value,...::data``."""
    index = 0
    while index < len(message) and _is_space(message[index]):
        index += 1
    message = message[index:]
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    props = _properties(info[space + 1 :].strip(), ",", PROPERTY_UNESCAPES) if space > 0 else {}
    return Command(name.lower(), props, _unescape(message[end + 2 :], DATA_UNESCAPES))


def try_parse_legacy(message: str, registered: set[str]) -> Command | None:
    """ActionCommand.TryParse: ``##[name key=value;...]data``, anywhere on the line."""
    prefix = message.find("##[")
    if prefix < 0:
        return None
    bracket = message.find("]", prefix)
    if bracket < 0:
        return None
    info = message[prefix + 3 : bracket]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    props = _properties(info[space + 1 :], ";", LEGACY_UNESCAPES) if space > 0 else {}
    return Command(name.lower(), props, _unescape(message[bracket + 1 :], LEGACY_UNESCAPES))


@dataclass
class Runner:
    """ActionCommandManager's state over one step: every command it acts on, in order."""

    registered: set[str] = field(default_factory=lambda: set(REGISTERED))
    stop_token: str | None = None
    commands: list[Command] = field(default_factory=list)

    def line(self, line: str) -> None:
        if not line or ("##[" not in line and "::" not in line):
            return  # OutputManager tries only lines holding one of the two
        parsed = try_parse_v2(line, self.registered) or try_parse_legacy(line, self.registered)
        if parsed is None:
            return
        if self.stop_token is not None:
            if parsed.name == self.stop_token.lower():  # the resume token
                self.registered.discard(self.stop_token.lower())
                self.stop_token = None
                self.commands.append(parsed)
            return  # every other command is ignored while stopped
        if parsed.name == "stop-commands":
            self.stop_token = parsed.data
            self.registered.add(parsed.data.lower())
        self.commands.append(parsed)

    def read(self, output: str) -> list[Command]:
        # StreamReader.ReadLine: CR, LF and CRLF end a line (U+2028 and U+0085 do not).
        for line in re.split(r"\r\n|\r|\n", output.removesuffix("\n")):
            self.line(line)
        return self.commands


def test_port_reads_the_runner_own_examples() -> None:
    """The port parses as the runner's tests say (src/Test/L0/Worker/ActionCommandL0.cs
    and ActionCommandManagerL0.cs): both forms, escapes, and stop-commands."""
    runner = Runner()
    commands = runner.read(
        "::error file=a%2Cb.yaml,line=3,title=t%3Ax::msg%0Aline 2 %25\n"
        "  ::warning::indented\n"
        "noise ##[debug name=x%3By;other=1]legacy%5D\n"
        "::unknown::not a command\n"
        "::stop-commands::tok123\n"
        "::error::ignored while stopped\n"
        "##[error]ignored too\n"
        "::tok123::\n"
        "::notice::after\r"
    )
    assert commands == [
        Command("error", {"file": "a,b.yaml", "line": "3", "title": "t:x"}, "msg\nline 2 %"),
        Command("warning", {}, "indented"),
        Command("debug", {"name": "x;y", "other": "1"}, "legacy]"),
        Command("stop-commands", {}, "tok123"),
        Command("tok123", {}, ""),
        Command("notice", {}, "after"),
    ]
    assert runner.stop_token is None


# Pieces a hostile name is made of: every command form, the escapes and separators
# both parsers read, line breaks of every kind, and characters a terminal hides.
HOSTILE = [
    "::stop-commands::", "::add-mask::", "::notice::", "::error::", "::endgroup::",
    "::group::", "##[error]", "##[", "##[add-mask]", "::", ":", ",", ";", "=", "]", "[",
    "#", "%", "%0A", "%25", "%3A", " ", "\t", "\n", "\r", "\r\n", "\x00", "\x1b[8m",
    "\x85", "\u2028", "\u2029", "\u200b", "\u00ad", "\ufeff", "\udce9", "tok", "x",
]  # fmt: skip
hostile = st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=8).map("".join)


def _file_name(text: str) -> str:
    """``text`` as a Linux file name: no ``/`` or NUL, not ``.``-hidden, short enough."""
    name = text.replace("\x00", "0").replace("/", "_").lstrip(".")
    return (name or "x")[:80]


def meant(report: str) -> list[tuple[str, str, str, str]]:
    """(command, group title or file, annotation title, overflow text) that rmpplan
    means for the results of its JSON report: a group per input holding an error
    per problem (all of them up to ten; past that the first nine, and a last
    error saying how many more), and nothing else."""
    results = json.loads(report)["results"]
    titles = [
        ["rmpplan"] * (result.get("error") is not None)
        + [f"rmpplan {item['check']}" for item in result["findings"] if not item["expected"]]
        + [f"rmpplan {check}" for check in result.get("stale_expectations", [])]
        for result in results
    ]
    problems = sum(map(len, titles))
    budget = problems if problems <= github.ANNOTATIONS_MAX else github.ANNOTATIONS_MAX - 1
    out: list[tuple[str, str, str, str]] = []
    for result, mine in zip(results, titles, strict=True):
        out.append(("group", shown(result["path"]), "", ""))
        out += [("error", shown(result["path"]), title, "") for title in mine[:budget]]
        budget -= min(budget, len(mine))
        out.append(("endgroup", "", "", ""))
    if problems > github.ANNOTATIONS_MAX:
        more = problems - (github.ANNOTATIONS_MAX - 1)
        out.append(("error", "", "rmpplan verify", f"{more} more problem(s)"))
    return out


def shown(text: str) -> str:
    """Text from an input as the log shows it: what is not printable escaped as in
    every format, and the legacy prefix broken."""
    return printable(text).replace("##[", "##\\[")


def parsed(output: str) -> list[tuple[str, str, str, str]]:
    """What the runner acts on in ``output``, in the shape of :func:`meant`."""
    out: list[tuple[str, str, str, str]] = []
    for command in Runner().read(output):
        if command.name == "group":
            out.append(("group", command.data, "", ""))
        elif command.name == "endgroup" and not command.properties and not command.data:
            out.append(("endgroup", "", "", ""))
        elif command.name == "error" and "file" in command.properties:
            assert set(command.properties) == {"file", "line", "title"}, command
            assert int(command.properties["line"]) >= 1
            out.append(("error", command.properties["file"], command.properties["title"], ""))
        elif command.name == "error":
            more = re.match(r"\d+ more problem\(s\)", command.data)
            out.append(("error", "", command.properties.get("title", ""), more[0] if more else ""))
        elif command.name == "notice" and not out:
            continue  # rmpplan's own first line, naming the configuration it used
        else:
            out.append((command.name, command.data, str(command.properties), ""))
    return out


# A line of rmpplan's github output starts with one of these, whatever the input.
LINE_STARTS = (
    "::group::",
    "::notice ",
    "::notice::",
    "::endgroup::",
    "::error ",
    "topology ",
    "expected ",
    "note: ",
    "error: ",
)


def check_output(output: str, report: str) -> None:
    assert parsed(output) == meant(report)
    assert "##[" not in output
    for line in re.split(r"\r\n|\r|\n", output.removesuffix("\n")):
        assert line.startswith(LINE_STARTS), line
        assert line.isprintable(), line


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=hostile, file=hostile, folder=hostile, key=hostile)
def test_hostile_names_make_only_the_commands_rmpplan_means(
    tmp_path_factory: pytest.TempPathFactory, name: str, file: str, folder: str, key: str
) -> None:
    """A topology name, a file name, a dump folder's name and an unknown key (echoed
    in the error of a file that cannot be read) never make a command of their own."""
    root = tmp_path_factory.mktemp("hostile")
    nosmt = (EXAMPLES / "nosmt.yaml").read_text(encoding="utf-8")
    named = re.sub(r"^name: .*$", lambda _: "name: " + json.dumps(name), nosmt, flags=re.M)
    (root / (_file_name(file) + ".yaml")).write_text(
        named, encoding="utf-8", errors="surrogateescape"
    )
    shutil.copytree(
        ROOT / "tests" / "sources" / "data" / "sysfs" / "nosmt", root / _file_name(folder)
    )
    (root / "broken.yaml").write_text(f"name: b\n{json.dumps(key)}: 1\n", encoding="utf-8")
    args = ("verify", str(root), "--no-config", "--jobs", "1")
    output = run(*args, "--format", "github").stdout
    report = run(*args, "--format", "json").stdout
    check_output(output, report)


def test_stop_commands_as_a_name_leaves_every_annotation(tmp_path: Path) -> None:
    """The attack by hand: a name that would stop commands, a file named like a
    legacy command, and eleven more problems, so that the overflow annotation counts."""
    nosmt = (EXAMPLES / "nosmt.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(nosmt.replace("name: nosmt", "name: '::stop-commands::x'"))
    (tmp_path / "##[error]b.yaml").write_text(nosmt.replace("name: nosmt", "name: '##[add-mask]y'"))
    for index in range(11):
        (tmp_path / f"c{index:02}.yaml").write_text(nosmt)
    args = ("verify", str(tmp_path), "--no-config", "--jobs", "1")
    output = run(*args, "--format", "github").stdout
    check_output(output, run(*args, "--format", "json").stdout)
    commands = Runner().read(output)
    assert [c.name for c in commands].count("error") == github.ANNOTATIONS_MAX
    assert "topology ::stop-commands::x: " in output
    assert "::group::" + str(tmp_path / "##\\[error]b.yaml") in output
