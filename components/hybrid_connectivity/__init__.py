"""HybridConnectivity: Site-to-Site VPN (pinned crypto, a pair of tunnels per device) and
Direct Connect between the data centres and a SecureVpc, with route propagation, tunnel
logs and alarms.

    hybrid = HybridConnectivitySettings(on_prem_networks={...}, customer_gateways={...})
    vpc = SecureVpc(..., on_prem=hybrid.on_prem_networks)
    HybridConnectivity("dc", hybrid, context=context, network=vpc.ref, alarm_topic_arn=...)

Rules between fields, with the network and in prod are in ``checks`` (``check``, also run by
the stack loader); the alarms are data in ``alarms``. ``migration`` builds the optional
rehost landing area for AWS Application Migration Service (``settings.migration``).
"""

from .checks import PROD_RULES, check
from .component import HybridConnectivity, preshared_keys_from_config
from .settings import (
    CustomerGatewaySettings,
    DirectConnectSettings,
    HybridConnectivitySettings,
    LaunchSettings,
    MigrationSettings,
    ReplicationSettings,
    WaveSettings,
)

__all__ = [
    "PROD_RULES",
    "CustomerGatewaySettings",
    "DirectConnectSettings",
    "HybridConnectivity",
    "HybridConnectivitySettings",
    "LaunchSettings",
    "MigrationSettings",
    "ReplicationSettings",
    "WaveSettings",
    "check",
    "preshared_keys_from_config",
]
