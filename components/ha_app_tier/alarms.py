"""The alarms and dashboard widgets of one HaAppTier, as data.

Every alarm notifies the stack's alarm topic on ALARM and on OK (``raise_alarms``); its
logical name is ``f"{app}-{alarm.name}"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..core.alarms import Alarm, Widget, metric_widget
from .settings import HaAppTierSettings

ALB = "AWS/ApplicationELB"
AUTO_SCALING = "AWS/AutoScaling"


@dataclass(frozen=True)
class Monitored:
    """The ids the app's metrics are published under."""

    load_balancer: pulumi.Output[str]  # the ALB's ARN suffix (app/<name>/<id>)
    target_group: pulumi.Output[str]  # the target group's ARN suffix
    asg_name: pulumi.Output[str]


def app_alarms(name: str, settings: HaAppTierSettings, ids: Monitored) -> list[Alarm]:
    """Users get errors (ALB or app 5xx), hosts fail health checks, the app is slow, or the
    group runs fewer instances than ``min_size``."""
    thresholds = settings.alarms
    lb = {"LoadBalancer": ids.load_balancer}
    tg = {"LoadBalancer": ids.load_balancer, "TargetGroup": ids.target_group}
    return [
        Alarm(
            name="alb-5xx",
            description=f"{name}: the ALB returns 5xx (no healthy target, or ALB errors)",
            namespace=ALB,
            metric="HTTPCode_ELB_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            threshold=thresholds.elb_5xx_per_5_minutes,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            treat_missing_data="notBreaching",
        ),
        Alarm(
            name="target-5xx",
            description=f"{name}: the application returns 5xx",
            namespace=ALB,
            metric="HTTPCode_Target_5XX_Count",
            dimensions=tg,
            statistic="Sum",
            threshold=thresholds.target_5xx_per_5_minutes,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            treat_missing_data="notBreaching",
        ),
        Alarm(
            name="unhealthy-hosts",
            description=f"{name}: at least one target fails its health check",
            namespace=ALB,
            metric="UnHealthyHostCount",
            dimensions=tg,
            statistic="Maximum",
            threshold=0,
            comparison="GreaterThanThreshold",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        ),
        Alarm(
            name="latency-p99",
            description=f"{name}: p99 response time above {thresholds.p99_latency_seconds}s",
            namespace=ALB,
            metric="TargetResponseTime",
            dimensions=tg,
            extended_statistic="p99",
            threshold=thresholds.p99_latency_seconds,
            comparison="GreaterThanThreshold",
            period=300,
            evaluation_periods=2,
            treat_missing_data="notBreaching",
        ),
        Alarm(
            name="in-service",
            description=f"{name}: fewer in-service instances than minSize ({settings.min_size})",
            namespace=AUTO_SCALING,
            metric="GroupInServiceInstances",
            dimensions={"AutoScalingGroupName": ids.asg_name},
            statistic="Minimum",
            threshold=settings.min_size,
            comparison="LessThanThreshold",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=5,
            # No data means the group is gone or metrics stopped: page someone.
            treat_missing_data="breaching",
        ),
    ]


def app_widgets(name: str, ids: Monitored, region: pulumi.Input[str]) -> list[Widget]:
    """Requests, 5xx, p99 latency, healthy hosts, in-service instances and CPU."""
    alb: list[pulumi.Input[str]] = ["LoadBalancer", ids.load_balancer]
    tg: list[pulumi.Input[str]] = [*alb, "TargetGroup", ids.target_group]
    asg: list[pulumi.Input[str]] = ["AutoScalingGroupName", ids.asg_name]
    return [
        metric_widget(f"{name} requests", [[ALB, "RequestCount", *alb]], region=region, stat="Sum"),
        metric_widget(
            f"{name} 5xx",
            [[ALB, "HTTPCode_ELB_5XX_Count", *alb], [ALB, "HTTPCode_Target_5XX_Count", *tg]],
            region=region,
            stat="Sum",
        ),
        metric_widget(
            f"{name} latency p99", [[ALB, "TargetResponseTime", *tg]], region=region, stat="p99"
        ),
        metric_widget(
            f"{name} healthy hosts",
            [[ALB, "HealthyHostCount", *tg], [ALB, "UnHealthyHostCount", *tg]],
            region=region,
            stat="Minimum",
        ),
        metric_widget(
            f"{name} in-service instances",
            [[AUTO_SCALING, "GroupInServiceInstances", *asg]],
            region=region,
            stat="Minimum",
        ),
        metric_widget(
            f"{name} CPU", [["AWS/EC2", "CPUUtilization", *asg]], region=region, stat="Average"
        ),
    ]
