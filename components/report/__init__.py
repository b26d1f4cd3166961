"""Reports for reviewers, from the offline plan alone.

    python -m components.report prod                       # Markdown (Mermaid) to stdout
    python -m components.report prod --json                # the same, for machines
    python -m components.report prod nonprod --out docs/reports   # .md, .html, .json each
    python -m components.report dev --project-dir ../orders  # another team's program

For any program ``components.plan`` can plan: a network diagram (PCI DSS 1.2.3), a card-data
flow diagram with encryption in transit on each edge (1.2.4), an inventory of system
components (12.5.1) and a monthly cost estimate per component from the region's price table
(``prices/<region>.json``), with the nonprod-to-prod ratio when both stacks are given. The
HTML page draws the diagrams as inline SVG, so it needs no network and runs no script.
"""

from __future__ import annotations

from pathlib import Path

from ..testing import Plan
from .cost import Estimate, PriceTable, estimate, price_table, ratio
from .graphs import Graph, dataflow_graph, nacl_rows, network_graph, security_group_rows
from .inventory import inventory
from .plan_index import PlanIndex
from .render import REGENERATE, Report, html_page, markdown, mermaid, to_json

__all__ = [
    "REGENERATE",
    "Estimate",
    "Graph",
    "PriceTable",
    "Report",
    "build_report",
    "compare",
    "html_page",
    "markdown",
    "mermaid",
    "price_table",
    "to_json",
]


def build_report(
    plan: Plan, stack: str, *, table: PriceTable | None = None, prices_dir: Path | None = None
) -> Report:
    """The report of one planned stack (its region's price table unless ``table`` is given)."""
    idx = PlanIndex(plan, stack)
    table = table or price_table(idx.region or "ap-southeast-1", prices_dir)
    return Report(
        stack=stack,
        environment=idx.environment,
        region=idx.region or table.region,
        resources=len(idx.resources),
        network=network_graph(idx),
        dataflow=dataflow_graph(idx),
        security_groups=security_group_rows(idx),
        nacls=nacl_rows(idx),
        inventory=inventory(idx),
        cost=estimate(idx, table),
    )


def compare(reports: list[Report]) -> None:
    """Give every report the comparison of all of them (nonprod-to-prod ratio)."""
    ratios = ratio([r.cost for r in reports]) or {}
    if len(reports) < 2:
        return
    comparison = {
        "stacks": [
            {
                "stack": r.stack,
                "environment": r.environment,
                "fixed": r.cost.total(),
                **({"ratio": ratios[r.stack]} if r.stack in ratios else {}),
            }
            for r in reports
        ],
        "note": "The ratio compares the fixed monthly charges the price table could price; "
        "what it could not price counts in neither stack (here: "
        + ", ".join(sorted({x.type for r in reports for x in r.cost.not_priced()}))
        + "), so the ratio describes the priced part only.",
    }
    for r in reports:
        r.comparison = comparison
