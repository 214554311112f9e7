"""Write the small synthetic fixtures of tests/sources/data: one per trap a reader must survive.

Run ``python tests/sources/data/make_fixtures.py`` from the project root to regenerate;
``test_fixtures_are_current`` fails when the files on disk differ from what this makes.
Tarballs are not stored: the tests pack them from these trees into ``tmp_path``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CPU = "sys/devices/system/cpu"

Files = dict[str, str | bytes]


def _hex(cpus: list[int], words: int = 1, first_width: int = 8) -> str:
    """A sysfs hex mask of ``words`` 32-bit words, most significant first."""
    value = sum(1 << cpu for cpu in cpus)
    chunks = [f"{(value >> (32 * i)) & 0xFFFFFFFF:08x}" for i in reversed(range(words))]
    chunks[0] = chunks[0][-first_width:]
    return ",".join(chunks)


def _list(cpus: list[int]) -> str:
    """A plain cpulist (ranges of two or more as a-b)."""
    ids = sorted(cpus)
    parts: list[str] = []
    start = 0
    while start < len(ids):
        end = start
        while end + 1 < len(ids) and ids[end + 1] == ids[end] + 1:
            end += 1
        parts.append(str(ids[start]) if start == end else f"{ids[start]}-{ids[end]}")
        start = end + 1
    return ",".join(parts)


def _topology(cpu: int, siblings: list[int], package: int, core_id: int, **extra: str) -> Files:
    """A modern topology/ folder: lists, masks, ids."""
    base = f"cpu{cpu}/topology"
    files: Files = {
        f"{base}/core_cpus_list": _list(siblings) + "\n",
        f"{base}/core_cpus": _hex(siblings) + "\n",
        f"{base}/thread_siblings_list": _list(siblings) + "\n",
        f"{base}/thread_siblings": _hex(siblings) + "\n",
        f"{base}/physical_package_id": f"{package}\n",
        f"{base}/core_id": f"{core_id}\n",
    }
    files.update({f"{base}/{name}": f"{value}\n" for name, value in extra.items()})
    return files


def _sets(online: str, present: str, possible: str) -> Files:
    return {"online": online + "\n", "present": present + "\n", "possible": possible + "\n"}


def nul_endings() -> Files:
    """Kunpeng 920: every file ends in "\\n\\0"."""
    files = _sets("0-3", "0-3", "0-3")
    for cpu in range(4):
        siblings = [cpu & ~1, cpu | 1]
        files.update(_topology(cpu, siblings, 0, cpu // 2, die_id="0", cluster_id="0"))
        files[f"cpu{cpu}/online"] = "1\n"
    return {name: str(text) + "\0" for name, text in files.items()}


def old_hex_only() -> Files:
    """An old kernel: no online/present/possible, no *_list, 64-bit masks, cpuN/online only.

    Siblings at N+4; CPU 2 is offline without a topology folder, so its sibling 6
    covers the core; CPU 0 has no online file."""
    files: Files = {}
    for cpu in range(8):
        if cpu:
            files[f"cpu{cpu}/online"] = "0\n" if cpu == 2 else "1\n"
        if cpu == 2:
            continue
        core = cpu % 4
        siblings = [c for c in (core, core + 4) if c != 2]
        package = core // 2
        base = f"cpu{cpu}/topology"
        files[f"{base}/thread_siblings"] = _hex(siblings, 2) + "\n"
        files[f"{base}/core_siblings"] = _hex([c for c in range(8) if c % 4 // 2 == package], 2)
        files[f"{base}/physical_package_id"] = f"{package}\n"
        files[f"{base}/core_id"] = f"{core % 2}\n"
    return files


def wide_masks() -> Files:
    """NR_CPUS-wide masks (kernel_max 255: 8 words), a 4-digit first word, empty words."""
    files = _sets("0-3", "0-3", "0-3")
    files["kernel_max"] = "255\n"
    masks = {
        0: _hex([0, 2], 8) + "\n",
        1: ",," + _hex([1, 3], 4) + "\n",  # empty words: skipped, as bitmap_parse does
        2: _hex([0, 2], 6, first_width=4) + "\n",
        3: _hex([1, 3], 8) + "\n",
    }
    for cpu, mask in masks.items():
        files[f"cpu{cpu}/topology/thread_siblings"] = mask
        files[f"cpu{cpu}/topology/physical_package_id"] = "0\n"
    return files


def package_minus_one() -> Files:
    """POWER7 LPAR: physical_package_id -1, SMT4 with adjacent siblings."""
    files = _sets("0-7", "0-7", "0-7")
    for cpu in range(8):
        files.update(_topology(cpu, list(range(cpu & ~3, (cpu & ~3) + 4)), -1, cpu // 4))
    return files


def offline_cpu0() -> Files:
    """CPU 0 offline without topology; a hand-edited cpuinfo listing more CPUs than sysfs."""
    files = _sets("1-3", "0-3", "0-7")
    files["cpu0/online"] = "0\n"
    for cpu in range(1, 4):
        files[f"cpu{cpu}/online"] = "1\n"
        files.update(_topology(cpu, [cpu], 0, cpu))
    files["../../../../proc/cpuinfo"] = "".join(
        f"processor\t: {cpu}\nvendor_id\t: AuthenticAMD\napicid\t\t: {2 * cpu}\n"
        f"initial apicid\t: {2 * cpu}\n\n"
        for cpu in range(6)
    )
    return files


def vmware_core_id() -> Files:
    """VMware: sibling pairs, but core_id runs 0..3 twice in the one package."""
    files = _sets("0-7", "0-7", "0-15")
    for cpu in range(8):
        files.update(_topology(cpu, [cpu & ~1, cpu | 1], 0, cpu % 4))
    return files


def bulldozer() -> Files:
    """Bulldozer CMT: each CPU has its own core_id, the kernel pairs them as siblings."""
    files = _sets("0-7", "0-7", "0-7")
    for cpu in range(8):
        base = f"cpu{cpu}/topology"
        files[f"{base}/thread_siblings_list"] = _list([cpu & ~1, cpu | 1]) + "\n"
        files[f"{base}/thread_siblings"] = _hex([cpu & ~1, cpu | 1]) + "\n"
        files[f"{base}/physical_package_id"] = "0\n"
        files[f"{base}/core_id"] = f"{cpu}\n"
    return files


def die_ids() -> Files:
    """2 packages x 2 dies x 2 cores x 2 threads, siblings at N+8."""
    files = _sets("0-15", "0-15", "0-15")
    for cpu in range(16):
        core = cpu % 8
        files.update(
            _topology(cpu, [core, core + 8], core // 4, core % 2, die_id=str(core // 2 % 2))
        )
    return files


def nosmt() -> Files:
    """Booted with nosmt: siblings N+4 present but offline, smt/control off."""
    files = _sets("0-3", "0-7", "0-7")
    files["smt/control"] = "off\n"
    files["smt/active"] = "0\n"
    for cpu in range(8):
        files[f"cpu{cpu}/online"] = "1\n" if cpu < 4 else "0\n"
        if cpu < 4:
            files.update(_topology(cpu, [cpu], 0, cpu))
    return files


def possible_8192() -> Files:
    """A MAXSMP kernel: 4 CPUs present, 8192 possible."""
    files = _sets("0-3", "0-3", "0-8191")
    files["kernel_max"] = "8191\n"
    for cpu in range(4):
        files.update(_topology(cpu, [cpu], 0, cpu))
    return files


def siblings_disagree() -> Files:
    """cpu0 lists 1 as its sibling, cpu1 does not list 0."""
    files = _sets("0-1", "0-1", "0-1")
    files.update(_topology(0, [0, 1], 0, 0))
    files.update(_topology(1, [1], 0, 1))
    return files


def sibling_in_two_sets() -> Files:
    """Offline CPU 1 (no topology) is named by both cpu0's and cpu2's sibling sets."""
    files = _sets("0,2", "0-2", "0-2")
    files["cpu1/online"] = "0\n"
    files.update(_topology(0, [0, 1], 0, 0))
    files.update(_topology(2, [1, 2], 0, 1))
    return files


def sibling_not_present() -> Files:
    """cpu0's sibling set names CPU 5, which has no cpu5 folder."""
    files = _sets("0-1", "0-1", "0-7")
    files.update(_topology(0, [0, 5], 0, 0))
    files.update(_topology(1, [1], 0, 1))
    return files


