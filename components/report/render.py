"""Markdown (with Mermaid), self-contained HTML (inline SVG) and JSON renderings of a report."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .cost import FIXED, FREE, NOT_PRICED, OUTSIDE, USAGE, Estimate
from .graphs import Edge, Graph
from .inventory import InventoryRow
from .svg import render_svg

REGENERATE = "python -m components.report prod nonprod --out docs/reports"


@dataclass
class Report:
    stack: str
    environment: str
    region: str
    resources: int
    network: Graph
    dataflow: Graph
    security_groups: list[dict[str, str]]
    nacls: list[dict[str, str]]
    inventory: list[InventoryRow]
    cost: Estimate
    comparison: dict[str, Any] | None = None


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _unit_price(value: float | None) -> str:
    return usd(value) if value is None or value >= 0.01 else f"${value:.7f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


# --- Mermaid ----------------------------------------------------------------------------------


def _mermaid_text(label: str) -> str:
    return label.replace('"', "#quot;")


def _encryption(edge: Edge) -> str:
    if edge.encrypted is True:
        return "🔒 "
    if edge.encrypted is False:
        return "⚠ plaintext: "
    return ""


def mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    children: dict[str, list[str]] = {}
    for g in graph.groups:
        children.setdefault(g.parent, []).append(f"g:{g.id}")
    for n in graph.nodes:
        children.setdefault(n.group, []).append(f"n:{n.id}")
    groups = {g.id: g for g in graph.groups}
    nodes = {n.id: n for n in graph.nodes}

    def emit(parent: str, depth: int) -> None:
        pad = "  " * depth
        for item in children.get(parent, []):
            kind, _, id_ = item.partition(":")
            if kind == "g":
                lines.append(f'{pad}subgraph g_{id_}["{_mermaid_text(groups[id_].label)}"]')
                emit(id_, depth + 1)
                lines.append(f"{pad}end")
            else:
                n = nodes[id_]
                shape = (
                    ('(["', '"])') if n.kind in ("external", "range", "device") else ('["', '"]')
                )
                lines.append(f"{pad}n_{id_}{shape[0]}{_mermaid_text(n.label)}{shape[1]}")

    emit("", 1)
    ref = {g.id: f"g_{g.id}" for g in graph.groups} | {n.id: f"n_{n.id}" for n in graph.nodes}
    for e in graph.edges:
        arrow = (
            {True: "==>", False: "-.->"}.get(e.encrypted, "-->")
            if e.encrypted is not None
            else "-->"
        )
        label = _mermaid_text(_encryption(e) + e.label)
        lines.append(f'  {ref[e.source]} {arrow}|"{label}"| {ref[e.target]}')
    return "\n".join(lines)


# --- Markdown ---------------------------------------------------------------------------------


def _summary(r: Report) -> list[str]:
    cde = sum(1 for row in r.inventory if row.classification == "cde")
    internet = sum(
        1
        for row in r.inventory
        if row.reachable.startswith("internet") or "; internet" in row.reachable
    )
    onprem = sum(1 for row in r.inventory if "on-prem" in row.reachable)
    protected = sum(1 for row in r.inventory if row.protect)
    plaintext = [e for e in r.dataflow.edges if e.encrypted is False]
    c = r.cost
    return table(
        ["fact", "value"],
        [
            ["resources planned", r.resources],
            ["classified `cde`", cde],
            ["reachable from the internet (through security groups)", internet],
            ["reachable from on-prem ranges", onprem],
            ["protected (`protect`)", protected],
            ["data-flow edges not encrypted in transit", len(plaintext)],
            [
                "monthly estimate, fixed charges",
                f"{usd(c.total(FIXED))} (lines priced from the table)",
            ],
            ["monthly estimate, usage under stated assumptions", usd(c.total(USAGE))],
            ["lines not priced", len(c.not_priced())],
        ],
    )


def _edges_table(graph: Graph) -> list[str]:
    names = {n.id: n.label.split("<br/>")[0] for n in graph.nodes} | {
        g.id: g.label for g in graph.groups
    }
    rows = [
        [
            names[e.source],
            names[e.target],
            e.label,
            {True: "yes", False: "**no**", None: "-"}[e.encrypted],
            e.detail,
        ]
        for e in graph.edges
    ]
    return table(
        ["from", "to", "flow", "encrypted in transit", "how (from the resources' inputs)"], rows
    )


def _cost_section(c: Estimate, comparison: dict[str, Any] | None) -> list[str]:
    t = c.table
    out = [
        "## Monthly cost estimate",
        "",
        f"On-demand prices for **{t.region}** from the price table shipped with the package "
        f"(`components/report/prices/{t.region}.json`, compiled {t.generated}, method: {t.method}; "
        "sources below). Hours per month: "
        f"{t.hours_per_month:g}. **Fixed** lines are billed whether used or not and make the "
        "total; **usage** lines depend on traffic and are shown with the assumption they use; "
        "lines **not priced** say why (never a guessed price). Taxes, support plans, data transfer "
        "out and Savings Plans or reservations are not included.",
        "",
        f"**Fixed monthly total: {usd(c.total(FIXED))}**, plus {usd(c.total(USAGE))} of usage "
        f"under the stated assumptions, plus {usd(c.total(OUTSIDE))} billed outside the stack; "
        f"{len(c.not_priced())} lines not priced (below), so the real bill is higher.",
        "",
        "### Per component",
        "",
    ]
    out += table(
        ["component", "fixed / month", "usage / month (assumed)", "lines not priced"],
        [
            [k, usd(v[FIXED]), usd(v[USAGE]), int(v[NOT_PRICED])]
            for k, v in c.by_component().items()
        ],
    )
    if comparison:
        out += ["", "### Nonprod to prod", ""]
        out += table(
            ["stack", "environment", "fixed / month", "ratio to prod (fixed)"],
            [
                [s["stack"], s["environment"], usd(s["fixed"]), s.get("ratio", "-")]
                for s in comparison["stacks"]
            ],
        )
        out += ["", comparison["note"]]
    out += ["", "### Priced lines", ""]
    out += table(
        ["component", "resource", "item", "basis", "quantity", "unit price", "per month", "note"],
        [
            [
                x.component,
                x.resource,
                x.item,
                x.basis,
                f"{x.quantity:,.6g}",
                f"{_unit_price(x.unit_usd)} / {x.unit}",
                usd(x.monthly_usd),
                x.note,
            ]
            for x in c.lines
            if x.basis in (FIXED, USAGE, OUTSIDE)
        ],
    )
    out += ["", "### Not priced", ""]
    out += table(
        ["component", "resource", "type", "item", "why"],
        [[x.component, x.resource, x.type, x.item, x.note] for x in c.not_priced()],
    )
    free: dict[tuple[str, str], int] = {}
    for x in c.lines:
        if x.basis == FREE:
            free.setdefault((x.type, x.note), 0)
            free[(x.type, x.note)] += 1
    out += ["", "### No charge of their own", ""]
    out += table(["type", "count", "why"], [[k[0], n, k[1]] for k, n in sorted(free.items())])
    out += ["", "### Assumptions", ""]
    out += table(
        ["assumption", "value", "why"],
        [[k, f"{v:g}", why] for k, (v, why) in sorted(t.assumptions.items())],
    )
    out += ["", "### Price table", "", t.note, ""]
    out += table(
        ["price", "USD", "unit", "usage type", "applies to", "evidence"],
        [
            [p.key, f"{p.usd:g}", p.unit, p.usage_type, p.scope, "; ".join(p.evidence)]
            for p in t.prices.values()
        ],
    )
    out += ["", "Sources: " + ", ".join(t.source)]
    return out


def markdown(r: Report) -> str:
    out = [
        f"# Reviewer's report: stack `{r.stack}` ({r.environment}, {r.region})",
        "",
        f"<!-- generated from the offline plan by `{REGENERATE}`; do not edit by hand -->",
        "",
        "Generated from the offline plan alone (`python -m components.plan`): what the stack "
        "would create, not what is deployed. Every box and arrow below traces to resources of "
        "the plan (their URNs are in the JSON report). The HTML report shows the same diagrams "
        "as pictures, offline.",
        "",
        "## Summary",
        "",
        *_summary(r),
        "",
        "## Network diagram (PCI DSS 1.2.3)",
        "",
        "The VPC, its tiers and subnets per AZ, the gateways, NAT, endpoints, VPN and Direct "
        "Connect links, the on-prem ranges the security groups admit, and the routes each "
        "subnet takes out.",
        "",
        "```mermaid",
        mermaid(r.network),
        "```",
        "",
        "### Security group rules",
        "",
        *table(
            ["security group", "direction", "peer", "ports", "rule"],
            [
                [x["group"], x["direction"], x["peer"], x["ports"], x["rule"]]
                for x in r.security_groups
            ],
        ),
        "",
        "### Network ACL rules",
        "",
        *table(
            ["NACL", "direction", "rule", "action", "peer", "ports"],
            [
                [x["nacl"], x["direction"], x["rule"], x["action"], x["peer"], x["ports"]]
                for x in r.nacls
            ],
        ),
        "",
        "## Card-data flow diagram (PCI DSS 1.2.4)",
        "",
        "From the internet through WAF and the load balancers to the app tier and each data "
        "store, the on-prem links and DMS replication. 🔒 (thick arrow): encrypted in transit as "
        "configured; ⚠ (dotted arrow): not encrypted in transit.",
        "",
        "```mermaid",
        mermaid(r.dataflow),
        "```",
        "",
        *_edges_table(r.dataflow),
        "",
        "## Inventory of system components (PCI DSS 12.5.1)",
        "",
        "Reachability follows security groups (directly, or through the groups they admit); "
        "routes and NACLs narrow it further (see above). Key: the KMS key (logical name) that "
        "encrypts the resource's data.",
        "",
        *table(
            [
                "component",
                "type",
                "name",
                "classification",
                "encryption key",
                "reachable from",
                "protect",
            ],
            [
                [
                    x.component,
                    x.type,
                    x.name,
                    x.classification,
                    x.key,
                    x.reachable,
                    "yes" if x.protect else "",
                ]
                for x in r.inventory
            ],
        ),
        "",
        *_cost_section(r.cost, r.comparison),
        "",
    ]
    return "\n".join(out)


# --- HTML -------------------------------------------------------------------------------------


def _html_table(lines: list[str]) -> str:
    """A Markdown table (as :func:`table` writes it) as HTML."""
    if not lines:
        return ""
    rows = [[c.strip().replace("\\|", "|") for c in line.strip("|").split(" | ")] for line in lines]
    head, body = rows[0], rows[2:]
    out = [
        "<table><thead><tr>",
        *(f"<th>{html.escape(h.strip())}</th>" for h in head),
        "</tr></thead><tbody>",
    ]
    for row in body:
        out.append("<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def html_page(r: Report) -> str:
    md = markdown(r)
    sections: list[str] = []
    block: list[str] = []
    in_code = False

    def flush() -> None:
        if block:
            sections.append(_html_table(block))
            block.clear()

    graphs = iter([r.network, r.dataflow])
    for line in md.splitlines():
        if line.startswith("```"):
            if not in_code:
                flush()
                sections.append(f"<figure>{render_svg(next(graphs))}</figure>")
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("|"):
            block.append(line)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            sections.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("<!--"):
            sections.append(line)
        elif line.strip():
            sections.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    flush()
    style = (
        "body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1800px}"
        "table{border-collapse:collapse;margin:8px 0 16px;font-size:12px}"
        "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
        "th{background:#f2f2f2}"
        "figure{overflow-x:auto;border:1px solid #ddd;padding:8px;margin:8px 0}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(r.stack)}: reviewer's "
        f"report</title><style>{style}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


# --- JSON -------------------------------------------------------------------------------------


def to_json(r: Report) -> str:
    doc = {
        "stack": r.stack,
        "environment": r.environment,
        "region": r.region,
        "resources": r.resources,
        "network": r.network.to_json(),
        "dataflow": r.dataflow.to_json(),
        "securityGroupRules": r.security_groups,
        "naclRules": r.nacls,
        "inventory": [asdict(x) for x in r.inventory],
        "cost": r.cost.to_json(),
        "comparison": r.comparison,
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"
