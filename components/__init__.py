"""Reusable Pulumi components of the payments platform.

Public API: the components, their settings models and the stack settings loader.
"""

from .base import SettingsModel, StackContext
from .config import ConfigError, StackSettings, load_stack_settings, settings_from_config
from .hybrid_connectivity import HybridConnectivitySettings
from .onprem import OnPremNetwork
from .secure_vpc import ExtraTier, NetworkRef, SecureVpc, SecureVpcSettings
from .security_groups import Rule, SecurityGroupRuleError, restricted_security_group

__all__ = [
    "ConfigError",
    "ExtraTier",
    "HybridConnectivitySettings",
    "NetworkRef",
    "OnPremNetwork",
    "Rule",
    "SecureVpc",
    "SecureVpcSettings",
    "SecurityGroupRuleError",
    "SettingsModel",
    "StackContext",
    "StackSettings",
    "load_stack_settings",
    "restricted_security_group",
    "settings_from_config",
]