def package_disagree() -> Files:
    """Siblings 0 and 1 claim different packages."""
    files = _sets("0-1", "0-1", "0-1")
    files.update(_topology(0, [0, 1], 0, 0))
    files.update(_topology(1, [0, 1], 1, 0))
    return files


def cpuinfo_duplicate_apic() -> Files:
    """Two CPUs with the same apicid in cpuinfo: no APIC ids are kept."""
    files = _sets("0-1", "0-1", "0-1")
    files.update(_topology(0, [0], 0, 0))
    files.update(_topology(1, [1], 0, 1))
    files["../../../../proc/cpuinfo"] = (
        "processor\t: 0\napicid\t\t: 0\n\nprocessor\t: 1\napicid\t\t: 0\n"
    )
    return files


def no_cpus() -> Files:
    """A cpu folder with nothing in it that names a CPU."""
    return {"kernel_max": "7\n"}


SYSFS: dict[str, Files] = {
    "nul-endings": nul_endings(),
    "old-hex-only": old_hex_only(),
    "wide-masks": wide_masks(),
    "package-minus-one": package_minus_one(),
    "offline-cpu0": offline_cpu0(),
    "vmware-core-id": vmware_core_id(),
    "bulldozer": bulldozer(),
    "die-ids": die_ids(),
    "nosmt": nosmt(),
    "possible-8192": possible_8192(),
    "siblings-disagree": siblings_disagree(),
    "sibling-in-two-sets": sibling_in_two_sets(),
    "sibling-not-present": sibling_not_present(),
    "package-disagree": package_disagree(),
    "cpuinfo-duplicate-apic": cpuinfo_duplicate_apic(),
    "no-cpus": no_cpus(),
}

