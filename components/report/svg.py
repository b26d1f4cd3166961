"""Draw a :class:`Graph` as an inline SVG picture, with no script and no network.

Why our own drawing rather than a vendored Mermaid: the HTML report must show the
diagrams offline, in a reviewer's browser or an evidence archive, without running
JavaScript from a third party; Mermaid's bundle is about 3 MB of code to vendor, review and
keep patched. The graph model is small and already structured (nested groups, nodes,
labelled edges), so a layered left-to-right layout of nested boxes is enough, and it is
drawn from the very same model the Mermaid text is written from.

Layout: each leaf node gets a rank (longest path along the edges, cycles cut); inside every
group, children sit in columns by rank and stack within a column; a group's box wraps its
children. Edges are curves from the source box to the target box, coloured by encryption.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field

from .graphs import Edge, Graph

NODE_W = 230
LINE_H = 15
PAD = 14
GAP_X = 70
GAP_Y = 14
HEAD = 22

FILL = {
    "external": "#fde2e2",
    "range": "#fde2e2",
    "device": "#fde2e2",
    "lb": "#dcecff",
    "waf": "#ffe7c2",
    "app": "#dff3df",
    "store": "#ece2ff",
    "dms": "#fff3c4",
    "gateway": "#eeeeee",
    "subnet": "#f4f8ff",
    "endpoint": "#f0f0f0",
}


@dataclass
class Box:
    id: str
    lines: list[str]
    kind: str
    is_group: bool
    children: list[Box] = field(default_factory=list)
    rank: int = 0
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0


def _lines(label: str, width: int = 34) -> list[str]:
    out: list[str] = []
    for part in label.split("<br/>"):
        out += textwrap.wrap(part, width) or [""]
    return out


def _ranks(graph: Graph) -> dict[str, int]:
    node_ids = {n.id for n in graph.nodes}
    edges = [
        (e.source, e.target)
        for e in graph.edges
        if e.source in node_ids and e.target in node_ids and e.source != e.target
    ]
    rank = dict.fromkeys(sorted(node_ids), 0)
    for _ in range(len(node_ids)):
        changed = False
        for s, t in edges:
            if rank[t] < rank[s] + 1 and rank[s] + 1 < len(node_ids):
                rank[t] = rank[s] + 1
                changed = True
        if not changed:
            break
    return rank


def _tree(graph: Graph) -> list[Box]:
    rank = _ranks(graph)
    boxes: dict[str, Box] = {}
    for g in graph.groups:
        boxes[g.id] = Box(g.id, _lines(g.label, 60), "group", True)
    for n in graph.nodes:
        boxes[n.id] = Box(n.id, _lines(n.label), n.kind, False, rank=rank.get(n.id, 0))
    roots: list[Box] = []
    for g in graph.groups:
        (boxes[g.parent].children if g.parent in boxes else roots).append(boxes[g.id])
    for n in graph.nodes:
        (boxes[n.group].children if n.group in boxes else roots).append(boxes[n.id])

    def settle(box: Box) -> int:
        if box.is_group:
            ranks = [settle(c) for c in box.children]
            box.rank = min(ranks) if ranks else 0
        return box.rank

    for r in roots:
        settle(r)
    return roots


def _size(box: Box) -> None:
    if not box.is_group:
        box.w, box.h = NODE_W, PAD + LINE_H * len(box.lines)
        return
    for c in box.children:
        _size(c)
    columns = _columns(box.children)
    width = sum(max(c.w for c in col) for col in columns) + GAP_X * max(0, len(columns) - 1)
    height = max((sum(c.h for c in col) + GAP_Y * (len(col) - 1) for col in columns), default=0)
    box.w = max(width + 2 * PAD, 8 * max(len(line) for line in box.lines) + 2 * PAD)
    box.h = height + 2 * PAD + HEAD * len(box.lines)


def _columns(items: list[Box]) -> list[list[Box]]:
    by_rank: dict[int, list[Box]] = {}
    for item in items:
        by_rank.setdefault(item.rank, []).append(item)
    return [by_rank[r] for r in sorted(by_rank)]


def _place(box: Box, x: float, y: float) -> None:
    box.x, box.y = x, y
    if not box.is_group:
        return
    cx = x + PAD
    for col in _columns(box.children):
        cy = y + PAD + HEAD * len(box.lines)
        for c in col:
            _place(c, cx, cy)
            cy += c.h + GAP_Y
        cx += max(c.w for c in col) + GAP_X


def _all(boxes: list[Box]) -> list[Box]:
    out: list[Box] = []
    for b in boxes:
        out.append(b)
        out += _all(b.children)
    return out


def _edge_path(a: Box, b: Box) -> tuple[str, float, float]:
    if a.x + a.w <= b.x:
        x1, x2 = a.x + a.w, b.x
    elif b.x + b.w <= a.x:
        x1, x2 = a.x, b.x + b.w
    else:
        x1, x2 = a.x + a.w, b.x + b.w
    y1, y2 = a.y + a.h / 2, b.y + b.h / 2
    bend = max(40.0, abs(x2 - x1) / 2)
    c1 = x1 + (bend if x1 <= x2 or x1 == a.x + a.w else -bend)
    c2 = x2 - (bend if x1 <= x2 else -bend)
    return (
        f"M{x1:.0f},{y1:.0f} C{c1:.0f},{y1:.0f} {c2:.0f},{y2:.0f} {x2:.0f},{y2:.0f}",
        (x1 + x2) / 2,
        (y1 + y2) / 2,
    )


def _colour(edge: Edge) -> tuple[str, str]:
    if edge.encrypted is True:
        return "#2e7d32", ""
    if edge.encrypted is False:
        return "#c62828", ' stroke-dasharray="6 4"'
    return "#777777", ""


def render_svg(graph: Graph) -> str:
    roots = _tree(graph)
    for r in roots:
        _size(r)
    x: float = PAD
    for col in _columns(roots):
        y: float = PAD
        for r in col:
            _place(r, x, y)
            y += r.h + GAP_Y * 2
        x += max(r.w for r in col) + GAP_X
    boxes = {b.id: b for b in _all(roots)}
    width = max((b.x + b.w for b in boxes.values()), default=0) + PAD
    height = max((b.y + b.h for b in boxes.values()), default=0) + PAD
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{html.escape(graph.title)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{n}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{c}"/></marker>'
            for n, c in (("ok", "#2e7d32"), ("bad", "#c62828"), ("none", "#777777"))
        )
        + "</defs>",
    ]
    for b in _all(roots):
        title = html.escape(b.id)
        if b.is_group:
            out.append(
                f'<g data-id="{title}"><rect x="{b.x:.0f}" y="{b.y:.0f}" width="{b.w:.0f}" '
                f'height="{b.h:.0f}" rx="8" fill="none" stroke="#8a8a8a" stroke-width="1.2"/>'
            )
            for i, line in enumerate(b.lines):
                out.append(
                    f'<text x="{b.x + PAD:.0f}" y="{b.y + 16 + i * HEAD:.0f}" '
                    f'font-weight="bold">{html.escape(line)}</text>'
                )
            out.append("</g>")
        else:
            out.append(
                f'<g data-id="{title}"><rect x="{b.x:.0f}" y="{b.y:.0f}" width="{b.w:.0f}" '
                f'height="{b.h:.0f}" rx="5" fill="{FILL.get(b.kind, "#ffffff")}" stroke="#555555"/>'
            )
            for i, line in enumerate(b.lines):
                out.append(
                    f'<text x="{b.x + 8:.0f}" '
                    f'y="{b.y + PAD + 2 + i * LINE_H:.0f}">{html.escape(line)}</text>'
                )
            out.append("</g>")
    for e in graph.edges:
        if e.source not in boxes or e.target not in boxes:
            continue
        path, mx, my = _edge_path(boxes[e.source], boxes[e.target])
        colour, dash = _colour(e)
        marker = {"#2e7d32": "ok", "#c62828": "bad"}.get(colour, "none")
        label = html.escape(e.label)
        tip = html.escape(e.detail or e.label)
        out.append(
            f'<g data-edge="{html.escape(e.source)}->{html.escape(e.target)}"><title>{tip}</title>'
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
            f'marker-end="url(#arrow-{marker})"/>'
            f'<text x="{mx:.0f}" y="{my - 4:.0f}" text-anchor="middle" font-size="10.5" '
            f'fill="{colour}" '
            f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{label}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)
