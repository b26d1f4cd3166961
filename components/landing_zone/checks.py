"""Every rule of a LandingZone, as pure functions returning problems.

Called by :class:`~components.landing_zone.LandingZone` before it registers anything, and
by a stack loader gathering the checks of a whole stack. Each rule is written once, here.
"""

from __future__ import annotations

from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.problems import Problem, at
from ..core.settings import StackContext
from .organization import SCP_MAX_CHARS, render_scp, service_control_policies
from .settings import LandingZoneSettings

PROD_RULES: tuple[EnvRule[LandingZoneSettings], ...] = (
    one(
        "trail.log_retention_days",
        f"prod keeps trail logs >= 365 days {PCI_RETENTION}",
        lambda s: s.trail.log_retention_days >= 365,
    ),
    one(
        "trail.expiration_days",
        f"prod keeps trail objects >= 365 days {PCI_RETENTION}",
        lambda s: s.trail.expiration_days >= 365,
    ),
    one(
        "trail.transition_days",
        "prod keeps 3 months of trail logs immediately available (PCI DSS 10.5.1)",
        lambda s: s.trail.transition_days >= 90,
    ),
    one(
        "security_hub.pci_dss_version",
        "prod subscribes the Security Hub PCI DSS standard",
        lambda s: s.security_hub.pci_dss_version is not None,
    ),
    one(
        "guard_duty.features",
        "prod enables GuardDuty S3 and EBS malware protection",
        lambda s: {"S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"} <= set(s.guard_duty.features),
    ),
    one(
        "aws_config.conformance_pack",
        "prod runs the PCI DSS conformance pack",
        lambda s: bool(s.aws_config.conformance_pack),
    ),
    one(
        "notifications.security_subscriptions",
        "prod routes security findings to at least one subscriber (PCI DSS 10.7, 12.10)",
        lambda s: len(s.notifications.security_subscriptions) >= 1,
    ),
)


def check_scp_sizes(settings: LandingZoneSettings) -> list[Problem]:
    """Every guardrail SCP fits the size AWS Organizations accepts."""
    if not settings.organization.enabled:
        return []
    scp = settings.organization.service_control_policies
    problems: list[Problem] = []
    for policy, document in service_control_policies(scp).items():
        size = len(render_scp(document))
        if size > SCP_MAX_CHARS:
            problems.append(
                Problem(
                    at("organization", "service_control_policies"),
                    f"the {policy} SCP is {size} characters, over the {SCP_MAX_CHARS} AWS "
                    "allows; shorten `organization.service_control_policies.allowed_regions` "
                    "or `organization.service_control_policies.exempt_role_patterns`",
                )
            )
    return problems


def check(name: str, settings: LandingZoneSettings, *, context: StackContext) -> list[Problem]:
    """Every problem of a landing zone. ``settings`` are the environment's
    (``settings.for_environment(...)``)."""
    problems = check_scp_sizes(settings)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    return problems
