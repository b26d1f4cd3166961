"""Alarms and dashboard widgets, built the same way by every component.

Every alarm notifies the stack's alarm topic (passed in by the stack, KMS-encrypted) on
ALARM and on OK, so an on-call engineer also learns when a problem clears. Components expose
the widgets of their key metrics as ``dashboard_widgets``; the stack's dashboard lays out
the widgets of whatever the stack actually contains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .base import StackContext, child_opts

Comparison = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]

#: A dashboard widget: CloudWatch dashboard body JSON (values may be Outputs).
Widget = dict[str, Any]


def metric_alarm(
    name: str,
    *,
    parent: pulumi.Resource,
    context: StackContext,
    component: str,
    topic_arn: pulumi.Input[str],
    description: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    threshold: float,
    comparison: Comparison,
    statistic: str | None = "Average",
    extended_statistic: str | None = None,
    period: int = 300,
    evaluation_periods: int = 2,
    datapoints_to_alarm: int | None = None,
    treat_missing_data: Literal["missing", "ignore", "breaching", "notBreaching"] = "missing",
) -> aws.cloudwatch.MetricAlarm:
    """One CloudWatch alarm that notifies the stack topic on ALARM and OK."""
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dict(dimensions),
        statistic=None if extended_statistic else statistic,
        extended_statistic=extended_statistic,
        period=period,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data=treat_missing_data,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags=context.tags(component),
        opts=child_opts(parent),
    )


def metric_widget(
    title: str,
    metrics: Sequence[Sequence[pulumi.Input[str] | dict[str, Any]]],
    *,
    region: pulumi.Input[str],
    stat: str = "Average",
    period: int = 300,
    width: int = 12,
    height: int = 6,
) -> Widget:
    """A line-graph widget; ``metrics`` uses CloudWatch's array form
    ``[namespace, metric, dim, value, ...]``."""
    return {
        "type": "metric",
        "width": width,
        "height": height,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "stat": stat,
            "period": period,
            "metrics": [list(m) for m in metrics],
        },
    }
