"""Run the CrossGuard pack as the Pulumi engine runs it, on a stack's offline plan.

    .venv/bin/python scripts/policy_pack_check.py prod --pack-python policy-pack/venv/bin/python

There is no Pulumi CLI here, so this script plays the engine's part: it starts the pack the
way the CLI starts a Python policy pack (``python -m pulumi.policy <engine> .`` in the pack's
directory, with PULUMI_STACK, PULUMI_PROJECT and PULUMI_CONFIG set), asks it for its policies
(GetAnalyzerInfo), sends every resource of the plan with its inputs and options (Analyze, as
before each resource is created) and then the whole stack with its outputs (AnalyzeStack),
and compares the violations the pack reports with those of ``components.plan --policy``
(same rules, same waivers). Exit 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.compliance.policy import WAIVER_FILE, evaluate, stack_enforcement  # noqa: E402
from components.compliance.rules import MANDATORY, RULE_NAMES  # noqa: E402
from components.compliance.waivers import load  # noqa: E402
from components.plan import plan_stack, read_stack_config  # noqa: E402


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(json.loads(json.dumps(values, default=str)))
    return out


def _start_pack(pack_python: str, stack: str, waivers: Path) -> tuple[subprocess.Popen[bytes], int]:
    project, config, _ = read_stack_config(ROOT, stack)
    env = {
        **os.environ,
        "PCI_POLICY_WAIVERS": str(waivers),
        "PULUMI_STACK": stack,
        "PULUMI_PROJECT": project,
        "PULUMI_CONFIG": json.dumps(config),
        "PULUMI_DRY_RUN": "true",
    }
    process = subprocess.Popen(
        [pack_python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
        cwd=ROOT / "policy-pack",
        env=env,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.isdigit():
        process.kill()
        raise SystemExit(f"the policy pack did not start (it printed {line!r})")
    return process, int(line)


def run(stack: str, pack_python: str, waivers: Path) -> int:
    plan = plan_stack(stack, ROOT)
    project, config, _ = read_stack_config(ROOT, stack)
    expected_level = stack_enforcement(stack, config, project)
    offline = evaluate(plan, stack=stack, waivers=load(waivers, RULE_NAMES))
    expected = {(v.finding.rule, v.finding.urn) for v in offline.open}

    process, port = _start_pack(pack_python, stack, waivers)
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        analyzer = analyzer_pb2_grpc.AnalyzerStub(channel)
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
        policies = {p.name: p.enforcementLevel for p in info.policies}
        level = analyzer_pb2.MANDATORY if expected_level == MANDATORY else analyzer_pb2.ADVISORY
        problems = [f"policy {r} is missing from the pack" for r in RULE_NAMES - set(policies)]
        problems += [
            f"policy {name} is not {expected_level}"
            for name, lvl in policies.items()
            if name in RULE_NAMES and lvl != level
        ]
        reported: set[tuple[str, str]] = set()
        resources = []
        custom = [r for r in plan if r.custom]
        for r in custom:
            options = analyzer_pb2.AnalyzerResourceOptions(protect=r.protect)
            response = analyzer.Analyze(
                analyzer_pb2.AnalyzeRequest(
                    type=r.type,
                    properties=_struct(r.inputs),
                    urn=r.urn,
                    name=r.name,
                    options=options,
                )
            )
            reported |= {(d.policyName, d.urn) for d in response.diagnostics}
            resources.append(
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=_struct(r.outputs),
                    urn=r.urn,
                    name=r.name,
                    options=options,
                    parent=r.parent,
                )
            )
        response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
        stack_diagnostics = list(response.diagnostics)
        reported |= {(d.policyName, d.urn) for d in stack_diagnostics if d.policyName in RULE_NAMES}
        problems += [
            f"waivers-match: {d.message}"
            for d in stack_diagnostics
            if d.policyName == "waivers-match"
        ]
    finally:
        process.kill()
        process.wait()
    problems += [f"the pack missed {rule} on {urn}" for rule, urn in sorted(expected - reported)]
    problems += [
        f"the pack alone reports {rule} on {urn}" for rule, urn in sorted(reported - expected)
    ]
    for line in problems:
        print(f"{stack}: {line}")
    print(
        f"{stack}: the pack ({len(policies)} policies, {expected_level}) analysed {len(custom)} "
        f"resources: {len(reported)} violations not waived, offline {len(expected)}; "
        f"{len(problems)} differences"
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stacks", nargs="+")
    parser.add_argument(
        "--pack-python",
        default=str(ROOT / "policy-pack" / "venv" / "bin" / "python"),
        help="python of the pack's virtual environment (policy-pack/requirements.txt)",
    )
    parser.add_argument("--waivers", default=str(ROOT / WAIVER_FILE), help="the waiver file")
    args = parser.parse_args(argv)
    waivers = Path(args.waivers).resolve()
    # absolute, not resolved: a venv's python is a symlink that must stay the venv's
    pack_python = os.path.abspath(args.pack_python)
    return max(run(stack, pack_python, waivers) for stack in args.stacks)


if __name__ == "__main__":
    sys.exit(main())
