"""What the LandingZone shows on the stack's dashboard.

It raises no CloudWatch alarm of its own: its alerts are events (GuardDuty and Security Hub
findings, root activity) that EventBridge routes to the security topic. Its widgets show
that routing at work: the findings each rule matched, and the notifications the alarm and
security topics delivered or failed to deliver.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi_aws as aws

from ..core.alarms import Widget, metric_widget
from ..core.scope import Scope


def dashboard_widgets(
    scope: Scope,
    security_rules: Sequence[aws.cloudwatch.EventRule],
    alarm_topic: aws.sns.Topic,
    security_topic: aws.sns.Topic,
) -> list[Widget]:
    return [
        metric_widget(
            "Security findings and root activity routed to the security topic",
            [["AWS/Events", "MatchedEvents", "RuleName", rule.name] for rule in security_rules],
            region=scope.env.region,
            stat="Sum",
            width=12,
        ),
        metric_widget(
            "Notifications delivered / failed",
            [
                ["AWS/SNS", "NumberOfNotificationsDelivered", "TopicName", alarm_topic.name],
                ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", alarm_topic.name],
                ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", security_topic.name],
            ],
            region=scope.env.region,
            stat="Sum",
            width=12,
        ),
    ]