_DOCTYPE = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE topology SYSTEM "hwloc2.dtd">\n'


def _pu(index: int) -> str:
    return f'<object type="PU" os_index="{index}" cpuset="0x{1 << index:08x}"/>'


XML: dict[str, str] = {
    # Objects to walk through (Group, NUMANode, caches, info, distances), a Core
    # os_index repeated by two cores, PUs with no Core, a Package with Dies.
    "v2-walkthrough.xml": _DOCTYPE
    + '<topology version="2.0">\n'
    + ' <object type="Machine" os_index="0" cpuset="0x000000ff">\n'
    + '  <info name="Backend" value="Linux"/>\n'
    + '  <object type="Package" os_index="0" cpuset="0x00000033">\n'
    + '   <object type="NUMANode" os_index="0" cpuset="0x00000033" local_memory="1024"/>\n'
    + '   <object type="Group" cpuset="0x00000033">\n'
    + '    <object type="L3Cache" cpuset="0x00000033" cache_size="1" depth="3">\n'
    + f'     <object type="Core" os_index="0" cpuset="0x00000011">{_pu(0)}{_pu(4)}</object>\n'
    + f'     <object type="Core" os_index="0" cpuset="0x00000022">{_pu(1)}{_pu(5)}</object>\n'
    + "    </object>\n   </object>\n  </object>\n"
    + '  <object type="Package" os_index="1" cpuset="0x000000cc">\n'
    + '   <object type="Die" os_index="0" cpuset="0x00000044">\n'
    + '    <object type="L2Cache" cpuset="0x00000044"><object type="Core" os_index="0">'
    + f"{_pu(2)}{_pu(6)}</object></object>\n"
    + "   </object>\n"
    + f'   <object type="Die" os_index="1" cpuset="0x00000088">{_pu(3)}{_pu(7)}</object>\n'
    + "  </object>\n </object>\n"
    + ' <distances2 type="NUMANode" nbobjs="1" kind="5" indexing="os">'
    + '<indexes length="2">0 </indexes><u64values length="2">10 </u64values></distances2>\n'
    + "</topology>\n",
    "v3-minimal.xml": _DOCTYPE
    + '<topology version="3.0">\n'
    + ' <object type="Machine" os_index="0" cpuset="0x0000000f">\n'
    + '  <object type="NUMANode" os_index="0" cpuset="0x0000000f"/>\n'
    + '  <object type="Package" os_index="0" cpuset="0x0000000f">\n'
    + f'   <object type="Core" os_index="7">{_pu(0)}{_pu(2)}</object>\n'
    + f'   <object type="Core" os_index="9">{_pu(1)}{_pu(3)}</object>\n'
    + "  </object>\n </object>\n</topology>\n",
    "v1-socket.xml": '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<!DOCTYPE topology SYSTEM "hwloc.dtd">\n<topology>\n'
    + ' <object type="Machine" os_index="0" cpuset="0x0000000f" online_cpuset="0x0000000f">\n'
    + '  <object type="Socket" os_index="0" cpuset="0x00000003">\n'
    + '   <object type="Cache" cpuset="0x00000003" cache_size="1" depth="2">\n'
    + f'    <object type="Core" os_index="0">{_pu(0)}{_pu(1)}</object>\n'
    + "   </object>\n  </object>\n"
    + '  <object type="Socket" os_index="1" cpuset="0x0000000c">\n'
    + f'   <object type="Core" os_index="0">{_pu(2)}{_pu(3)}</object>\n'
    + "  </object>\n </object>\n</topology>\n",
    "billion-laughs.xml": '<?xml version="1.0"?>\n<!DOCTYPE topology [\n'
    + ' <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<topology version="2.0"><object type="Machine">&lol9;</object></topology>\n',
    "internal-subset.xml": '<?xml version="1.0"?>\n'
    + "<!DOCTYPE topology [ <!ELEMENT topology ANY> ]>\n"
    + f'<topology version="2.0"><object type="Machine">{_pu(0)}</object></topology>\n',
    "undeclared-entity.xml": _DOCTYPE
    + f'<topology version="2.0"><object type="Machine">&ext;{_pu(0)}</object></topology>\n',
    "not-hwloc.xml": '<?xml version="1.0"?>\n<svg><topology/></svg>\n',
    "pu-without-os-index.xml": '<?xml version="1.0"?>\n'
    + '<topology version="2.0"><object type="Machine"><object type="PU"/></object></topology>\n',
    "version-9.xml": '<?xml version="1.0"?>\n'
    + f'<topology version="9.0"><object type="Machine">{_pu(0)}</object></topology>\n',
}


