"""SecureVpc: tiered subnets with NACLs, flow logs, endpoints with policies, an egress
firewall when it has NAT gateways, and locked-down defaults.

vpc = SecureVpc("orders", SecureVpcSettings(vpc_cidr="10.30.0.0/16"), context=context)
HaAppTier("orders", app_settings, context=context, network=vpc.ref, ...)
"""

from .checks import PROD_RULES, plan_and_check
from .component import NetworkRef, SecureVpc, check_network_ref
from .network import NetworkPlan, plan_network
from .plan import DATA_SERVICES, parse_port_range
from .settings import EgressFirewallSettings, ExtraTier, SecureVpcSettings

__all__ = [
    "DATA_SERVICES",
    "PROD_RULES",
    "EgressFirewallSettings",
    "ExtraTier",
    "NetworkPlan",
    "NetworkRef",
    "SecureVpc",
    "SecureVpcSettings",
    "check_network_ref",
    "parse_port_range",
    "plan_and_check",
    "plan_network",
]
