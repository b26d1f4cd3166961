"""Offline plan cost, measured on this machine in one run (not a timed test).

    .venv/bin/python benchmarks/plan_bench.py [--repeat 3]

1. Each real stack's offline plan vs the bare Pulumi SDK registering the same number of mocked
   resources under the same mocks and recording monitor: the ratio is the platform's own
   overhead (validation, components, Output plumbing). Goal: <= 1.3.
2. Plan time of the prod stack with 1, 2, 4, 8 and 16 applications. Goal: linear.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.plan import plan_stack, read_stack_config  # noqa: E402
from components.testing import Plan, run_offline  # noqa: E402


def bare_program(plan: Plan) -> Callable[[], None]:
    """The same registrations (type tokens, names, resolved inputs), flat, with the bare SDK:
    no components, validation, invokes or Output plumbing."""
    registrations = [
        (r.type, f"{r.name}-{n}", dict(r.inputs)) for n, r in enumerate(plan) if r.custom
    ]

    def program() -> None:
        for type_, name, inputs in registrations:
            pulumi.CustomResource(type_, name, inputs)

    return program


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def apps_override(count: int) -> dict[str, Any]:
    """The prod stack's apps section grown to ``count`` copies of its first app."""
    _, config, _ = read_stack_config(ROOT, "prod")
    apps = json.loads(config.get("payments-platform:apps", "{}"))
    if not apps:
        return {}
    template = next(iter(apps.values()))
    grown = {f"app{i:02d}": copy.deepcopy(template) for i in range(count)}
    return {"apps": grown}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    plan_stack("nonprod", ROOT)  # warm imports so both sides start equal
    print("stack      resources  plan (s)  bare SDK (s)  ratio")
    for stack in ("prod", "nonprod"):
        seconds, plan = timed(lambda s=stack: plan_stack(s, ROOT), args.repeat)
        count = len(plan)
        bare, _ = timed(lambda p=plan: run_offline(bare_program(p)), args.repeat)
        print(f"{stack:9s}  {count:9d}  {seconds:8.2f}  {bare:12.2f}  {seconds / bare:5.2f}")

    if not apps_override(1):
        print("\n(no apps in Pulumi.prod.yaml: app scaling not measured)")
        return 0
    print("\napps  resources  plan (s)  s per resource")
    for count in (1, 2, 4, 8, 16):
        override = apps_override(count)
        seconds, plan = timed(
            lambda o=override: plan_stack("prod", ROOT, config_overrides=o), args.repeat
        )
        print(f"{count:4d}  {len(plan):9d}  {seconds:8.2f}  {seconds / len(plan):.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
