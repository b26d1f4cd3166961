"""Alarms and dashboard widgets, declared as data by every component and built here.

A component's ``alarms.py`` returns :class:`Alarm` values (metric, dimensions, statistic,
threshold and why); :func:`raise_alarms` turns each into one CloudWatch alarm that notifies
the stack's alarm topic (KMS-encrypted, passed in by the stack) on ALARM and on OK, so an
on-call engineer also learns when a problem clears. An alarm on a metric-math expression
(a ratio, a per-node average) gives ``queries`` instead of a single metric.

Components expose the widgets of their key metrics as ``dashboard_widgets``; the stack's
dashboard lays out the widgets of whatever the stack actually contains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .scope import Scope

Comparison = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
MissingData = Literal["missing", "ignore", "breaching", "notBreaching"]

#: A dashboard widget: CloudWatch dashboard body JSON (values may be Outputs).
Widget = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One line of a metric-math alarm: a metric (``metric`` set) or an expression over the
    other lines' ids. Exactly one line has ``returns=True``: the value compared.

    An expression may also be a Metrics Insights query (``insights=True``, ``SELECT ...``),
    which may name a resource known only once it exists; unlike a math expression, it takes
    ``period`` (CloudWatch: "Create a CloudWatch alarm based on a Metrics Insights query")."""

    id: str
    metric: str | None = None
    namespace: str | None = None
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statistic: str = "Average"
    period: int = 300
    expression: pulumi.Input[str] | None = None
    label: str | None = None
    returns: bool = False
    insights: bool = False


@dataclass(frozen=True)
class Alarm:
    """One CloudWatch alarm as data. ``name`` follows the component's name in the logical
    name (``f"{component name}-{name}"``); ``description`` says what broke and why it
    matters, for the engineer paged at night."""

    name: str
    description: str
    threshold: float
    comparison: Comparison
    namespace: str | None = None
    metric: str | None = None
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statistic: str | None = "Average"
    extended_statistic: str | None = None
    period: int = 300
    evaluation_periods: int = 2
    datapoints_to_alarm: int | None = None
    treat_missing_data: MissingData = "missing"
    #: a metric-math alarm: the lines, one of which returns the compared value
    queries: Sequence[Query] = ()

    def __post_init__(self) -> None:
        if bool(self.queries) == bool(self.metric):
            raise ValueError(f"alarm {self.name}: give either a metric or queries, not both")
        if self.queries and sum(q.returns for q in self.queries) != 1:
            raise ValueError(f"alarm {self.name}: exactly one query returns the value")


def _query_args(query: Query) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    if query.expression is not None:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query.id,
            expression=query.expression,
            label=query.label,
            return_data=query.returns,
            period=query.period if query.insights else None,
        )
    if query.metric is None:
        raise ValueError(f"query {query.id}: give a metric or an expression")
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query.id,
        label=query.label,
        return_data=query.returns,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=query.namespace,
            metric_name=query.metric,
            dimensions=dict(query.dimensions),
            period=query.period,
            stat=query.statistic,
        ),
    )


def raise_alarm(
    scope: Scope, alarm: Alarm, topic_arn: pulumi.Input[str]
) -> aws.cloudwatch.MetricAlarm:
    """The alarm, notifying ``topic_arn`` on ALARM and on OK."""
    common: dict[str, Any] = {
        "alarm_description": alarm.description,
        "threshold": alarm.threshold,
        "comparison_operator": alarm.comparison,
        "evaluation_periods": alarm.evaluation_periods,
        "datapoints_to_alarm": alarm.datapoints_to_alarm,
        "treat_missing_data": alarm.treat_missing_data,
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
        "tags": scope.tags(),
        "opts": scope.opts(),
    }
    if alarm.queries:
        return aws.cloudwatch.MetricAlarm(
            f"{scope.name}-{alarm.name}",
            metric_queries=[_query_args(q) for q in alarm.queries],
            **common,
        )
    return aws.cloudwatch.MetricAlarm(
        f"{scope.name}-{alarm.name}",
        namespace=alarm.namespace,
        metric_name=alarm.metric,
        dimensions=dict(alarm.dimensions),
        statistic=None if alarm.extended_statistic else alarm.statistic,
        extended_statistic=alarm.extended_statistic,
        period=alarm.period,
        **common,
    )


def raise_alarms(
    scope: Scope, alarms: Iterable[Alarm], topic_arn: pulumi.Input[str]
) -> list[aws.cloudwatch.MetricAlarm]:
    """Every alarm of ``alarms``; two with the same name are a programming error."""
    built: dict[str, aws.cloudwatch.MetricAlarm] = {}
    for alarm in alarms:
        if alarm.name in built:
            raise ValueError(f"{scope.name}: two alarms are named {alarm.name}")
        built[alarm.name] = raise_alarm(scope, alarm, topic_arn)
    return list(built.values())


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