def _lscpu_238_json(rows: list[dict[str, object]]) -> str:
    """lscpu 2.38's -J -e layout, bare '-' for what it does not know (invalid JSON)."""
    blocks = []
    for row in rows:
        fields = []
        for key, value in row.items():
            text = "-" if value is None else json.dumps(value)
            fields.append(f'         "{key}": {text}')
        blocks.append("{\n" + ",\n".join(fields) + "\n      }")
    return '{\n   "cpus": [\n      ' + ",".join(blocks) + "\n   ]\n}\n"


def _lscpu_p(columns: str, rows: list[str]) -> str:
    return (
        "# The following is the parsable format, which can be fed to other\n"
        "# programs. Each different item in every column has an unique ID\n"
        "# starting usually from zero.\n"
        f"# {columns}\n" + "".join(row + "\n" for row in rows)
    )


def _smt2_offline_rows() -> list[dict[str, object]]:
    """8 CPUs, siblings N+4; CPUs 0 and 6 offline (their core and socket unknown)."""
    rows: list[dict[str, object]] = []
    for cpu in range(8):
        online = cpu not in (0, 6)
        rows.append(
            {
                "cpu": cpu,
                "node": 0 if online else None,
                "socket": (cpu % 4) // 2 if online else None,
                "core": cpu % 4 if online else None,
                "l1d:l1i:l2:l3": f"{cpu % 4}:{cpu % 4}:{cpu % 4}:0" if online else "-",
                "online": online,
                "maxmhz": None,
                "minmhz": None,
            }
        )
    return rows


