"""The worked example of docs/api.md: load, plan, verify, compare, explain under a
kernel profile, and render."""

from __future__ import annotations

import json

from rmpplan import api

# A bundled topology by name; a file, a sysfs root or a dump would do as well.
machine = api.load("epyc-9965-2s")
print(f"{machine.name}: {len(machine.cpus)} CPUs, {len(machine.cores)} cores")

# Plan two workers, the two threads of one core; JSON is the stable contract.
doc = json.loads(api.render(api.plan(machine, [17, 401]), "json"))
for item in doc["plans"]:
    print(f"worker {item['leader']}: followers {item['followers']}")

# verify proves every online CPU as the worker; the verdict is data.
verdict = api.verify(machine)
print(f"{verdict.strategy} under {verdict.rule}: {'ok' if verdict.ok else 'FAIL'}")

# Every strategy under one rule, with the checks each one fails.
for verdict in api.compare(machine, rules=["first-sibling"]).verdicts:
    failed = ", ".join(finding.check for finding in verdict.findings)
    print(f"{verdict.strategy}: {failed or 'ok'}")

# A kernel profile models one version of the series (its rule, handler and hotplug
# semantics); explain replays one handler run as that version's code runs it.
replay = api.explain(machine, 17, kernel=api.Kernel.V6)
print(f"{replay.kernel}: {replay.strategy} under {replay.rule}, {replay.case} on CPU 17")
for step in replay.steps[-3:]:
    print(f"  {step.code} -> {step.result}")
print(f"v10 verdict: {'ok' if api.verify(machine, kernel='v10').ok else 'FAIL'}")

# Bad input is an InputError with the one-line message the CLI would print.
try:
    api.plan(machine, 768)
except api.InputError as err:
    print(f"error: {err}")

# A verdict renders as `rmpplan verify` prints it once labelled with its machine.
single = api.load("single-core")
print(api.render(api.Checked("builtin:single-core", single, api.verify(single)), "text"), end="")
