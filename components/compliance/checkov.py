"""Review checkov's findings on a stack's Terraform-plan rendering against the waivers.

    python -m components.plan prod --format tfplan > build/prod.tfplan.json
    checkov -f build/prod.tfplan.json --framework terraform_plan -o json --quiet \\
        --skip-download --soft-fail > build/prod.checkov.json
    python -m components.compliance.checkov --stack prod \\
        --tfplan build/prod.tfplan.json --results build/prod.checkov.json

One line per failed check (``open`` or ``waived``, with the waiver's group) and per waiver of
the stack that matches no finding; then waiver stubs for the open findings. Exit 1 when a
finding is open or a waiver matches nothing, 2 when the inputs are unreadable (checkov could
not parse the plan, or read no resource from it).

A finding names a Terraform address (``aws_s3_bucket.prod-trail``); the rendering's
``pulumi`` object maps it back to the URN and logical name the waivers match.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .policy import WAIVER_FILE
from .rules import RULE_NAMES
from .waivers import Waiver, WaiverError, Waivers, stub
from .waivers import load as load_waivers


class ScanError(Exception):
    """checkov's output cannot be trusted as a scan of the plan."""


@dataclass(frozen=True)
class ScanFinding:
    check_id: str
    check_name: str
    address: str
    urn: str
    name: str  # Pulumi logical name
    type: str  # Pulumi type token


@dataclass(frozen=True)
class ScanVerdict:
    finding: ScanFinding
    waiver: Waiver | None


@dataclass(frozen=True)
class ScanReview:
    stack: str
    verdicts: tuple[ScanVerdict, ...]
    unmatched: tuple[Waiver, ...] = field(default=())
    passed: int = 0

    @property
    def open(self) -> list[ScanVerdict]:
        return [v for v in self.verdicts if v.waiver is None]

    @property
    def waived(self) -> list[ScanVerdict]:
        return [v for v in self.verdicts if v.waiver is not None]

    @property
    def failed(self) -> bool:
        return bool(self.open) or bool(self.unmatched)

    def groups(self) -> Counter[str]:
        return Counter(v.waiver.group for v in self.waived if v.waiver is not None)

    def lines(self) -> list[str]:
        out = []
        for v in sorted(self.verdicts, key=lambda v: (v.waiver is not None, v.finding.check_id)):
            f = v.finding
            head = f"{f.check_id} {f.address} ({f.name}): {f.check_name}"
            out.append(f"open {head}" if v.waiver is None else f"waived {head} [{v.waiver.group}]")
        for w in self.unmatched:
            out.append(f"ERROR waiver {w.describe()} matches no finding in {self.stack}: remove it")
        groups = ", ".join(f"{g} {n}" for g, n in sorted(self.groups().items()))
        out.append(
            f"{self.stack}: checkov passed {self.passed}, failed {len(self.verdicts)}: "
            f"{len(self.open)} open, {len(self.waived)} waived ({groups or 'none'}); "
            f"{len(self.unmatched)} waivers matching nothing"
        )
        return out

    def stubs(self) -> list[str]:
        return [
            stub(v.finding.check_id, v.finding.name, self.stack, v.finding.check_name)
            for v in self.open
        ]


def _reports(doc: Any) -> list[Mapping[str, Any]]:
    """checkov writes one report object, or a list of them when several frameworks ran."""
    reports = doc if isinstance(doc, list) else [doc]
    return [r for r in reports if isinstance(r, Mapping)]


def failed_checks(doc: Any) -> tuple[list[Mapping[str, Any]], int]:
    """(failed checks, passed count) of checkov's JSON output for a terraform_plan scan;
    :class:`ScanError` when the scan read nothing or failed to parse the plan."""
    reports = [
        r for r in _reports(doc) if r.get("check_type", "terraform_plan") == "terraform_plan"
    ]
    if not reports:
        raise ScanError("no terraform_plan report in checkov's output")
    failed: list[Mapping[str, Any]] = []
    passed = 0
    for report in reports:
        summary = report.get("summary") or {}
        if summary.get("parsing_errors"):
            raise ScanError(f"checkov could not parse the plan: {summary.get('parsing_errors')}")
        if not summary.get("resource_count"):
            raise ScanError("checkov read no resource from the plan")
        passed += int(summary.get("passed") or 0)
        failed += list((report.get("results") or {}).get("failed_checks") or [])
    return failed, passed


def review(
    results: Any, tfplan: Mapping[str, Any], waivers: Waivers | None, stack: str
) -> ScanReview:
    """Each failed check of ``results`` with the waiver that accepts it, and the checkov
    waivers of ``stack`` that accept nothing."""
    waivers = waivers or Waivers(())
    names: Mapping[str, Mapping[str, str]] = (tfplan.get("pulumi") or {}).get("resources") or {}
    failed, passed = failed_checks(results)
    verdicts = []
    for check in failed:
        address = str(check.get("resource", ""))
        pulumi = names.get(address) or {}
        finding = ScanFinding(
            check_id=str(check.get("check_id")),
            check_name=str(check.get("check_name", "")),
            address=address,
            urn=pulumi.get("urn", ""),
            name=pulumi.get("name", address.split(".", 1)[-1]),
            type=pulumi.get("type", address.split(".", 1)[0]),
        )
        waiver = waivers.match(finding.check_id, stack, finding.urn, finding.name)
        verdicts.append(ScanVerdict(finding, waiver))
    used = {id(v.waiver) for v in verdicts if v.waiver is not None}
    unmatched = tuple(w for w in waivers.for_tool("checkov", stack) if id(w) not in used)
    return ScanReview(stack, tuple(verdicts), unmatched, passed)


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ScanError(f"{path}: {err}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.compliance.checkov",
        description="Review checkov's findings on a stack against the waiver file.",
    )
    parser.add_argument("--stack", required=True, help="the stack the plan is of")
    parser.add_argument("--tfplan", required=True, help="the plan checkov scanned")
    parser.add_argument("--results", required=True, help="checkov's JSON output (-o json)")
    parser.add_argument("--waivers", default=str(WAIVER_FILE), help="the waiver file")
    args = parser.parse_args(argv)
    try:
        waivers = load_waivers(args.waivers, RULE_NAMES)
        report = review(_read_json(args.results), _read_json(args.tfplan), waivers, args.stack)
    except (ScanError, WaiverError) as err:
        print(f"error: {args.stack}: {err}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    if report.open:
        print(f"\nwaiver stubs for {args.waivers} (review each; fix what is a real gap):")
        print("\n".join(report.stubs()))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
