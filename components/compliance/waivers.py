"""Waivers: the reviewed exceptions to the policy rules and to the scanner's checks.

One YAML file (the platform's is ``compliance/waivers.yaml``) lists every accepted
exception: the rule (a policy rule of :mod:`rules`, or a checkov check id such as
``CKV_AWS_145``), the resource (a glob over the Pulumi logical name, or a URN), the stacks it
applies to, why (one of :data:`GROUPS`, and the reason in words), the PCI DSS v4.0.1
requirement it touches and who accepted it. A waiver must match something in every stack it
names, or it is an error: a fixed finding takes its waiver with it.

This module imports only the standard library, PyYAML and pydantic: the policy pack loads
it by path, beside :mod:`rules`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

#: Why an exception is accepted.
Group = Literal[
    # AWS offers no way to comply (the service lacks the feature)
    "aws-limitation",
    # the finding is about how the stack is rendered for the scanner, not about the stack
    "rendering-artefact",
    # the scanner misreads a compliant configuration
    "false-positive",
    # nonprod holds no card data and is smaller and cheaper on purpose
    "nonprod-by-design",
    # a real deviation, reviewed and accepted, with its compensating control
    "accepted-risk",
    # a real gap another change is closing (named in `issue`)
    "work-in-progress",
]
GROUPS: tuple[str, ...] = Group.__args__  # type: ignore[attr-defined]

#: A checkov check id (the scanner's rules); anything else must be a policy rule's name.
CHECKOV_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_PLACEHOLDER = re.compile(r"\bTODO\b")


def is_checkov(rule: str) -> bool:
    return bool(CHECKOV_ID.match(rule))


class Waiver(BaseModel):
    """One accepted exception."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    rule: str = Field(description="Policy rule name, or checkov check id (CKV_AWS_145).")
    resource: str = Field(
        description="Glob over the Pulumi logical name (`prod-*-alb-logs`), or a URN."
    )
    stacks: Annotated[tuple[str, ...], Field(min_length=1)] = Field(
        description="Stacks it applies to; it must match in each."
    )
    group: Group = Field(description="Why it is accepted: " + ", ".join(GROUPS) + ".")
    requirement: str = Field(
        pattern=r"^(none|(\d+(\.\d+)*|A\d(\.\d+)*)(, (\d+(\.\d+)*|A\d(\.\d+)*))*)$",
        description="PCI DSS v4.0.1 requirement(s) concerned, e.g. `3.5.1` or `1.3.1, 1.4.2`; "
        "`none` for a scanner check no requirement asks for (availability, cost).",
    )
    reason: str = Field(min_length=20, description="Why, and what compensates.")
    accepted_by: str = Field(min_length=3, description="Who accepted it (role or person).")
    issue: str | None = Field(
        default=None, description="The issue closing it (required for work-in-progress)."
    )

    @field_validator("rule", "resource", "requirement", "reason", "accepted_by")
    @classmethod
    def _no_placeholder(cls, value: str) -> str:
        if _PLACEHOLDER.search(value):
            raise ValueError("still holds a TODO placeholder: fill it in")
        return value

    @model_validator(mode="after")
    def _issue_of_work_in_progress(self) -> Waiver:
        if self.group == "work-in-progress" and not self.issue:
            raise ValueError("a work-in-progress waiver names its `issue`")
        return self

    @property
    def tool(self) -> str:
        return "checkov" if is_checkov(self.rule) else "policy"

    def matches(self, rule: str, stack: str, urn: str, name: str) -> bool:
        if rule != self.rule or stack not in self.stacks:
            return False
        if self.resource.startswith("urn:"):
            return urn == self.resource
        return fnmatch.fnmatchcase(name, self.resource)

    def describe(self) -> str:
        return f"{self.rule} {self.resource} [{', '.join(self.stacks)}]"


class WaiverFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    waivers: tuple[Waiver, ...] = Field(default=(), description="Every accepted exception.")


class WaiverError(Exception):
    """The waiver file is invalid: one line per problem."""


@dataclass(frozen=True)
class Waivers:
    """The waivers of one file, and where they came from."""

    waivers: tuple[Waiver, ...]
    source: str = ""

    def for_tool(self, tool: str, stack: str) -> list[Waiver]:
        return [w for w in self.waivers if w.tool == tool and stack in w.stacks]

    def match(self, rule: str, stack: str, urn: str, name: str) -> Waiver | None:
        for waiver in self.waivers:
            if waiver.matches(rule, stack, urn, name):
                return waiver
        return None


def _location(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(data: object, source: str = "", known_rules: Iterable[str] = ()) -> Waivers:
    """Validate a waiver document; :class:`WaiverError` lists every problem."""
    try:
        parsed = WaiverFile.model_validate(data if data is not None else {})
    except ValidationError as err:
        lines = [f"{source}: {_location(e['loc'])}: {e['msg']}" for e in err.errors()]
        raise WaiverError("\n".join(lines)) from None
    known = set(known_rules)
    problems = []
    seen: dict[tuple[str, str], int] = {}
    for i, waiver in enumerate(parsed.waivers):
        if known and waiver.tool == "policy" and waiver.rule not in known:
            problems.append(
                f"{source}: waivers[{i}].rule: {waiver.rule!r} is neither a policy rule "
                f"({', '.join(sorted(known))}) nor a checkov check id"
            )
        for stack in waiver.stacks:
            key = (waiver.rule, f"{waiver.resource}@{stack}")
            if key in seen:
                problems.append(
                    f"{source}: waivers[{i}]: repeats waivers[{seen[key]}] "
                    f"({waiver.rule} {waiver.resource} in {stack})"
                )
            seen[key] = i
    if problems:
        raise WaiverError("\n".join(problems))
    return Waivers(parsed.waivers, source)


def load(path: Path | str, known_rules: Iterable[str] = ()) -> Waivers:
    """The waivers of a YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise WaiverError(f"{path}: {err}") from None
    return parse(data, str(path), known_rules)


def stub(rule: str, resource: str, stack: str, what: str) -> str:
    """A waiver to fill in and review (its TODOs fail validation until then)."""
    return "\n".join(
        [
            f"  - rule: {rule}",
            f"    resource: {resource}",
            f"    stacks: [{stack}]",
            "    group: accepted-risk  # " + " | ".join(GROUPS),
            '    requirement: "TODO"',
            f'    reason: "TODO: {what.replace(chr(34), chr(39))}"',
            "    acceptedBy: TODO",
        ]
    )
