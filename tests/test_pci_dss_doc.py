"""docs/pci-dss.md names resources an assessor can find in the plan: every logical name it
cites exists in the offline plan of its stack, every requirement 1-12 has its section, and
the README links to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.testing import Plan

from conftest import StackPlanner

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "pci-dss.md"
#: prefix of a cited name -> the stack whose plan holds it (the apps are prod's)
STACK_OF_PREFIX = {"prod-": "prod", "loyalty-": "prod", "mmf-": "prod", "management-": "management"}


def cited_names(text: str) -> dict[str, set[str]]:
    """Backticked logical names by stack: `prod-trail`, `loyalty-waf`, `management-archive`."""
    cited: dict[str, set[str]] = {}
    for token in re.findall(r"`([a-z0-9][a-z0-9-]*)`", text):
        for prefix, stack in STACK_OF_PREFIX.items():
            if token.startswith(prefix):
                cited.setdefault(stack, set()).add(token)
    return cited


def names(plan: Plan) -> set[str]:
    return {r.name for r in plan}


def test_cited_names_are_found_by_stack() -> None:
    found = cited_names("`prod-trail` and `loyalty-waf`, `management-archive`; not `prod`")
    assert found == {"prod": {"prod-trail", "loyalty-waf"}, "management": {"management-archive"}}


@pytest.mark.parametrize("stack", ["prod", "management"])
def test_every_resource_the_page_cites_is_in_the_plan_of_its_stack(
    stack: str, stack_plan: StackPlanner
) -> None:
    cited = cited_names(DOC.read_text()).get(stack, set())
    assert len(cited) >= (60 if stack == "prod" else 8), sorted(cited)
    assert cited - names(stack_plan(stack)) == set()


def test_every_requirement_has_its_section_and_the_readme_links_the_page() -> None:
    text = DOC.read_text()
    headings = re.findall(r"^## Requirement (\d+):", text, flags=re.M)
    assert headings == [str(n) for n in range(1, 13)]
    assert "docs/pci-dss.md" in (ROOT / "README.md").read_text()
