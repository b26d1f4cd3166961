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
from ..core.scope import Scope
from ..core.settings import StackContext
from . import baseline as base
from . import organization as org
from .alarms import dashboard_widgets
from .checks import check, check_member_account_provider
from .log_archive import MemberAccountProvider, log_archive
from .settings import LandingZoneSettings

COMPONENT = "landing-zone"
TYPE = "payments:index:LandingZone"


class LandingZone(pulumi.ComponentResource):
    """The account baseline (always) and the organization (when organization.enabled)."""

    alarm_topic_arn: pulumi.Output[str]
    security_topic_arn: pulumi.Output[str]
    trail_arn: pulumi.Output[str]
    trail_bucket: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]
    guardduty_detector_id: pulumi.Output[str]
    session_log_group_name: pulumi.Output[str] | None
    organization_trail_arn: pulumi.Output[str] | None
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
        us_east_1_provider: pulumi.ProviderResource | None = None,
        member_account_provider: MemberAccountProvider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``us_east_1_provider``: a provider of the same account in us-east-1, where
        EventBridge receives root console sign-ins and IAM/STS calls; required unless the
        landing zone itself runs in us-east-1 (checked when the providers answer).
        ``member_account_provider(key, account_id, role_name)``: a provider of the member
        account ``key`` that assumes ``role_name`` there; with the organization part, the
        organization trail's archive is built through it in the log-archive account (the
        account it reaches is checked when it answers)."""
        settings = settings.for_environment(context.environment)
        problems = check(name, settings, context=context)
        problems += check_member_account_provider(settings, member_account_provider is not None)
        raise_problems("LandingZone", name, problems, LandingZoneSettings)
        super().__init__(TYPE, name, None, opts)
        scope = Scope(self, name, context, COMPONENT, aws_env(self))

        # account baseline
        logs_key = base.logs_key(scope)
        notifications_key = base.notifications_key(scope)
        access_logs = base.access_log_bucket(scope, settings.trail.access_log_expiration_days)
        bucket, bucket_policy = base.trail_bucket(scope, settings.trail, logs_key, access_logs)
        trail = base.audit_trail(
            scope, settings.trail, logs_key, bucket, bucket_policy, access_logs
        )
        base.aws_config(scope, settings.aws_config, logs_key, bucket, bucket_policy)
        detector = base.guardduty(scope, settings.guard_duty)
        base.security_hub(scope, settings.security_hub)
        base.inspector(scope, settings.inspector)
        base.account_guardrails(scope, settings.password_policy)
        sessions = base.session_manager(scope, settings.session_manager, logs_key)
        base.data_protection(scope, settings.data_protection)
        if settings.support_role:
            base.support_role(scope)
        route = base.global_events_route(scope, us_east_1_provider)
        security_topic, security_rules = base.security_routes(
            scope,
            settings.guard_duty,
            settings.security_hub,
            settings.inspector,
            settings.alerts,
            settings.notifications,
            notifications_key,
            route,
        )
        base.global_events_forwarder(scope, us_east_1_provider, route)
        alarm_topic = base.alarm_topic(scope, settings.notifications, notifications_key)
        base.monthly_budget(scope, settings.budget, alarm_topic)

        # organization (management account only)
        organization_id: pulumi.Output[str] | None = None
        control_tower_arn: pulumi.Output[str] | None = None
        ou_ids: dict[str, pulumi.Output[str]] = {}
        account_ids: dict[str, pulumi.Output[str]] = {}
        permission_set_arns: dict[str, pulumi.Output[str]] = {}
        org_trail: pulumi.Output[str] | None = None
        if settings.organization.enabled:
            organization = org.organization(scope)
            root = org.root_id(organization)
            ous = org.organizational_units(scope, settings.organization, root)
            accounts = org.member_accounts(scope, settings.organization, ous, root)
            org.guardrail_policies(
                scope, settings.organization.service_control_policies, organization, ous
            )
            control_tower_arn = org.control_tower(
                scope, settings.organization.control_tower, ous, accounts
            )
            permission_set_arns = org.identity_center(scope, settings.organization, accounts)
            archive = settings.organization.log_archive
            if archive.enabled and member_account_provider is not None:
                org_trail = log_archive(
                    scope, archive, organization, accounts[archive.account], member_account_provider
                ).arn
            organization_id = organization.id
            ou_ids = {key: ou.id for key, ou in ous.items()}
            account_ids = {key: account.id for key, account in accounts.items()}

        self.alarm_topic_arn = alarm_topic.arn
        self.security_topic_arn = security_topic.arn
        self.trail_arn = trail.arn
        self.trail_bucket = bucket.id
        self.logs_key_arn = logs_key.arn
        self.guardduty_detector_id = detector.id
        self.session_log_group_name = sessions.name if sessions else None
        self.organization_trail_arn = org_trail
        self.organization_id = organization_id
        self.control_tower_arn = control_tower_arn
        # Outputs nested in plain containers resolve as one Output (typed loosely by the SDK)
        self.organizational_unit_ids = pulumi.Output.from_input(cast(Any, ou_ids))
        self.account_ids = pulumi.Output.from_input(cast(Any, account_ids))
        self.permission_set_arns = pulumi.Output.from_input(cast(Any, permission_set_arns))
        self.dashboard_widgets = dashboard_widgets(
            scope, security_rules, alarm_topic, security_topic
        )
        self.register_outputs(
            {
                "alarm_topic_arn": self.alarm_topic_arn,
                "security_topic_arn": self.security_topic_arn,
                "trail_arn": self.trail_arn,
                "trail_bucket": self.trail_bucket,
                "logs_key_arn": self.logs_key_arn,
                "guardduty_detector_id": self.guardduty_detector_id,
                "session_log_group_name": self.session_log_group_name,
                "organization_trail_arn": self.organization_trail_arn,
                "organization_id": self.organization_id,
                "organizational_unit_ids": self.organizational_unit_ids,
                "account_ids": self.account_ids,
                "permission_set_arns": self.permission_set_arns,
                "control_tower_arn": self.control_tower_arn,
            }
        )
