"""StackDashboard: one CloudWatch dashboard per stack, from the widgets components expose.

PCI DSS 10.4.1 asks for the audit logs and security events to be reviewed; on-call needs one
page showing the whole stack. Each component exposes ``dashboard_widgets``; this lays them
out in reading order on CloudWatch's 24-column grid under a header naming the environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from .core.alarms import Widget
from .core.aws_env import policy_json
from .core.settings import StackContext

#: CloudWatch dashboards are 24 grid columns wide.
GRID_COLUMNS = 24
#: CloudWatch allows at most 500 widgets on one dashboard.
MAX_WIDGETS = 500
HEADER_HEIGHT = 2
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def header_widget(context: StackContext) -> Widget:
    return {
        "type": "text",
        "width": GRID_COLUMNS,
        "height": HEADER_HEIGHT,
        "properties": {
            "markdown": (
                f"# {context.project}: {context.environment}\n"
                f"Owner `{context.owner}`, data classification `{context.data_classification}`. "
                "Alarms notify the stack's alarm topic; security findings the security topic."
            )
        },
    }


def _size(widget: Widget, index: int) -> tuple[int, int]:
    width = widget.get("width", 6)
    height = widget.get("height", 6)
    if not isinstance(width, int) or not 1 <= width <= GRID_COLUMNS:
        raise ValueError(
            f"dashboard widget {index} ({_title(widget)}): width {width!r} must be 1-{GRID_COLUMNS}"
        )
    if not isinstance(height, int) or not 1 <= height <= 1000:
        raise ValueError(
            f"dashboard widget {index} ({_title(widget)}): height {height!r} must be 1-1000"
        )
    return width, height


def _title(widget: Widget) -> str:
    props = widget.get("properties", {})
    title = props.get("title") if isinstance(props, dict) else None
    return title if isinstance(title, str) else str(widget.get("type", "widget"))


def layout(widgets: Sequence[Widget], *, top: int = 0) -> list[Widget]:
    """Place widgets left to right in rows of 24 columns (row height = tallest widget).

    Positions given by the caller are replaced: the grid is computed so that no two widgets
    overlap, whatever set of components the stack holds.
    """
    placed: list[Widget] = []
    x, y, row_height = 0, top, 0
    for index, widget in enumerate(widgets):
        width, height = _size(widget, index)
        if x + width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y, "width": width, "height": height})
        x += width
        row_height = max(row_height, height)
    return placed


def dashboard_body(context: StackContext, widgets: Sequence[Widget]) -> dict[str, Any]:
    """The dashboard body (values may be Outputs); raises ValueError on too many widgets."""
    if len(widgets) + 1 > MAX_WIDGETS:
        raise ValueError(
            f"the stack's dashboard would hold {len(widgets) + 1} widgets (header included); "
            f"CloudWatch allows {MAX_WIDGETS}. Expose fewer dashboard_widgets per component or "
            "split the stack's dashboard"
        )
    header = {**header_widget(context), "x": 0, "y": 0}
    return {
        "start": "-PT6H",
        "periodOverride": "inherit",
        "widgets": [header, *layout(widgets, top=HEADER_HEIGHT)],
    }


class StackDashboard(pulumi.ComponentResource):
    """One CloudWatch dashboard per stack."""

    dashboard_name: pulumi.Output[str]
    dashboard_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        context: StackContext,
        widgets: Sequence[Widget],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        body = dashboard_body(context, widgets)
        dashboard_name = f"{context.project}-{context.environment}"
        if not _NAME.match(dashboard_name):
            raise ValueError(
                f"dashboard name {dashboard_name!r} may hold only letters, digits, - and _; "
                "change the project name"
            )
        super().__init__("payments:index:StackDashboard", name, None, opts)
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=dashboard_name,
            dashboard_body=policy_json(body),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.dashboard_arn = dashboard.dashboard_arn
        self.register_outputs(
            {"dashboard_name": self.dashboard_name, "dashboard_arn": self.dashboard_arn}
        )
