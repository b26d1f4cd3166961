"""Reusable Pulumi components of the payments platform.

Public API: the five components, their settings models, the stack loader and the helpers
other teams reuse (security groups, mocks in `components.testing`).
"""

from .base import SettingsModel, StackContext
from .config import ConfigError, StackSettings, load_stack_settings, settings_from_config
from .dashboard import StackDashboard
from .ha_app_tier import HaAppTier, HaAppTierSettings
from .hybrid_connectivity import HybridConnectivity, HybridConnectivitySettings
from .landing_zone import LandingZone, LandingZoneSettings
from .managed_data_tier import ManagedDataTier, ManagedDataTierSettings
from .onprem import OnPremNetwork
from .secure_vpc import ExtraTier, NetworkRef, SecureVpc, SecureVpcSettings
from .security_groups import Rule, SecurityGroupRuleError, restricted_security_group
from .stack import Stack, load_stack

__all__ = [
    "ConfigError",
    "ExtraTier",
    "HaAppTier",
    "HaAppTierSettings",
    "HybridConnectivity",
    "HybridConnectivitySettings",
    "LandingZone",
    "LandingZoneSettings",
    "ManagedDataTier",
    "ManagedDataTierSettings",
    "NetworkRef",
    "OnPremNetwork",
    "Rule",
    "SecureVpc",
    "SecureVpcSettings",
    "SecurityGroupRuleError",
    "SettingsModel",
    "Stack",
    "StackContext",
    "StackDashboard",
    "StackSettings",
    "load_stack",
    "load_stack_settings",
    "restricted_security_group",
    "settings_from_config",
]
