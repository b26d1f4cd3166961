"""LandingZone: the account's security baseline (CloudTrail, Config and the PCI DSS pack,
GuardDuty, Security Hub, Access Analyzer, alarm and security topics, budget) and, in the
management account, the organization (OUs, accounts, SCPs, Identity Center, Control Tower).

    us_east_1 = aws.Provider("us-east-1", region="us-east-1")  # root sign-ins, IAM, STS
    lz = LandingZone("prod", LandingZoneSettings(), context=context, us_east_1_provider=us_east_1)
    HaAppTier(..., alarm_topic_arn=lz.alarm_topic_arn)
"""

from .checks import PROD_RULES, check
from .component import LandingZone
from .settings import (
    AccountAssignmentSettings,
    BudgetSettings,
    BudgetThreshold,
    ConfigRecorderSettings,
    ControlTowerControlSettings,
    ControlTowerSettings,
    GuardDutySettings,
    IdentityCenterSettings,
    LandingZoneSettings,
    MemberAccount,
    NotificationSettings,
    ObjectLockSettings,
    OrganizationalUnit,
    OrganizationSettings,
    PasswordPolicySettings,
    SecurityHubSettings,
    ServiceControlPolicySettings,
    Subscription,
    TrailSettings,
)

__all__ = [
    "PROD_RULES",
    "AccountAssignmentSettings",
    "BudgetSettings",
    "BudgetThreshold",
    "ConfigRecorderSettings",
    "ControlTowerControlSettings",
    "ControlTowerSettings",
    "GuardDutySettings",
    "IdentityCenterSettings",
    "LandingZone",
    "LandingZoneSettings",
    "MemberAccount",
    "NotificationSettings",
    "ObjectLockSettings",
    "OrganizationSettings",
    "OrganizationalUnit",
    "PasswordPolicySettings",
    "SecurityHubSettings",
    "ServiceControlPolicySettings",
    "Subscription",
    "TrailSettings",
    "check",
]
