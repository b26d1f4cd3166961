"""The alarms and dashboard widgets of one HaAppTier, as data.

Every alarm notifies the stack's alarm topic on ALARM and on OK (``raise_alarms``); its
logical name is ``f"{app}-{alarm.name}"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from ..core.alarms import Alarm, Widget, metric_widget
from .host import FIM_CHECKS_METRIC, FIM_FINDINGS_METRIC
from .settings import HaAppTierSettings

ALB = "AWS/ApplicationELB"
AUTO_SCALING = "AWS/AutoScaling"
WAF = "AWS/WAFV2"
#: The Rule dimension value of a web ACL's totals over all its rules.
WAF_ALL_RULES = "ALL"
DAY = 86400
#: CloudWatch evaluates a metric alarm over at most 7 days (Period x EvaluationPeriods).
MAX_EVALUATION_DAYS = 7


@dataclass(frozen=True)
class Monitored:
    """The ids the app's metrics are published under."""

    load_balancer: pulumi.Output[str]  # the ALB's ARN suffix (app/<name>/<id>)
    target_group: pulumi.Output[str]  # the target group's ARN suffix
    asg_name: pulumi.Output[str]
    region: pulumi.Input[str] = ""
    #: the web ACL's name (the WebACL dimension), when the app has one
    web_acl_name: pulumi.Output[str] | None = None
    #: the namespace of the file-integrity metrics, with file-integrity monitoring
    fim_namespace: str | None = None
    #: at most how many days apart two file-integrity comparisons are
    fim_interval_days: int = 1


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
        *waf_alarms(name, settings, ids),
        *file_integrity_alarms(name, ids),
    ]


def waf_alarms(name: str, settings: HaAppTierSettings, ids: Monitored) -> list[Alarm]:
    """The web ACL blocks more than usual: an attack in progress, or a rule that blocks real
    users (PCI DSS 6.4.2, 10.4.1). WAF publishes ``BlockedRequests`` per minute in
    ``AWS/WAFV2`` under the web ACL's name, the region of a regional web ACL and the rule
    (``ALL`` for every rule), only when it is not zero ("AWS WAF metrics and dimensions")."""
    if ids.web_acl_name is None:
        return []
    return [
        Alarm(
            name="waf-blocked",
            description=(
                f"{name}: WAF blocked more than {settings.alarms.waf_blocked_per_5_minutes} "
                "requests in 5 minutes (an attack, or a rule blocking real users: see the WAF "
                "logs)"
            ),
            namespace=WAF,
            metric="BlockedRequests",
            dimensions={
                "WebACL": ids.web_acl_name,
                "Region": ids.region,
                "Rule": WAF_ALL_RULES,
            },
            statistic="Sum",
            threshold=settings.alarms.waf_blocked_per_5_minutes,
            comparison="GreaterThanThreshold",
            period=300,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
        )
    ]


def file_integrity_alarms(name: str, ids: Monitored) -> list[Alarm]:
    """A comparison found a change (or could not compare): PCI DSS 11.5.2 asks that
    personnel be alerted. And no comparison reported at all for longer than the schedule
    allows (the agent, the association or AIDE broke): a silent monitor is a failed one
    (10.7.2)."""
    if ids.fim_namespace is None:
        return []
    silence = min(ids.fim_interval_days + 1, MAX_EVALUATION_DAYS)
    return [
        Alarm(
            name="fim-changes",
            description=(
                f"{name}: file-integrity monitoring found changed, added or removed critical "
                "files on an instance (or could not compare): read the instance's report in "
                "the file-integrity log group"
            ),
            namespace=ids.fim_namespace,
            metric=FIM_FINDINGS_METRIC,
            statistic="Sum",
            threshold=0,
            comparison="GreaterThanThreshold",
            period=300,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
        ),
        Alarm(
            name="fim-silent",
            description=(
                f"{name}: no file-integrity comparison reported for {silence} days (the "
                "CloudWatch agent, the State Manager association or AIDE stopped working)"
            ),
            namespace=ids.fim_namespace,
            metric=FIM_CHECKS_METRIC,
            statistic="Sum",
            threshold=1,
            comparison="LessThanThreshold",
            period=DAY,
            evaluation_periods=silence,
            datapoints_to_alarm=silence,
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
