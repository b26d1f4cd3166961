"""The policy pack's rules run offline on a plan, with the waivers applied.

``python -m components.plan prod --policy`` prints one line per violation (and per waiver
that matches nothing) and exits non-zero when the stack's enforcement is mandatory and a
violation is not waived, or when a waiver matches nothing. The same :mod:`rules` run under
``pulumi preview --policy-pack policy-pack``.

Resource rules get each resource's inputs and options as registered (what the engine's
Analyze call carries); stack rules get each resource's outputs, which under the mocks hold
the inputs and the id (what AnalyzeStack carries after a deployment).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..testing import Plan
from . import rules
from .rules import ADVISORY, MANDATORY, Finding
from .waivers import Waiver, Waivers, stub

#: Where a project keeps its waivers (relative to the project directory).
WAIVER_FILE = Path("compliance") / "waivers.yaml"


@dataclass(frozen=True)
class _Options:
    protect: bool


@dataclass(frozen=True)
class _Resource:
    resource_type: str
    props: Mapping[str, Any]
    urn: str
    name: str


@dataclass(frozen=True)
class Verdict:
    finding: Finding
    waiver: Waiver | None


@dataclass(frozen=True)
class PolicyReport:
    stack: str
    enforcement: str
    verdicts: tuple[Verdict, ...]
    unmatched: tuple[Waiver, ...] = field(default=())

    @property
    def open(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.waiver is None]

    @property
    def waived(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.waiver is not None]

    @property
    def failed(self) -> bool:
        """A mandatory violation not waived, or a waiver that matches nothing."""
        return bool(self.unmatched) or (self.enforcement == MANDATORY and bool(self.open))

    def lines(self) -> list[str]:
        out = []
        level = self.enforcement.upper()
        for v in sorted(self.verdicts, key=lambda v: (v.waiver is not None, v.finding.rule)):
            f = v.finding
            head = f"{f.rule} (PCI DSS {f.requirement}) {f.type} {f.name}: {f.message}"
            if v.waiver is None:
                out.append(f"{level} {head}")
            else:
                out.append(f"waived {head} [{v.waiver.group}; {v.waiver.accepted_by}]")
        for w in self.unmatched:
            out.append(f"ERROR waiver {w.describe()} matches nothing in {self.stack}: remove it")
        out.append(
            f"{self.stack} ({self.enforcement}): {len(self.verdicts)} violations, "
            f"{len(self.open)} open, {len(self.waived)} waived; "
            f"{len(self.unmatched)} waivers matching nothing"
        )
        return out

    def stubs(self) -> list[str]:
        """Waivers to fill in for the open violations (the refresh helper)."""
        return [
            stub(v.finding.rule, v.finding.name, self.stack, v.finding.message) for v in self.open
        ]


def findings(plan: Plan) -> list[Finding]:
    """Every rule's verdicts on ``plan`` (no waivers)."""
    custom = [r for r in plan if r.custom]
    found = [
        f
        for r in custom
        for f in rules.resource_findings(r.type, r.inputs, _Options(r.protect), r.urn, r.name)
    ]
    resources = [_Resource(r.type, r.outputs, r.urn, r.name) for r in custom]
    return found + list(rules.stack_findings(resources))


def evaluate(
    plan: Plan,
    *,
    stack: str,
    enforcement: str = MANDATORY,
    waivers: Waivers | None = None,
) -> PolicyReport:
    """The rules' verdicts on ``plan``, each with the waiver that accepts it, and the
    waivers of ``stack`` that accept nothing."""
    waivers = waivers or Waivers(())
    verdicts = tuple(
        Verdict(f, waivers.match(f.rule, stack, f.urn, f.name)) for f in findings(plan)
    )
    used = {id(v.waiver) for v in verdicts if v.waiver is not None}
    unmatched = tuple(w for w in waivers.for_tool("policy", stack) if id(w) not in used)
    return PolicyReport(stack, enforcement, verdicts, unmatched)


def stack_enforcement(stack: str, config: Mapping[str, str], project: str) -> str:
    """The enforcement the pack applies to ``stack`` (see :func:`rules.enforcement`)."""
    level = rules.enforcement(stack, config, project)
    return MANDATORY if level == MANDATORY else ADVISORY
