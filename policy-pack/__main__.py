"""The platform's PCI DSS v4.0.1 policy pack, for ``pulumi preview --policy-pack policy-pack``.

Every policy is one rule of ``components/compliance/rules.py``, loaded from the repository by
path (the pack's virtual environment holds pulumi-policy, not this project or pulumi-aws),
with the waivers of ``compliance/waivers.yaml`` applied: the same rules and waivers that
``python -m components.plan <stack> --policy`` runs offline.

Enforcement: mandatory for a stack whose environment (``<project>:environment`` in the
stack's config, else the stack's name) is prod, advisory elsewhere; ``--policy-pack-config``
overrides it per policy. The Pulumi CLI starts the pack in this directory with PULUMI_STACK,
PULUMI_PROJECT and PULUMI_CONFIG set. ``PCI_POLICY_WAIVERS`` names another waiver file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ROOT = Path(__file__).resolve().parent.parent
COMPLIANCE = ROOT / "components" / "compliance"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rules = _load("pci_rules", COMPLIANCE / "rules.py")
waivers = _load("pci_waivers", COMPLIANCE / "waivers.py")

WAIVERS = waivers.load(
    os.environ.get("PCI_POLICY_WAIVERS") or ROOT / "compliance" / "waivers.yaml",
    rules.RULE_NAMES,
)


def _stack_of(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>``."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def _level() -> EnforcementLevel:
    stack = os.environ.get("PULUMI_STACK", "")
    if not stack:  # run outside a stack (e.g. `pulumi policy publish`): the strict level
        return EnforcementLevel.MANDATORY
    config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    level = rules.enforcement(stack, config, os.environ.get("PULUMI_PROJECT", ""))
    return EnforcementLevel.MANDATORY if level == rules.MANDATORY else EnforcementLevel.ADVISORY


def _resource_policy(rule: Any) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        stack = _stack_of(args.urn)
        for message in rule.check(args.resource_type, args.props, args.opts):
            if WAIVERS.match(rule.name, stack, args.urn, args.name) is None:
                report(f"{args.name}: {message}", args.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=f"PCI DSS v4.0.1 {rule.requirement}: {rule.description}",
        validate=validate,
    )


def _stack_policy(rule: Any) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for resource, message in rule.check(args.resources):
            stack = _stack_of(resource.urn)
            if WAIVERS.match(rule.name, stack, resource.urn, resource.name) is None:
                report(f"{resource.name}: {message}", resource.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=f"PCI DSS v4.0.1 {rule.requirement}: {rule.description}",
        validate=validate,
    )


def _waivers_match(args: StackValidationArgs, report: ReportViolation) -> None:
    """Advisory here (a preview may not know what a rule needs); the offline run and CI
    fail on a waiver that matches nothing."""
    if not args.resources:
        return
    stack = _stack_of(args.resources[0].urn)
    found = list(rules.stack_findings(args.resources))
    for r in args.resources:
        found += rules.resource_findings(r.resource_type, r.props, r.opts, r.urn, r.name)
    for waiver in WAIVERS.for_tool("policy", stack):
        if not any(waiver.matches(f.rule, stack, f.urn, f.name) for f in found):
            report(f"waiver {waiver.describe()} matches nothing: remove it", None)


PolicyPack(
    name="payments-pci-dss",
    enforcement_level=_level(),
    policies=[
        *(_resource_policy(rule) for rule in rules.RESOURCE_RULES),
        *(_stack_policy(rule) for rule in rules.STACK_RULES),
        StackValidationPolicy(
            name="waivers-match",
            description="Every waiver of compliance/waivers.yaml for this stack matches a finding.",
            validate=_waivers_match,
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
    ],
)