LSCPU: dict[str, str] = {
    "lscpu-2.38-offline.json": _lscpu_238_json(_smt2_offline_rows()),
    "lscpu-p-offline.csv": _lscpu_p(
        "CPU,Core,Socket,Node,Online,,L1d,L1i,L2,L3",
        [
            f"{cpu},{'' if cpu in (0, 6) else cpu % 4},{'' if cpu in (0, 6) else (cpu % 4) // 2},"
            f"0,{'N' if cpu in (0, 6) else 'Y'},,{cpu % 4},{cpu % 4},{cpu % 4},0"
            for cpu in range(8)
        ],
    ),
    # A phone: 2 little, 3 middle, 1 big core; CORE restarts for each CPU type.
    "hybrid-arm.csv": _lscpu_p(
        "CPU,Core,Socket,Node", ["0,0,0,", "1,1,0,", "2,0,0,", "3,1,0,", "4,2,0,", "5,0,0,"]
    ),
    "hybrid-arm-maxmhz.json": json.dumps(
        {
            "cpus": [
                {"cpu": cpu, "socket": 0, "core": cpu % 2, "online": True, "maxmhz": mhz}
                for cpu, mhz in enumerate((1800.0, 1800.0, 2800.0, 2800.0))
            ]
        },
        indent=3,
    )
    + "\n",
    # Raptor Lake style: two SMT2 P-cores (adjacent siblings), two E-cores.
    "intel-hybrid.csv": _lscpu_p(
        "CPU,Core,Socket,Node,,L1d,L1i,L2,L3,Maxmhz",
        [
            "0,0,0,0,,0,0,0,0,4800.0000",
            "1,0,0,0,,0,0,0,0,4800.0000",
            "2,1,0,0,,1,1,1,0,4800.0000",
            "3,1,0,0,,1,1,1,0,4800.0000",
            "4,2,0,0,,2,2,2,0,3400.0000",
            "5,3,0,0,,3,3,2,0,3400.0000",
        ],
    ),
    # SMT4 with one thread offlined: tuples of 4 and 3 are fine.
    "smt4-one-offline.csv": _lscpu_p(
        "CPU,Core,Socket,Online",
        [
            f"{cpu},{'' if cpu == 3 else cpu // 4},{'' if cpu == 3 else 0},"
            f"{'N' if cpu == 3 else 'Y'}"
            for cpu in range(8)
        ],
    ),
    "old-strings.json": json.dumps(
        {
            "cpus": [
                {"cpu": "0", "node": "0", "socket": "0", "core": "0", "online": "yes"},
                {"cpu": "1", "node": "0", "socket": "0", "core": "0", "online": "yes"},
                {"cpu": "2", "node": "0", "socket": "0", "core": "1", "online": "yes"},
                {"cpu": "3", "node": "-", "socket": "-", "core": "-", "online": "no"},
            ]
        },
        indent=3,
    )
    + "\n",
    "not-lscpu-dash.json": '{\n   "name": "box",\n   "cpus": [{"id": 0, "core": -}]\n}\n',
    "lscpu-summary.json": '{\n   "lscpu": [\n      {"field": "Architecture:", "data": "x86_64"}\n'
    "   ]\n}\n",
    "no-header.csv": "0,0,0\n1,1,0\n",
}


def build(out: Path) -> None:
    """Write every fixture below ``out`` (replacing what was there)."""
    for folder in ("sysfs", "xml", "lscpu"):
        shutil.rmtree(out / folder, ignore_errors=True)
    for name, files in SYSFS.items():
        root = out / "sysfs" / name
        (root / CPU).mkdir(parents=True)
        for rel, content in files.items():
            path = (root / CPU / rel).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            path.write_bytes(data)
    for folder, texts in (("xml", XML), ("lscpu", LSCPU)):
        (out / folder).mkdir(parents=True)
        for name, text in texts.items():
            (out / folder / name).write_bytes(text.encode())


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
