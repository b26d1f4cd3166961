"""StackDashboard: on-call sees every component's widgets on one readable page."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.core.alarms import Widget, metric_widget
from components.core.settings import StackContext
from components.dashboard import GRID_COLUMNS, MAX_WIDGETS, StackDashboard
from components.testing import Plan, run_offline

PROD = StackContext(environment="prod")


def widgets(sizes: list[tuple[int, int]]) -> list[Widget]:
    return [
        {
            "type": "metric",
            "width": w,
            "height": h,
            "properties": {"title": f"w{i}", "metrics": [["AWS/EC2", "CPUUtilization"]]},
        }
        for i, (w, h) in enumerate(sizes)
    ]


def build(items: list[Widget], context: StackContext = PROD) -> tuple[Plan, list[Exception]]:
    errors: list[Exception] = []

    def program() -> None:
        try:
            StackDashboard(context.environment, context=context, widgets=items)
        except ValueError as exc:
            errors.append(exc)

    return run_offline(program), errors


def body_of(plan: Plan) -> dict[str, Any]:
    dashboards = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert len(dashboards) == 1
    return dict(json.loads(dashboards[0].inputs["dashboardBody"]))


SIZES = [(12, 6), (12, 6), (6, 3), (8, 6), (8, 4), (24, 2), (5, 6), (20, 6), (1, 1), (24, 6)]


@pytest.fixture(scope="module")
def mixed() -> Plan:
    items = widgets(SIZES)
    items.append(
        metric_widget(
            "from an output",
            [
                [
                    "AWS/SNS",
                    "NumberOfNotificationsFailed",
                    "TopicName",
                    pulumi.Output.from_input("t1"),
                ]
            ],
            region=pulumi.Output.from_input("ap-southeast-1"),
        )
    )
    return build(items)[0]


def test_every_widget_is_on_the_dashboard_below_a_header_naming_the_environment(
    mixed: Plan,
) -> None:
    body = body_of(mixed)
    header, *rest = body["widgets"]
    assert header["type"] == "text" and "prod" in header["properties"]["markdown"]
    assert (header["x"], header["y"], header["width"]) == (0, 0, GRID_COLUMNS)
    titles = [w["properties"]["title"] for w in rest]
    assert titles == [f"w{i}" for i in range(len(SIZES))] + ["from an output"]
    # Outputs inside widgets are resolved into the body, not left as placeholders
    assert rest[-1]["properties"]["metrics"][0][3] == "t1"
    assert rest[-1]["properties"]["region"] == "ap-southeast-1"
    dashboard = mixed.of_type("aws:cloudwatch/dashboard:Dashboard")[0]
    assert dashboard.inputs["dashboardName"] == "payments-platform-prod"
    assert dashboard.parent == mixed.of_type("payments:index:StackDashboard")[0].urn


def test_no_two_widgets_overlap_and_all_fit_in_24_columns(mixed: Plan) -> None:
    placed = body_of(mixed)["widgets"]
    cells: set[tuple[int, int]] = set()
    for w in placed:
        assert w["x"] >= 0 and w["x"] + w["width"] <= GRID_COLUMNS, w
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"overlap at {(x, y)}: {w}"
                cells.add((x, y))
    # packed in reading order: two 12-wide widgets share the first row under the header
    assert [(w["x"], w["y"]) for w in placed[1:3]] == [(0, 2), (12, 2)]


def test_an_empty_stack_gets_just_the_header() -> None:
    plan, errors = build([], StackContext(environment="nonprod"))
    assert not errors
    body = body_of(plan)
    assert len(body["widgets"]) == 1
    assert "nonprod" in body["widgets"][0]["properties"]["markdown"]
    assert plan.of_type("aws:cloudwatch/dashboard:Dashboard")[0].inputs["dashboardName"] == (
        "payments-platform-nonprod"
    )


def test_more_widgets_than_cloudwatch_allows_fail_clearly_and_register_nothing() -> None:
    plan, errors = build(widgets([(6, 6)] * MAX_WIDGETS))
    assert len(errors) == 1
    assert f"{MAX_WIDGETS + 1} widgets" in str(errors[0]) and str(MAX_WIDGETS) in str(errors[0])
    assert len(plan) == 0


def test_the_largest_allowed_dashboard_is_accepted() -> None:
    plan, errors = build(widgets([(6, 6)] * (MAX_WIDGETS - 1)))
    assert not errors
    assert len(body_of(plan)["widgets"]) == MAX_WIDGETS


def test_a_widget_wider_than_the_grid_fails_naming_it_and_registers_nothing() -> None:
    plan, errors = build(widgets([(12, 6), (30, 6)]))
    assert len(errors) == 1 and "w1" in str(errors[0]) and "width 30" in str(errors[0])
    assert len(plan) == 0
