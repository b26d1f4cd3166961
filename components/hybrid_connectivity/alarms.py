"""The alarms and dashboard widgets of a HybridConnectivity, as data.

``TunnelState`` (AWS/VPN) is 1 while a tunnel is up (with BGP: the session is established)
and 0 otherwise. At the ``VpnId`` dimension it describes the connection's two tunnels
together: "values between 0 and 1 indicate at least one tunnel is not UP" (units: fractional
value between 0 and 1), i.e. the share of tunnels up, 0.5 with one of two
(https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html).
``ConnectionState`` (AWS/DX) is 1 while the circuit is up and 0 when it is down
(https://docs.aws.amazon.com/directconnect/latest/UserGuide/monitoring-cloudwatch.html).

Missing data is breaching for all of them: both services publish the state of a connection
whether it is up or down, so a connection whose state stops arriving has gone (deleted,
or its metrics with it) and is not a working path to the data centre.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from ..core.alarms import Alarm, Widget, metric_widget
from .settings import HybridConnectivitySettings

#: TunnelState of a connection with one of its two tunnels up.
ONE_OF_TWO_TUNNELS_UP = 0.5


def vpn_alarms(gw_name: str, vpn_id: pulumi.Input[str]) -> list[Alarm]:
    """WARNING when the connection's TunnelState stays below 1 for two periods (a tunnel is
    down: no redundancy; also while both are); CRITICAL when its highest value in a period is
    below 0.5 (no tunnel was up at any time of it: no VPN path). ``Maximum < 1`` would page
    CRITICAL at 0.5, while one tunnel still carries the traffic."""
    return [
        _tunnel_state(
            f"{gw_name}-tunnel-down",
            f"WARNING: a tunnel of VPN {gw_name} is down; the connection has no redundancy",
            vpn_id,
            statistic="Minimum",
            threshold=1,
            evaluation_periods=2,
        ),
        _tunnel_state(
            f"{gw_name}-vpn-down",
            f"CRITICAL: both tunnels of VPN {gw_name} are down; no VPN path to the data centre",
            vpn_id,
            statistic="Maximum",
            threshold=ONE_OF_TWO_TUNNELS_UP,
            evaluation_periods=1,
        ),
    ]


def _tunnel_state(
    name: str,
    description: str,
    vpn_id: pulumi.Input[str],
    *,
    statistic: str,
    threshold: float,
    evaluation_periods: int,
) -> Alarm:
    return Alarm(
        name=name,
        description=description,
        threshold=threshold,
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


# --- AWS Application Migration Service events ---------------------------------------------


@dataclass(frozen=True)
class MigrationEvent:
    """One kind of MGN event the alarm topic hears, as data: what EventBridge matches and
    why an operator cares."""

    name: str
    detail_type: str
    why: str

    def pattern(self) -> str:
        """The EventBridge pattern: MGN's events arrive on the default bus of the region
        MGN replicates to (the stack's), from source ``aws.mgn``."""
        return json.dumps(
            {"source": ["aws.mgn"], "detail-type": [self.detail_type]}, sort_keys=True
        )


#: The events MGN emits (MGN User Guide, "Event samples":
#: https://docs.aws.amazon.com/mgn/latest/ug/eventbridge-events.html). Every state is routed
#: (``detail.state`` names it in the message): a stall and its recovery, a failed and a
#: successful launch, so the cutover team sees both ends.
MIGRATION_EVENTS: tuple[MigrationEvent, ...] = (
    MigrationEvent(
        "mgn-replication-stalled",
        "MGN Source Server Data Replication Stalled Change",
        "a source server's replication stalled (or recovered): its lag grows, the RPO of "
        "its cutover with it",
    ),
    MigrationEvent(
        "mgn-launch-result",
        "MGN Source Server Launch Result",
        "a test or cutover launch finished: TEST_/CUTOVER_LAUNCH_SUCCEEDED or _FAILED",
    ),
    MigrationEvent(
        "mgn-lifecycle",
        "MGN Source Server Lifecycle State Change",
        "a source server reached READY_FOR_TEST (initial sync done): the wave can be tested",
    ),
)
