"""``python -m components.report <stack> [<stack> ...] [--project-dir DIR] [--json]
[--out DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..plan import PlanError, plan_stack
from . import build_report, compare, html_page, markdown, to_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.report",
        description="Network and data-flow diagrams, inventory and monthly cost of planned "
        "stacks, from the offline plan alone (no Pulumi CLI, no AWS).",
    )
    parser.add_argument("stacks", nargs="+", help="stack names: reads Pulumi.<stack>.yaml")
    parser.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--out", help="write <stack>.md, <stack>.html and <stack>.json here")
    parser.add_argument("--prices", help="directory of price tables (default: the package's)")
    args = parser.parse_args(argv)
    reports = []
    for stack in args.stacks:
        try:
            plan = plan_stack(stack, args.project_dir)
        except PlanError as err:
            print(f"error: {stack}: {err}", file=sys.stderr)
            return 2
        reports.append(
            build_report(plan, stack, prices_dir=Path(args.prices) if args.prices else None)
        )
    compare(reports)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for r in reports:
            (out / f"{r.stack}.md").write_text(markdown(r))
            (out / f"{r.stack}.html").write_text(html_page(r))
            (out / f"{r.stack}.json").write_text(to_json(r))
            print(f"wrote {out / r.stack}.md, .html, .json")
        return 0
    for r in reports:
        sys.stdout.write(to_json(r) if args.json else markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
