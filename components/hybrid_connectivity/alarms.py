"""The alarms and dashboard widgets of a HybridConnectivity, as data.

``TunnelState`` (AWS/VPN) is 1 while a tunnel is up (with BGP: the session is established)
and 0 otherwise; with the ``VpnId`` dimension it aggregates both tunnels of a connection.
``ConnectionState`` (AWS/DX) is 1 while the circuit is up. Missing data is breaching: a VPN
or a circuit that stops reporting is not healthy.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from ..core.alarms import Alarm, Widget, metric_widget
from .settings import HybridConnectivitySettings


def vpn_alarms(gw_name: str, vpn_id: pulumi.Input[str]) -> list[Alarm]:
    """Minimum < 1 as soon as one tunnel is down (redundancy lost), Maximum < 1 when the
    connection's aggregate says no tunnel is up (the link is down)."""
    return [
        _tunnel_state(
            f"{gw_name}-tunnel-down",
            f"WARNING: a tunnel of VPN {gw_name} is down; the connection has no redundancy",
            vpn_id,
            statistic="Minimum",
            evaluation_periods=2,
        ),
        _tunnel_state(
            f"{gw_name}-vpn-down",
            f"CRITICAL: both tunnels of VPN {gw_name} are down; no VPN path to the data centre",
            vpn_id,
            statistic="Maximum",
            evaluation_periods=1,
        ),
    ]


def _tunnel_state(
    name: str,
    description: str,
    vpn_id: pulumi.Input[str],
    *,
    statistic: str,
    evaluation_periods: int,
) -> Alarm:
    return Alarm(
        name=name,
        description=description,
        threshold=1,
        comparison="LessThanThreshold",
        namespace="AWS/VPN",
        metric="TunnelState",
        dimensions={"VpnId": vpn_id},
        statistic=statistic,
        period=300,
        evaluation_periods=evaluation_periods,
        treat_missing_data="breaching",
    )


def dx_alarms(settings: HybridConnectivitySettings) -> list[Alarm]:
    """The circuit is down: traffic falls back to the VPN (no alarm before a circuit is
    named: there is nothing to watch)."""
    dx = settings.direct_connect
    if not dx.enabled or dx.connection_id is None:
        return []
    return [
        Alarm(
            name="dx-down",
            description=(
                f"CRITICAL: Direct Connect {dx.connection_id} is down; traffic falls back to VPN"
            ),
            threshold=1,
            comparison="LessThanThreshold",
            namespace="AWS/DX",
            metric="ConnectionState",
            dimensions={"ConnectionId": dx.connection_id},
            statistic="Minimum",
            period=300,
            evaluation_periods=1,
            treat_missing_data="breaching",
        )
    ]


def alarms(
    settings: HybridConnectivitySettings, vpn_ids: Mapping[str, pulumi.Input[str]]
) -> list[Alarm]:
    """Every alarm: two per VPN connection (by gateway name), one per DX circuit."""
    return [
        *(alarm for gw_name in sorted(vpn_ids) for alarm in vpn_alarms(gw_name, vpn_ids[gw_name])),
        *dx_alarms(settings),
    ]


def dashboard_widgets(
    name: str,
    settings: HybridConnectivitySettings,
    vpn_ids: Mapping[str, pulumi.Input[str]],
    *,
    region: pulumi.Input[str],
) -> list[Widget]:
    """A tunnel-state graph of every VPN connection, then the DX circuit's state."""
    widgets: list[Widget] = []
    if vpn_ids:
        widgets.append(
            metric_widget(
                f"{name}: VPN tunnel state (1 = both up, 0.5 = one down, 0 = down)",
                [["AWS/VPN", "TunnelState", "VpnId", vpn_ids[gw]] for gw in sorted(vpn_ids)],
                region=region,
                stat="Minimum",
            )
        )
    dx = settings.direct_connect
    if dx.enabled and dx.connection_id is not None:
        widgets.append(
            metric_widget(
                f"{name}: Direct Connect {dx.connection_id} state (1 = up)",
                [["AWS/DX", "ConnectionState", "ConnectionId", dx.connection_id]],
                region=region,
                stat="Minimum",
            )
        )
    return widgets
