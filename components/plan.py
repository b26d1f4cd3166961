"""Offline plan: run a Pulumi program under mocks and print what it would create.

    python -m components.plan prod                        # readable tree
    python -m components.plan prod --json                 # every resource, inputs, options
    python -m components.plan prod --format tfplan        # as a Terraform plan, for scanners
    python -m components.plan prod --policy               # the PCI DSS policy pack, offline
    python -m components.plan dev --project-dir ../orders # another team's program

Works for any Pulumi Python program (the project directory holds Pulumi.yaml and
Pulumi.<stack>.yaml). No Pulumi CLI, AWS account or network is needed. The stack file is
read the way the CLI reads it: keys without a namespace belong to the project, `secure:`
values are shown as ``[secret]`` and passed to the program as secrets. A program stopped by
invalid settings (a component's problems, a settings model's validation error) exits with 2
and one line per problem, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import ValidationError

from .compliance.policy import WAIVER_FILE, evaluate, stack_enforcement
from .compliance.rules import MANDATORY, RULE_NAMES
from .compliance.tfplan import render_tfplan
from .compliance.waivers import WaiverError
from .compliance.waivers import load as load_waivers
from .core.problems import validation_lines
from .testing import (
    DEFAULT_ACCOUNT_ID,
    Plan,
    PlatformMocks,
    RecordingMonitor,
    Registered,
    run_offline,
)

#: How a secret input is shown in the plan.
SECRET_PLACEHOLDER = "[secret]"
#: What the program receives for a `secure:` config value offline: it cannot be decrypted
#: without the stack's secrets provider, so a stand-in that passes format checks (a VPN
#: pre-shared key's 8-64 letters and digits) is passed, marked secret.
CONFIG_SECRET_STANDIN = "OfflinePlanSecret"

#: Inputs worth showing in the tree (the ones a reviewer checks); everything is in --json.
TREE_KEYS = (
    "cidrBlock",
    "availabilityZone",
    "mapPublicIpOnLaunch",
    "destinationCidrBlock",
    "ruleNumber",
    "egress",
    "protocol",
    "ruleAction",
    "fromPort",
    "toPort",
    "ipProtocol",
    "cidrIpv4",
    "trafficType",
    "retentionInDays",
    "enableKeyRotation",
    "serviceName",
    "vpcEndpointType",
    "privateDnsEnabled",
    "connectivityType",
    "engine",
    "engineVersion",
    "instanceClass",
    "instanceType",
    "multiAz",
    "deploymentMode",
    "deletionProtection",
    "storageEncrypted",
    "internal",
    "loadBalancerType",
    "port",
    "sslPolicy",
    "minSize",
    "maxSize",
    "desiredCapacity",
    "isMultiRegionTrail",
    "enableLogFileValidation",
    "standardsArn",
    "bgpAsn",
    "ipAddress",
    "amazonSideAsn",
    "staticRoutesOnly",
)


#: Inputs that reference another resource: shown by that resource's logical name.
REFERENCE_KEYS = (
    "natGatewayId",
    "gatewayId",
    "networkAclId",
    "routeTableId",
    "subnetId",
    "referencedSecurityGroupId",
    "vpcEndpointId",
    "targetKeyId",
    "kmsKeyId",
)


class PlanError(Exception):
    """The stack could not be planned (missing file, invalid config)."""


def read_stack_config(project_dir: Path, stack: str) -> tuple[str, dict[str, str], list[str]]:
    """(project name, flat config as the CLI passes it, secret keys)."""
    project_file = project_dir / "Pulumi.yaml"
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not project_file.exists():
        raise PlanError(f"{project_file} not found: run from the project directory")
    if not stack_file.exists():
        stacks = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml")
        )
        raise PlanError(f"{stack_file.name} not found; stacks here: {', '.join(stacks) or 'none'}")
    project = yaml.safe_load(project_file.read_text())
    project_name = str(project["name"])
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec and not key.startswith("pulumi:"):
            _put(config, secret_keys, _full_key(project_name, key), spec["value"])
    stack_doc = yaml.safe_load(stack_file.read_text()) or {}
    for key, value in (stack_doc.get("config") or {}).items():
        _put(config, secret_keys, _full_key(project_name, key), value)
    return project_name, config, secret_keys


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _hide_secrets(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return CONFIG_SECRET_STANDIN, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], secret = _hide_secrets(v)
            found = found or secret
        return out, found
    if isinstance(value, list):
        items = [_hide_secrets(v) for v in value]
        return [i for i, _ in items], any(s for _, s in items)
    return value, False


def _put(config: dict[str, str], secret_keys: list[str], key: str, value: Any) -> None:
    value, secret = _hide_secrets(value)
    if secret:
        secret_keys.append(key)
    if isinstance(value, (dict, list)):
        config[key] = json.dumps(value)
    elif isinstance(value, bool):
        config[key] = "true" if value else "false"
    else:
        config[key] = str(value)


@contextlib.contextmanager
def _in_dir(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    sys.path.insert(0, str(path))
    try:
        yield
    finally:
        os.chdir(old)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(path))


def plan_stack(
    stack: str,
    project_dir: Path | str = ".",
    *,
    config_overrides: dict[str, Any] | None = None,
    program: str = "__main__.py",
    monitor: RecordingMonitor | None = None,
) -> Plan:
    """Run ``program`` of the project for ``stack`` offline; raise PlanError on bad config."""
    project_dir = Path(project_dir).resolve()
    project, config, secret_keys = read_stack_config(project_dir, stack)
    for key, value in (config_overrides or {}).items():
        _put(config, secret_keys, _full_key(project, key), value)
    account = json.loads(config.get(f"{project}:account", "{}")).get("id", DEFAULT_ACCOUNT_ID)
    mocks = (
        None
        if monitor
        else PlatformMocks(region=config.get("aws:region", "ap-southeast-1"), account_id=account)
    )

    def run_program() -> None:
        runpy.run_path(str(project_dir / program), run_name="__main__")

    with _in_dir(project_dir):
        try:
            return run_offline(
                run_program,
                project=project,
                stack=stack,
                config=config,
                secret_keys=secret_keys,
                mocks=mocks,
                monitor=monitor,
            )
        except pulumi.RunError as err:  # ComponentConfigError and the stack's ConfigError too
            raise PlanError(str(err)) from None
        except ValidationError as err:  # settings built in the program itself
            raise PlanError("invalid settings\n" + "\n".join(validation_lines(err))) from None


# --- rendering ---------------------------------------------------------------------------


def _short_type(type_: str) -> str:
    return type_.replace("aws:", "").split(":")[-1] if type_.startswith("aws:") else type_


def _readable(value: Any, names: dict[str, str]) -> Any:
    """Whole numbers as ints (the wire format has only floats) and ids as `<name>`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value in names:
        return f"<{names[value]}>"
    if isinstance(value, list):
        return [_readable(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _readable(v, names) for k, v in value.items()}
    return value


def _summary(resource: Registered, names: dict[str, str]) -> str:
    parts = []
    for key in TREE_KEYS:
        if key in resource.inputs and resource.inputs[key] not in (None, [], {}):
            value = _readable(resource.inputs[key], names)
            if key in resource.secret_paths:
                value = SECRET_PLACEHOLDER
            parts.append(f"{key}={value}")
    for key in REFERENCE_KEYS:
        value = resource.inputs.get(key)
        if isinstance(value, str) and value in names:
            parts.append(f"{key}=<{names[value]}>")
    flags = []
    if resource.protect:
        flags.append("protected")
    if resource.secret_paths:
        flags.append("secret: " + ",".join(sorted(resource.secret_paths)))
    if resource.ignore_changes:
        flags.append("ignores: " + ",".join(resource.ignore_changes))
    text = " ".join(parts)
    if flags:
        text += f" [{'; '.join(flags)}]"
    return text


def render_tree(plan: Plan) -> str:
    """Components and their resources, sorted by type then name; ids shown as `<name>`."""
    lines: list[str] = []
    names = {str(r.outputs["id"]): r.name for r in plan if r.custom and r.outputs.get("id")}
    ordered = sorted(plan, key=lambda r: (r.custom, r.type, r.name))

    def walk(parent_urn: str, depth: int) -> None:
        for r in ordered:
            if r.parent != parent_urn:
                continue
            indent = "  " * depth
            if r.custom:
                detail = _summary(r, names)
                lines.append(
                    f"{indent}- {r.name} ({_short_type(r.type)}){' ' + detail if detail else ''}"
                )
            else:
                count = len(plan.descendants_of(r))
                lines.append(f"{indent}+ {r.name} ({r.type}, {count} resources)")
                walk(r.urn, depth + 1)

    roots = {r.parent for r in plan if r.parent not in {x.urn for x in plan}}
    for root in sorted(roots):
        walk(root, 0)
    counts: dict[str, int] = {}
    for r in plan:
        if r.custom:
            counts[r.type] = counts.get(r.type, 0) + 1
    lines.append("")
    lines.append(f"{sum(counts.values())} resources to create:")
    for type_, n in sorted(counts.items()):
        lines.append(f"  {n:4d}  {type_}")
    if plan.stack_outputs:
        lines.append("")
        lines.append("Stack outputs: " + ", ".join(sorted(plan.stack_outputs)))
    return "\n".join(lines)


def _public_inputs(r: Registered) -> dict[str, Any]:
    return {k: (SECRET_PLACEHOLDER if k in r.secret_paths else v) for k, v in r.inputs.items()}


def render_json(plan: Plan) -> str:
    resources = [
        {
            "type": r.type,
            "name": r.name,
            "urn": r.urn,
            "parent": r.parent or None,
            "custom": r.custom,
            "inputs": _public_inputs(r),
            "secretInputs": sorted(r.secret_paths),
            "provider": r.provider or None,
            "options": {
                "protect": r.protect,
                "ignoreChanges": list(r.ignore_changes),
                "aliases": list(r.aliases),
                "deleteBeforeReplace": r.delete_before_replace,
                "retainOnDelete": r.retain_on_delete,
                "replaceOnChanges": list(r.replace_on_changes),
                "dependsOn": list(r.dependencies),
            },
        }
        for r in plan
    ]
    return json.dumps(
        {"resources": resources, "outputs": plan.stack_outputs}, indent=2, default=str
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.plan",
        description="Print what a stack would create, offline (no Pulumi CLI, no AWS).",
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--format",
        choices=("tree", "json", "tfplan"),
        help="tree (default), json (= --json), or tfplan: the plan as `terraform show -json` "
        "writes it, for Terraform scanners such as checkov",
    )
    parser.add_argument(
        "--policy",
        action="store_true",
        help="run the PCI DSS policy pack's rules instead: one line per violation; exit 1 on "
        "a mandatory violation not waived or a waiver that matches nothing",
    )
    parser.add_argument(
        "--waivers",
        help=f"waiver file for --policy (default: <project-dir>/{WAIVER_FILE} if present)",
    )
    parser.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml")
    args = parser.parse_args(argv)
    try:
        plan = plan_stack(args.stack, args.project_dir)
    except PlanError as err:
        print(f"error: {args.stack}: {err}", file=sys.stderr)
        return 2
    if args.policy:
        return run_policy(plan, args.stack, Path(args.project_dir), args.waivers)
    fmt = args.format or ("json" if args.json else "tree")
    if fmt == "tfplan":
        print(json.dumps(render_tfplan(plan, stack=args.stack), indent=1, default=str))
    else:
        print(render_json(plan) if fmt == "json" else render_tree(plan))
    return 0


def run_policy(plan: Plan, stack: str, project_dir: Path, waiver_file: str | None) -> int:
    """Print the policy report of ``plan`` (one line per violation, waiver stubs for the open
    mandatory ones); 1 when it fails, 2 when the waiver file is invalid."""
    project, config, _ = read_stack_config(project_dir.resolve(), stack)
    path = Path(waiver_file) if waiver_file else project_dir / WAIVER_FILE
    try:
        waivers = load_waivers(path, RULE_NAMES) if waiver_file or path.exists() else None
    except WaiverError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = evaluate(
        plan,
        stack=stack,
        enforcement=stack_enforcement(stack, config, project),
        waivers=waivers,
    )
    print("\n".join(report.lines()))
    if report.failed and report.open and report.enforcement == MANDATORY:
        print(f"\nwaiver stubs for {path} (review each; fix what is a real gap):")
        print("\n".join(report.stubs()))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
