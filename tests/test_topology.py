"""Topology files: the explicit and layout forms, strictness, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmpplan.errors import InputError, MaskError
from rmpplan.inputs import load_machine
from rmpplan.topology.machine import Machine


def load(tmp_path: Path, text: str, name: str = "topo.yaml") -> Machine:
    """Write ``text`` to a file and load it through the commands' entry point."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_machine(path)


def error(tmp_path: Path, text: str, name: str = "topo.yaml") -> InputError:
    """The InputError loading ``text`` raises."""
    with pytest.raises(InputError) as caught:
        load(tmp_path, text, name)
    return caught.value


def test_explicit_form_as_documented(tmp_path: Path) -> None:
    """The explicit form from the issue loads exactly as written, with its defaults."""
    machine = load(
        tmp_path,
        "name: my-box                # optional\n"
        "possible: 0-15\n"
        "cpus:\n"
        "  - {id: 0, package: 0, die: 0, core: 0, online: true}\n"
        "  - {id: 1, core: 0}        # package and die default to 0\n",
    )
    assert machine.name == "my-box"
    assert machine.possible == frozenset(range(16))
    assert machine.nr_cpu_ids == 16
    assert [core.threads for core in machine.cores] == [(0, 1)]
    assert machine.online == {0, 1}


def test_name_defaults_to_stem(tmp_path: Path) -> None:
    """Without ``name`` the machine is named after the file."""
    assert load(tmp_path, "cpus: [{id: 3, core: 0}]", "box-7.yaml").name == "box-7"


def test_layout_smt_last_numbering(tmp_path: Path) -> None:
    """smt-last: thread t of core k is CPU t*ncores + k (EPYC)."""
    machine = load(tmp_path, "layout: {packages: 2, cores_per_die: 3, threads_per_core: 2}")
    assert [core.threads for core in machine.cores] == [
        (0, 6),
        (1, 7),
        (2, 8),
        (3, 9),
        (4, 10),
        (5, 11),
    ]
    assert machine.cpus[9].package == 1


def test_layout_smt_adjacent_numbering_and_apic(tmp_path: Path) -> None:
    """smt-adjacent: thread t of core k is CPU k*nthreads + t; APIC ids pack thread bits low."""
    machine = load(
        tmp_path,
        "layout: {packages: 1, cores_per_die: 3, threads_per_core: 2, numbering: smt-adjacent}",
    )
    assert [core.threads for core in machine.cores] == [(0, 1), (2, 3), (4, 5)]
    assert [machine.cpus[c].apic_id for c in range(6)] == [0, 1, 2, 3, 4, 5]


def test_layout_apic_rounds_widths_up(tmp_path: Path) -> None:
    """Three cores per die take two APIC bits, so package 1 starts at 0b1000."""
    machine = load(tmp_path, "layout: {packages: 2, cores_per_die: 3, threads_per_core: 2}")
    assert machine.cpus[3].apic_id == 8
    assert machine.cpus[9].apic_id == 9


def test_layout_offline_and_possible(tmp_path: Path) -> None:
    """The layout form takes offline and possible cpulists."""
    machine = load(
        tmp_path,
        "possible: 0-31\noffline: 4-7\n"
        "layout: {packages: 1, cores_per_die: 4, threads_per_core: 2}",
    )
    assert machine.present - machine.online == {4, 5, 6, 7}
    assert machine.nr_cpu_ids == 32


