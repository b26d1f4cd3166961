"""LandingZone: the AWS Organizations structure (management account only) and the security
baseline, alarm topic and security alerts every account gets.

The seeds ask for "AWS Control Tower for Landing Zone and multi-account environment" and
access "centered around AWS Control Tower and reinforced by the Identity Center
configuration in AWS SSO, enabling the segregation of different types of access"; PCI DSS
asks for audit trails (10), intrusion detection (11.5) and segregation of duties (6.5.4).
"""

from __future__ import annotations

from typing import Any, cast

import pulumi

from ..core.alarms import Widget
from ..core.aws_env import aws_env
from ..core.problems import raise_problems
from ..core.settings import StackContext
from .baseline import build_baseline
from .checks import check
from .organization import build_organization
from .settings import LandingZoneSettings

COMPONENT = "landing-zone"


class LandingZone(pulumi.ComponentResource):
    """The account baseline (always) and the organization (when organization.enabled)."""

    alarm_topic_arn: pulumi.Output[str]
    security_topic_arn: pulumi.Output[str]
    trail_arn: pulumi.Output[str]
    trail_bucket: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]
    guardduty_detector_id: pulumi.Output[str]
    organization_id: pulumi.Output[str] | None
    organizational_unit_ids: pulumi.Output[dict[str, str]]
    account_ids: pulumi.Output[dict[str, str]]
    permission_set_arns: pulumi.Output[dict[str, str]]
    control_tower_arn: pulumi.Output[str] | None
    dashboard_widgets: list[Widget]

    def __init__(
        self,
        name: str,
        settings: LandingZoneSettings,
        *,
        context: StackContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = settings.for_environment(context.environment)
        raise_problems(
            "LandingZone", name, check(name, settings, context=context), LandingZoneSettings
        )
        super().__init__("payments:index:LandingZone", name, None, opts)
        env = aws_env(self)

        base = build_baseline(self, name, settings, context=context, component=COMPONENT, env=env)
        self.alarm_topic_arn = base.alarm_topic_arn
        self.security_topic_arn = base.security_topic_arn
        self.trail_arn = base.trail_arn
        self.trail_bucket = base.trail_bucket
        self.logs_key_arn = base.logs_key_arn
        self.guardduty_detector_id = base.guardduty_detector_id
        self.dashboard_widgets = base.dashboard_widgets

        self.organization_id = None
        self.control_tower_arn = None
        empty: Any = {}
        self.organizational_unit_ids = pulumi.Output.from_input(empty)
        self.account_ids = pulumi.Output.from_input(empty)
        self.permission_set_arns = pulumi.Output.from_input(empty)
        if settings.organization.enabled:
            org = build_organization(
                self, name, settings.organization, context=context, component=COMPONENT, env=env
            )
            self.organization_id = org.organization_id
            self.control_tower_arn = org.landing_zone_arn
            # Outputs nested in plain containers resolve as one Output (typed loosely by the SDK)
            self.organizational_unit_ids = pulumi.Output.from_input(cast(Any, org.ou_ids))
            self.account_ids = pulumi.Output.from_input(cast(Any, org.account_ids))
            self.permission_set_arns = pulumi.Output.from_input(cast(Any, org.permission_set_arns))

        self.register_outputs(
            {
                "alarm_topic_arn": self.alarm_topic_arn,
                "security_topic_arn": self.security_topic_arn,
                "trail_arn": self.trail_arn,
                "trail_bucket": self.trail_bucket,
                "logs_key_arn": self.logs_key_arn,
                "guardduty_detector_id": self.guardduty_detector_id,
                "organization_id": self.organization_id,
                "organizational_unit_ids": self.organizational_unit_ids,
                "account_ids": self.account_ids,
                "permission_set_arns": self.permission_set_arns,
                "control_tower_arn": self.control_tower_arn,
            }
        )
