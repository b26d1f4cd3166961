"""Reusable Pulumi components of a PCI DSS payment platform on AWS.

Each component is a sub-package with the same files: ``settings.py`` (pydantic models of
plain data), ``checks.py`` (every rule, as pure functions returning problems),
``component.py`` (the ComponentResource) and ``alarms.py`` (its alarms as data). A
component used alone applies its environment's defaults and rules (``StackContext``), checks
its wiring against the references it receives, and raises :class:`ComponentConfigError`
naming each bad argument before it registers anything.

Public API: what this module exports. ``components.testing`` runs a program offline under
mocks; ``python -m components.plan`` prints what a program would create.
"""

import warnings

# pulumi-aws and pulumi-awsx warn, when a module is first loaded, about deprecated classes
# this package never uses (s3.BucketV2 and 11 more, ec2.EncryptionControl,
# awsx.ec2.getDefaultVpc). Their modules load lazily, so the ones the components use are
# loaded here once, quietly: programs and tests built on the package inherit no warnings.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import importlib

    #: The pulumi-aws modules the components use, loaded quietly below (a test keeps it whole).
    PULUMI_AWS_MODULES = (
        "accessanalyzer",
        "autoscaling",
        "budgets",
        "cfg",
        "cloudcontrol",
        "cloudtrail",
        "cloudwatch",
        "controltower",
        "directconnect",
        "dms",
        "docdb",
        "ebs",
        "ec2",
        "elasticache",
        "guardduty",
        "iam",
        "identitystore",
        "inspector2",
        "kms",
        "lambda_",
        "lb",
        "mq",
        "networkfirewall",
        "opensearch",
        "organizations",
        "rds",
        "s3",
        "secretsmanager",
        "securityhub",
        "serverlessrepository",
        "sns",
        "ssm",
        "ssoadmin",
        "vpc",
        "wafv2",
    )

    for _module in PULUMI_AWS_MODULES:
        # pulumi's lazy modules load on the first access to a name they define
        getattr(importlib.import_module(f"pulumi_aws.{_module}"), "__all__", None)
    getattr(importlib.import_module("pulumi_awsx.ec2"), "__all__", None)

from .core.onprem import OnPremNetwork
from .core.problems import ComponentConfigError, Problem
from .core.security_groups import (
    Rule,
    SecurityGroupRuleError,
    restricted_security_group,
)
from .core.settings import SettingsModel, StackContext
from .dashboard import StackDashboard
from .ha_app_tier import AppRef, HaAppTier, HaAppTierSettings
from .hybrid_connectivity import HybridConnectivity, HybridConnectivitySettings
from .landing_zone import LandingZone, LandingZoneSettings
from .managed_data_tier import ManagedDataTier, ManagedDataTierSettings
from .secure_vpc import (
    EgressFirewallSettings,
    ExtraTier,
    NetworkPlan,
    NetworkRef,
    SecureVpc,
    SecureVpcSettings,
    parse_port_range,
    plan_network,
)

__version__ = "0.2.0"

__all__ = [
    "AppRef",
    "ComponentConfigError",
    "EgressFirewallSettings",
    "ExtraTier",
    "HaAppTier",
    "HaAppTierSettings",
    "HybridConnectivity",
    "HybridConnectivitySettings",
    "LandingZone",
    "LandingZoneSettings",
    "ManagedDataTier",
    "ManagedDataTierSettings",
    "NetworkPlan",
    "NetworkRef",
    "OnPremNetwork",
    "Problem",
    "Rule",
    "SecureVpc",
    "SecureVpcSettings",
    "SecurityGroupRuleError",
    "SettingsModel",
    "StackContext",
    "StackDashboard",
    "__version__",
    "parse_port_range",
    "plan_network",
    "restricted_security_group",
]
