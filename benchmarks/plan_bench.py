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
import importlib
import inspect
import json
import keyword
import re
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


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _resource_class(type_: str) -> Any:
    """The pulumi-aws / pulumi-random class of a type token, or None."""
    package, _, rest = type_.partition(":")
    module, _, cls = rest.partition(":")
    module = module.split("/")[0]
    if type_ == "pulumi:providers:aws":
        return importlib.import_module("pulumi_aws").Provider
    root = {"aws": "pulumi_aws", "random": "pulumi_random"}.get(package)
    if root is None:
        return None
    # a module named after a Python keyword takes a trailing underscore (aws:lambda -> lambda_)
    if keyword.iskeyword(module):
        module += "_"
    mod = importlib.import_module(root if module == "index" else f"{root}.{module}")
    return getattr(mod, cls, None)


def _asset(value: Any) -> Any:
    """An input the plan describes as an asset or archive (a Lambda function's code, see
    ``components.testing.describe_asset``) as an asset or archive again, whose content is
    the recorded digest (the SDK checks the type, not the content)."""
    if isinstance(value, dict) and set(value) == {"assetArchive"}:
        return pulumi.AssetArchive({k: _asset(v) for k, v in value["assetArchive"].items()})
    if isinstance(value, dict) and ("fileAsset" in value or "stringAsset" in value):
        return pulumi.StringAsset(str(value.get("sha256", value.get("stringAsset"))))
    return value


def typed_program(plan: Plan, *, with_dependencies: bool) -> Callable[[], None]:
    """The same resources with the same pulumi-aws classes and inputs, registered flat by a
    bare program. ``with_dependencies``: an input that was another resource's id or ARN is
    that resource's Output again, so the bare program waits on the same dependency chains
    as the platform (the honest baseline); without, every resource registers at once."""
    registrations = []
    for n, r in enumerate(plan):
        if not r.custom:
            continue
        cls = _resource_class(r.type)
        params = set(inspect.signature(cls._internal_init).parameters) if cls else set()
        kwargs = {_snake(k): _asset(v) for k, v in r.inputs.items() if _snake(k) in params}
        registrations.append((r, cls, f"{r.name}-{n}", kwargs))

    def program() -> None:
        made: dict[str, Any] = {}  # recorded id / arn -> the bare resource's Output

        def link(value: Any) -> Any:
            if isinstance(value, str) and value in made:
                return made[value]
            if isinstance(value, list):
                return [link(v) for v in value]
            return value

        for r, cls, name, kwargs in registrations:
            if with_dependencies:
                kwargs = {k: link(v) for k, v in kwargs.items()}
            if cls is None:
                resource = pulumi.CustomResource(r.type, name, dict(r.inputs))
            else:
                resource = cls(name, **kwargs)
            made[str(r.outputs.get("id"))] = resource.id
            arn = getattr(resource, "arn", None) if "arn" in r.outputs else None
            if r.outputs.get("arn") and arn is not None:
                made[str(r.outputs["arn"])] = arn

    return program


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def apps_override(count: int) -> dict[str, Any]:
    """The prod stack with ``count`` applications: its own (loyalty, mmf) first, then copies
    of loyalty; stores admit only apps that exist."""
    _, config, _ = read_stack_config(ROOT, "prod")
    apps = json.loads(config.get("payments-platform:apps", "{}"))
    if not apps:
        return {}
    names = list(apps)
    grown = {name: apps[name] for name in names[:count]}
    for i in range(len(grown), count):
        grown[f"app{i:02d}"] = copy.deepcopy(apps[names[0]])
    data = json.loads(config["payments-platform:dataTier"])

    def keep(store: dict[str, Any]) -> None:
        store["clients"] = [c for c in store.get("clients", []) if c in grown] or [names[0]]

    for kind in ("rds", "documentdb"):
        for store in data.get(kind, {}).values():
            keep(store)
    for kind in ("redis", "rabbitmq", "opensearch"):
        if data.get(kind):
            keep(data[kind])
    override = {"apps": grown, "dataTier": data}
    # the rehost waves land in apps: keep those whose app is there
    hybrid = json.loads(config.get("payments-platform:hybrid", "{}"))
    waves = hybrid.get("migration", {}).get("waves")
    if waves:
        hybrid["migration"]["waves"] = {w: v for w, v in waves.items() if v["app"] in grown}
        override["hybrid"] = hybrid
    return override


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    plan_stack("nonprod", ROOT)  # warm imports so both sides start equal
    print("Baselines register the same resources (same type tokens and inputs) under the same")
    print("mocks: A = bare SDK CustomResource, no dependencies; B = same pulumi-aws classes, no")
    print("dependencies; C = same pulumi-aws classes and the same id/ARN dependencies.\n")
    print("stack    resources  plan (s)   A (s) ratio   B (s) ratio   C (s) ratio")
    for stack in ("prod", "nonprod"):
        seconds, plan = timed(lambda s=stack: plan_stack(s, ROOT), args.repeat)
        a, _ = timed(lambda p=plan: run_offline(bare_program(p)), args.repeat)
        b, _ = timed(
            lambda p=plan: run_offline(typed_program(p, with_dependencies=False)), args.repeat
        )
        c, _ = timed(
            lambda p=plan: run_offline(typed_program(p, with_dependencies=True)), args.repeat
        )
        print(
            f"{stack:8s} {len(plan):9d}  {seconds:8.2f}"
            + "".join(f"  {x:6.2f} {seconds / x:5.2f}" for x in (a, b, c))
        )

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
