"""HybridConnectivity: the private link between the data centres and the VPC.

Site-to-Site VPN (a pair of IPsec tunnels per on-prem device, pinned to IKEv2 and strong
algorithms, tunnel activity logged to a KMS-encrypted log group) and, in prod, AWS Direct
Connect (a Direct Connect gateway associated with the VPC's virtual private gateway, plus a
private virtual interface once the circuit exists). The VPN stays up as the backup path of DX.

The on-prem ranges are declared once, here (`onPremNetworks`): SecureVpc's NACLs, the
security groups that admit on-prem clients and the static VPN routes all read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from ..core.alarms import Widget, metric_alarm, metric_widget
from ..core.aws_env import aws_env
from ..core.kms import customer_managed_key, logs_key_policy
from ..core.problems import raise_problems
from ..core.settings import StackContext, child_opts, stateful_opts
from ..secure_vpc import NetworkRef, check_network_ref
from .checks import check
from .settings import (
    MAX_CGW_BGP_ASN,
    MAX_VIF_BGP_ASN,
    TUNNEL_CRYPTO,
    TUNNELS,
    CustomerGatewaySettings,
    HybridConnectivitySettings,
    check_preshared_key,
)

COMPONENT = "hybrid-connectivity"


def preshared_keys_from_config(
    settings: HybridConnectivitySettings,
    *,
    config: pulumi.Config | None = None,
    key: str = "vpnPresharedKeys",
) -> dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]]:
    """Read the VPN pre-shared keys from the secret stack key ``<project>:vpnPresharedKeys``
    (``{<gateway>: {tunnel1: ..., tunnel2: ...}}``, set with ``pulumi config set --secret
    --path``) and return them as secret Outputs. Gateways not listed get AWS-generated keys.

    The keys are checked here, before any resource is registered; messages name the key's
    path, never its value. A key stored in plain text in the stack file is refused.
    """
    config = config or pulumi.Config()
    full_key = config.full_key(key)
    raw = config.get_object(key)
    if raw is None:
        return {}
    from pulumi.runtime.config import is_config_secret

    if not is_config_secret(full_key):
        raise ValueError(
            f"{full_key} must be a secret: set it with `pulumi config set --secret --path "
            f"'{key}.<gateway>.tunnel1' ...` (PCI DSS 8.3.2: no plain-text credentials)"
        )
    if not isinstance(raw, dict):
        raise ValueError(f"{full_key} must map gateway names to {{tunnel1, tunnel2}}")
    keys: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]] = {}
    for gw_name, pair in raw.items():
        where = f"{full_key}.{gw_name}"
        if gw_name not in settings.customer_gateways:
            raise ValueError(f"{where}: no hybrid.customerGateways.{gw_name} to use this key")
        if not isinstance(pair, dict) or set(pair) != set(TUNNELS):
            raise ValueError(f"{where} must have exactly tunnel1 and tunnel2")
        for tunnel in TUNNELS:
            check_preshared_key(f"{where}.{tunnel}", str(pair[tunnel]))
        keys[gw_name] = (
            pulumi.Output.secret(str(pair["tunnel1"])),
            pulumi.Output.secret(str(pair["tunnel2"])),
        )
    return keys


# --- Component -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Propagation:
    """A route table to receive VGW routes, named by its tier (shared) or tier and AZ."""

    key: str
    route_table_id: pulumi.Output[str]


def _propagation_targets(network: NetworkRef, tiers: list[str]) -> list[_Propagation]:
    targets: list[_Propagation] = []
    for tier in tiers:
        by_az = network.route_table_ids[tier]
        # SecureVpc gives an isolated tier one shared table (the same Output for every AZ)
        # and a NAT'd tier one table per AZ: one propagation per distinct table.
        groups: dict[int, list[str]] = {}
        for az in sorted(by_az):
            groups.setdefault(id(by_az[az]), []).append(az)
        for azs in groups.values():
            key = tier if len(groups) == 1 and len(azs) > 1 else f"{tier}-{azs[0]}"
            targets.append(_Propagation(key, by_az[azs[0]]))
    return targets


class HybridConnectivity(pulumi.ComponentResource):
    """VGW attached to the VPC, a pinned-crypto Site-to-Site VPN per on-prem device, a DX
    gateway (+ private VIF) associated with the VGW, route propagation into the private tiers,
    tunnel logs, and tunnel/DX alarms."""

    vpn_gateway_id: pulumi.Output[str]
    customer_gateway_ids: pulumi.Output[dict[str, str]]
    vpn_connection_ids: pulumi.Output[dict[str, str]]
    tunnels: pulumi.Output[dict[str, Any]]
    dx_gateway_id: pulumi.Output[str] | None
    dx_virtual_interface_id: pulumi.Output[str] | None
    tunnel_log_group_name: pulumi.Output[str]
    dashboard_widgets: list[Widget]

    def __init__(
        self,
        name: str,
        settings: HybridConnectivitySettings,
        *,
        context: StackContext,
        network: NetworkRef,
        alarm_topic_arn: pulumi.Input[str],
        pre_shared_keys: Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Everything that can fail is checked before the component registers anything.
        pre_shared_keys = dict(pre_shared_keys or {})
        settings = settings.for_environment(context.environment)
        problems = check_network_ref(network) or check(
            name,
            settings,
            context=context,
            network=network.plan,
            pre_shared_keys=pre_shared_keys,
        )
        raise_problems("HybridConnectivity", name, problems, HybridConnectivitySettings)
        super().__init__("payments:index:HybridConnectivity", name, None, opts)
        self._name = name
        self._settings = settings
        self._context = context
        self._network = network
        self._topic = alarm_topic_arn
        self._env = aws_env(self)

        self._vgw = aws.ec2.VpnGateway(
            f"{name}-vgw",
            amazon_side_asn=str(settings.amazon_side_asn),
            tags=self._tags(Name=f"{name}-vgw"),
            opts=child_opts(self),
        )
        self._attachment = aws.ec2.VpnGatewayAttachment(
            f"{name}-vgw",
            vpc_id=network.vpc_id,
            vpn_gateway_id=self._vgw.id,
            opts=child_opts(self),
        )
        self._propagate_routes()
        log_group = self._tunnel_log_group()
        self.dashboard_widgets = []
        cgw_ids: dict[str, pulumi.Output[str]] = {}
        vpn_ids: dict[str, pulumi.Output[str]] = {}
        tunnels: dict[str, Any] = {}
        for gw_name, gw in settings.customer_gateways.items():
            cgw, vpn = self._vpn(gw_name, gw, log_group, pre_shared_keys.get(gw_name))
            cgw_ids[gw_name] = cgw.id
            vpn_ids[gw_name] = vpn.id
            tunnels[gw_name] = self._on_prem_view(gw, vpn)
        if vpn_ids:
            self.dashboard_widgets.append(
                metric_widget(
                    f"{name}: VPN tunnel state (1 = both up, 0.5 = one down, 0 = down)",
                    [["AWS/VPN", "TunnelState", "VpnId", vpn_ids[gw]] for gw in sorted(vpn_ids)],
                    region=self._env.region,
                    stat="Minimum",
                )
            )
        self.dx_gateway_id, self.dx_virtual_interface_id = self._direct_connect()

        self.vpn_gateway_id = self._vgw.id
        # Outputs nested in plain containers resolve as one Output (typed loosely by the SDK).
        self.customer_gateway_ids = pulumi.Output.from_input(cast(Any, cgw_ids))
        self.vpn_connection_ids = pulumi.Output.from_input(cast(Any, vpn_ids))
        self.tunnels = pulumi.Output.from_input(cast(Any, tunnels))
        self.tunnel_log_group_name = log_group.name
        self.register_outputs(
            {
                "vpn_gateway_id": self.vpn_gateway_id,
                "customer_gateway_ids": self.customer_gateway_ids,
                "vpn_connection_ids": self.vpn_connection_ids,
                "tunnels": self.tunnels,
                "dx_gateway_id": self.dx_gateway_id,
                "dx_virtual_interface_id": self.dx_virtual_interface_id,
                "tunnel_log_group_name": self.tunnel_log_group_name,
            }
        )

    # --- helpers ------------------------------------------------------------------------

    def _tags(self, **extra: str) -> dict[str, str]:
        return self._context.tags(COMPONENT, **extra)

    def _propagate_routes(self) -> None:
        """On-prem routes (BGP-learned or static) reach only the tiers config names; AWS
        requires the VGW to be attached before propagation is enabled."""
        for target in _propagation_targets(self._network, self._settings.route_propagation_tiers):
            aws.ec2.VpnGatewayRoutePropagation(
                f"{self._name}-{target.key}",
                vpn_gateway_id=self._vgw.id,
                route_table_id=target.route_table_id,
                opts=child_opts(self, depends_on=[self._attachment]),
            )

    def _tunnel_log_group(self) -> aws.cloudwatch.LogGroup:
        """PCI DSS 10.2 / 10.5: IKE and tunnel events kept a year, encrypted with a CMK."""
        key = customer_managed_key(
            f"{self._name}-vpn-logs",
            description=f"Encrypts Site-to-Site VPN tunnel logs of {self._name}",
            policy=logs_key_policy(self._env),
            context=self._context,
            component=COMPONENT,
            parent=self,
        )
        ctx = self._context
        return aws.cloudwatch.LogGroup(
            f"{self._name}-vpn-logs",
            name=f"/{ctx.project}/{ctx.environment}/vpn/{self._name}/tunnels",
            retention_in_days=self._settings.tunnel_log_retention_days,
            kms_key_id=key.arn,
            tags=self._tags(),
            opts=stateful_opts(self, ctx),
        )

    def _vpn(
        self,
        gw_name: str,
        gw: CustomerGatewaySettings,
        log_group: aws.cloudwatch.LogGroup,
        keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None,
    ) -> tuple[aws.ec2.CustomerGateway, aws.ec2.VpnConnection]:
        prefix = f"{self._name}-{gw_name}"
        asn = str(gw.bgp_asn)
        cgw = aws.ec2.CustomerGateway(
            prefix,
            type="ipsec.1",
            ip_address=gw.public_ip,
            bgp_asn=asn if gw.bgp_asn <= MAX_CGW_BGP_ASN else None,
            bgp_asn_extended=asn if gw.bgp_asn > MAX_CGW_BGP_ASN else None,
            device_name=gw.device_name,
            tags=self._tags(Name=prefix),
            opts=child_opts(self),
        )
        tunnel_args: dict[str, Any] = {}
        log_options = {
            "cloudwatch_log_options": {
                "log_enabled": True,
                "log_group_arn": log_group.arn,
                "log_output_format": "json",
            }
        }
        for index, tunnel in enumerate(TUNNELS):
            for option, value in TUNNEL_CRYPTO.items():
                tunnel_args[f"{tunnel}_{option}"] = value
            tunnel_args[f"{tunnel}_inside_cidr"] = getattr(gw, f"{tunnel}_inside_cidr")
            tunnel_args[f"{tunnel}_startup_action"] = gw.startup_action
            tunnel_args[f"{tunnel}_log_options"] = log_options
            if keys is not None:
                tunnel_args[f"{tunnel}_preshared_key"] = _secret_psk(
                    f"pre_shared_keys[{gw_name!r}][{index}]", keys[index]
                )
        vpn = aws.ec2.VpnConnection(
            prefix,
            type="ipsec.1",
            customer_gateway_id=cgw.id,
            vpn_gateway_id=self._vgw.id,
            static_routes_only=gw.routing == "static",
            tags=self._tags(Name=prefix, routing=gw.routing),
            # the tunnels' outside IPs and keys live in the on-prem device's configuration:
            # a mistaken delete in prod is an outage until the data centre reconfigures
            opts=stateful_opts(self, self._context),
            **tunnel_args,
        )
        if gw.routing == "static":
            for net_name, net in sorted(self._settings.on_prem_networks.items()):
                aws.ec2.VpnConnectionRoute(
                    f"{prefix}-{net_name}",
                    vpn_connection_id=vpn.id,
                    destination_cidr_block=net.cidr,
                    opts=child_opts(self),
                )
        self._tunnel_alarms(gw_name, vpn)
        return cgw, vpn

    def _tunnel_alarms(self, gw_name: str, vpn: aws.ec2.VpnConnection) -> None:
        """With the VpnId dimension TunnelState aggregates both tunnels (1 up, 0 down):
        Minimum < 1 as soon as one tunnel is down (redundancy lost), Maximum < 1 only when
        both are (the link is down). Missing data is breaching: a silent VPN is not healthy."""
        common: dict[str, Any] = {
            "parent": self,
            "context": self._context,
            "component": COMPONENT,
            "topic_arn": self._topic,
            "namespace": "AWS/VPN",
            "metric_name": "TunnelState",
            "dimensions": {"VpnId": vpn.id},
            "threshold": 1,
            "comparison": "LessThanThreshold",
            "period": 300,
            "treat_missing_data": "breaching",
        }
        metric_alarm(
            f"{self._name}-{gw_name}-tunnel-down",
            description=(
                f"WARNING: a tunnel of VPN {gw_name} is down; the connection has no redundancy"
            ),
            statistic="Minimum",
            evaluation_periods=2,
            **common,
        )
        metric_alarm(
            f"{self._name}-{gw_name}-vpn-down",
            description=(
                f"CRITICAL: both tunnels of VPN {gw_name} are down; no VPN path to the data centre"
            ),
            statistic="Maximum",
            evaluation_periods=1,
            **common,
        )

    def _on_prem_view(
        self, gw: CustomerGatewaySettings, vpn: aws.ec2.VpnConnection
    ) -> dict[str, Any]:
        """What the on-prem engineers configure on the device; never the pre-shared keys
        (they read them from the secret config, or from the VPN console when AWS made them)."""
        view: dict[str, Any] = {
            "customerGatewayIp": gw.public_ip,
            "customerAsn": gw.bgp_asn,
            "amazonAsn": self._settings.amazon_side_asn,
            "routing": gw.routing,
        }
        for tunnel in TUNNELS:
            view[tunnel] = {
                "outsideIp": getattr(vpn, f"{tunnel}_address"),
                "insideCidr": getattr(gw, f"{tunnel}_inside_cidr"),
                "awsInsideIp": getattr(vpn, f"{tunnel}_vgw_inside_address"),
                "customerInsideIp": getattr(vpn, f"{tunnel}_cgw_inside_address"),
            }
        return view

    def _direct_connect(self) -> tuple[pulumi.Output[str] | None, pulumi.Output[str] | None]:
        dx = self._settings.direct_connect
        if not dx.enabled:
            return None, None
        gateway = aws.directconnect.Gateway(
            f"{self._name}-dxgw",
            name=f"{self._context.project}-{self._context.environment}-{self._name}",
            amazon_side_asn=str(dx.amazon_side_asn),
            tags=self._tags(Name=f"{self._name}-dxgw"),
            opts=stateful_opts(self, self._context),
        )
        aws.directconnect.GatewayAssociation(
            f"{self._name}-dxgw-vgw",
            dx_gateway_id=gateway.id,
            associated_gateway_id=self._vgw.id,
            # only the VPC is advertised to the data centres, stated so drift is detected
            allowed_prefixes=[self._network.vpc_cidr],
            opts=child_opts(self, depends_on=[self._attachment]),
        )
        if dx.connection_id is None:
            pulumi.log.info(
                "Direct Connect gateway and VGW association built; no private virtual interface "
                "until hybrid.directConnect.connectionId names the circuit (ordered outside IaC)",
                resource=self,
            )
            return gateway.id, None
        asn = dx.customer_bgp_asn
        vif = aws.directconnect.PrivateVirtualInterface(
            f"{self._name}-dx",
            name=f"{self._context.project}-{self._context.environment}-{self._name}",
            connection_id=dx.connection_id,
            vlan=dx.vlan,
            address_family="ipv4",
            bgp_asn=asn if asn <= MAX_VIF_BGP_ASN else None,
            bgp_asn_long=str(asn) if asn > MAX_VIF_BGP_ASN else None,
            amazon_address=dx.amazon_address,
            customer_address=dx.customer_address,
            dx_gateway_id=gateway.id,
            mtu=dx.mtu,
            tags=self._tags(Name=f"{self._name}-dx"),
            opts=stateful_opts(self, self._context),
        )
        metric_alarm(
            f"{self._name}-dx-down",
            parent=self,
            context=self._context,
            component=COMPONENT,
            topic_arn=self._topic,
            description=(
                f"CRITICAL: Direct Connect {dx.connection_id} is down; traffic falls back to VPN"
            ),
            namespace="AWS/DX",
            metric_name="ConnectionState",
            dimensions={"ConnectionId": dx.connection_id},
            statistic="Minimum",
            threshold=1,
            comparison="LessThanThreshold",
            period=300,
            evaluation_periods=1,
            treat_missing_data="breaching",
        )
        self.dashboard_widgets.append(
            metric_widget(
                f"{self._name}: Direct Connect {dx.connection_id} state (1 = up)",
                [["AWS/DX", "ConnectionState", "ConnectionId", dx.connection_id]],
                region=self._env.region,
                stat="Minimum",
            )
        )
        return gateway.id, vif.id


def _secret_psk(where: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
    """A PSK is only ever passed on as a secret; one that arrives as an Output is checked
    when it resolves (its value never appears in the message)."""

    def check(psk: str) -> str:
        check_preshared_key(where, psk)
        return psk

    return pulumi.Output.secret(pulumi.Output.from_input(value).apply(check))