def test_json_form(tmp_path: Path) -> None:
    """The same schema in strict JSON."""
    machine = load(tmp_path, '{"cpus": [{"id": 0, "core": 0}, {"id": 1, "core": 1}]}', "t.json")
    assert len(machine.cores) == 2


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ("cpus:\n  - {id: '1', core: 0}\n", "cpus[0].id: Input should be a valid integer", 2),
        ("cpus:\n  - {id: 1.0, core: 0}\n", "cpus[0].id: Input should be a valid integer", 2),
        ("cpus:\n  - {id: 1, core: 0, online: 'yes'}\n", "cpus[0].online", 2),
        ("cpus:\n  - {id: 1, core: 0, online: yes}\n", "valid boolean", 2),
        ("cpus:\n  - {id: 1, core: 0, onlin: true}\n", "unknown key 'onlin' in cpus[0]", 2),
        ("colour: red\ncpus: [{id: 0, core: 0}]\n", "unknown key 'colour'", 1),
        ("cpus:\n  - {id: 0, core: 0}\n  - {id: 8192, core: 1}\n", "cpus[1].id", 3),
        ("cpus:\n  - {id: -1, core: 0}\n", "cpus[0].id", 2),
        ("cpus:\n  - {id: 0}\n", "missing key 'core' in cpus[0]", 2),
        ("name: x\n", "give exactly one of 'cpus'", 1),
        ("name: x\nname: y\ncpus: []\n", "duplicate key 'name'", 2),
        ("cpus:\n  - {id: 0, core: 0\n", "YAML syntax error", 3),
        ("cpus: []\n", "no CPUs", None),
        ("cpus:\n  - {id: 0, core: 0}\n  - {id: 0, core: 0}\n", "CPU 0 is listed twice", None),
        ("cpus:\n  - {id: 0, core: 0}\n  - {id: 0, core: 1}\n", "CPU 0 is in two cores", None),
        (
            "possible: 0-3\ncpus:\n  - {id: 5, core: 0}\n",
            "present CPU 5 is not in the possible",
            None,
        ),
        ("possible: 0-\ncpus:\n  - {id: 0, core: 0}\n", "possible: EINVAL", 1),
        ("offline: 1\ncpus:\n  - {id: 0, core: 0}\n", "'offline' belongs to the layout", 1),
        ("layout: {packages: 64, cores_per_die: 128, threads_per_core: 2}", "at most 8192", 1),
        (
            "a: &x [1]\nb: *x\n",
            "aliases (*name) are not allowed in topology files (the anchor is at line 1)",
            2,
        ),
        ("- 1\n- 2\n", "must hold a mapping", None),
        ("cpus: !!python/object/apply:os.system ['true']\n", "YAML error", 1),
    ],
)
def test_bad_yaml_is_one_located_line(
    tmp_path: Path, text: str, needle: str, line: int | None
) -> None:
    """Each kind of bad input names the file, the line where known, and what is wrong."""
    err = error(tmp_path, text)
    rendered = str(err)
    assert needle in rendered
    assert "\n" not in rendered
    assert err.path is not None and err.path.endswith("topo.yaml")
    assert err.line == line


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ('{"cpus": [{"id": 0, "core": 0}],\n "cpus": []}', "duplicate key 'cpus'", 2),
        ('{"cpus": [{"id": NaN, "core": 0}]}', "NaN is not valid JSON", None),
        ('{"cpus": [\n{"id": 0, "core": 0},\n]}', "JSON syntax error", 3),
        ('{"cpus": [\n {"id": 0, "core": 0},\n {"id": 1.0, "core": 0}]}', "cpus[1].id", 3),
        ('{"cpus": [{"id": 0, "core": 0, "online": "true"}]}', "valid boolean", 1),
    ],
)
def test_bad_json_is_strict(tmp_path: Path, text: str, needle: str, line: int | None) -> None:
    """JSON topology files are strict JSON; errors carry the line."""
    err = error(tmp_path, text, "t.json")
    assert needle in str(err)
    assert err.line == line


def test_not_utf8(tmp_path: Path) -> None:
    """A file that is not UTF-8 is refused with the offending byte."""
    path = tmp_path / "t.yaml"
    path.write_bytes(b"name: caf\xe9\ncpus: []\n")
    with pytest.raises(InputError, match="not UTF-8 text"):
        load_machine(path)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is an InputError that names it."""
    with pytest.raises(InputError, match="no such file"):
        load_machine(tmp_path / "absent.yaml")


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    """A billion-laughs document is refused at its first alias, not expanded."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 12)]
    err = error(tmp_path, "\n".join(lines) + "\n")
    assert "aliases" in str(err)
    assert "anchor is at line" in str(err)  # stopped at the first shared node


def test_huge_value_is_not_echoed(tmp_path: Path) -> None:
    """A huge bad value is clipped in the message."""
    err = error(tmp_path, "cpus:\n  - {id: '" + "9" * 10_000 + "', core: 0}\n")
    assert len(str(err)) < 300


def test_yaml12_scalars(tmp_path: Path) -> None:
    """YAML 1.2 core scalars: 0x ids are ints, 017 is seventeen, '0-3' stays a cpulist."""
    machine = load(tmp_path, "possible: 0-31\ncpus:\n  - {id: 0x10, core: 017}\n")
    assert machine.cpus[16].core == 17


@pytest.mark.parametrize(
    ("text", "name", "shown", "errno"),
    [
        (
            "name: x\ncpus:\n  - {id: 0, core: 0}\npossible: 0-\n",
            "topo.yaml",
            ":4: possible: EINVAL: cpulist region '0-'",
            "EINVAL",
        ),
        (
            '{"cpus": [{"id": 0, "core": 0}],\n "offline_after_setup": "9000"}',
            "topo.json",
            ":2: offline_after_setup: ERANGE: ",
            "ERANGE",
        ),
        (
            "layout: {packages: 1, cores_per_die: 2, threads_per_core: 1}\n\noffline: 0-1:3/x\n",
            "topo.yaml",
            ":3: offline: EINVAL: ",
            "EINVAL",
        ),
    ],
)
def test_bad_cpulist_keeps_key_line_and_errno(
    tmp_path: Path, text: str, name: str, shown: str, errno: str
) -> None:
    """A cpulist the kernel refuses reads FILE:LINE: key: ERRNO: why, still a MaskError."""
    err = error(tmp_path, text, name)
    assert isinstance(err, MaskError)
    assert err.errno == errno
    assert str(err).startswith(str(tmp_path / name) + shown)


def test_offline_outside_the_layout_names_its_line(tmp_path: Path) -> None:
    """An offline CPU the layout does not have is reported on the offline key's line."""
    err = error(
        tmp_path, "layout: {packages: 1, cores_per_die: 2, threads_per_core: 1}\noffline: 7\n"
    )
    assert str(err) == f"{tmp_path / 'topo.yaml'}:2: offline: CPU 7 is not in the layout"
