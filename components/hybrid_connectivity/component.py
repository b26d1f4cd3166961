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

from ..core.alarms import Widget, raise_alarms
from ..core.aws_env import aws_env
from ..core.kms import customer_managed_key, logs_key_policy
from ..core.problems import raise_problems
from ..core.scope import Scope
from ..core.settings import StackContext
from ..ha_app_tier.component import AppRef
from ..secure_vpc import NetworkRef, check_network_ref
from .alarms import alarms, dashboard_widgets
from .checks import PreSharedKeys, check, check_keys
from .migration import build_migration
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
TYPE = "payments:index:HybridConnectivity"

KeyPair = tuple[pulumi.Input[str], pulumi.Input[str]]


def preshared_keys_from_config(
    settings: HybridConnectivitySettings,
    *,
    config: pulumi.Config | None = None,
    key: str = "vpnPresharedKeys",
) -> dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]]:
    """Read the VPN pre-shared keys from the secret stack key ``<project>:vpnPresharedKeys``
    (``{<gateway>: {tunnel1: ..., tunnel2: ...}}``, set with ``pulumi config set --secret
    --path``) and return them as secret Outputs. Gateways not listed get AWS-generated keys.

    The keys are checked here (the rules of :func:`~.checks.check_keys`), before any resource
    is registered; every problem is reported at once, naming the key's path, never its value.
    A key stored in plain text in the stack file is refused.
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
    problems: list[str] = []
    pairs: dict[str, tuple[str, str]] = {}
    for gw_name, pair in raw.items():
        if not isinstance(pair, dict) or set(pair) != set(TUNNELS):
            problems.append(f"{full_key}.{gw_name} must have exactly tunnel1 and tunnel2")
            continue
        pairs[gw_name] = (str(pair["tunnel1"]), str(pair["tunnel2"]))
    problems += [f"{full_key}.{p.key[-1]}: {p.message}" for p in check_keys(settings, pairs)]
    if problems:
        raise ValueError("\n".join(problems))
    return {
        gw_name: (pulumi.Output.secret(tunnel1), pulumi.Output.secret(tunnel2))
        for gw_name, (tunnel1, tunnel2) in pairs.items()
    }


@dataclass(frozen=True)
class VpnGateway:
    """The virtual private gateway and its attachment to the VPC (which AWS requires before
    route propagation or a DX gateway association)."""

    gateway: aws.ec2.VpnGateway
    attachment: aws.ec2.VpnGatewayAttachment


@dataclass(frozen=True)
class Vpn:
    """One on-prem device: its customer gateway and its Site-to-Site VPN connection."""

    customer_gateway: aws.ec2.CustomerGateway
    connection: aws.ec2.VpnConnection


@dataclass(frozen=True)
class DirectConnect:
    """The ids of what Direct Connect built (None: disabled, or no circuit named yet)."""

    gateway_id: pulumi.Output[str] | None = None
    virtual_interface_id: pulumi.Output[str] | None = None


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
    #: what the cutover runbook needs of the rehost landing area (None: no migration)
    migration: pulumi.Output[dict[str, Any]] | None
    dashboard_widgets: list[Widget]

    def __init__(
        self,
        name: str,
        settings: HybridConnectivitySettings,
        *,
        context: StackContext,
        network: NetworkRef,
        alarm_topic_arn: pulumi.Input[str],
        pre_shared_keys: PreSharedKeys | None = None,
        apps: Mapping[str, AppRef] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = settings.for_environment(context.environment)
        keys = {} if pre_shared_keys is None else pre_shared_keys
        problems = check_network_ref(network)
        problems += check(
            name,
            settings,
            context=context,
            network=network.plan if not problems else None,
            pre_shared_keys=keys,
            apps=None if apps is None else list(apps),
        )
        raise_problems("HybridConnectivity", name, problems, HybridConnectivitySettings)
        super().__init__(TYPE, name, None, opts)
        scope = Scope(self, name, context, COMPONENT, aws_env(self))

        vgw = vpn_gateway(scope, settings, network)
        propagate_routes(scope, settings, network, vgw)
        log_group = tunnel_log_group(scope, settings)
        vpns = {
            gw_name: site_to_site_vpn(scope, settings, gw_name, vgw, log_group, keys.get(gw_name))
            for gw_name in settings.customer_gateways
        }
        dx = direct_connect(scope, settings, network, vgw)
        vpn_ids = {gw_name: vpn.connection.id for gw_name, vpn in vpns.items()}
        raise_alarms(scope, alarms(settings, vpn_ids), alarm_topic_arn)
        self.migration = (
            build_migration(
                scope, settings, network, vgw.gateway, vgw.attachment, apps or {}, alarm_topic_arn
            )
            if settings.migration is not None
            else None
        )

        self.dashboard_widgets = dashboard_widgets(name, settings, vpn_ids, region=scope.env.region)
        self.vpn_gateway_id = vgw.gateway.id
        # Outputs nested in plain containers resolve as one Output (typed loosely by the SDK).
        self.customer_gateway_ids = pulumi.Output.from_input(
            cast(Any, {gw_name: vpn.customer_gateway.id for gw_name, vpn in vpns.items()})
        )
        self.vpn_connection_ids = pulumi.Output.from_input(cast(Any, vpn_ids))
        self.tunnels = pulumi.Output.from_input(
            cast(
                Any,
                {gw_name: on_prem_view(settings, gw_name, vpn) for gw_name, vpn in vpns.items()},
            )
        )
        self.dx_gateway_id = dx.gateway_id
        self.dx_virtual_interface_id = dx.virtual_interface_id
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
                "migration": self.migration,
            }
        )


def vpn_gateway(
    scope: Scope, settings: HybridConnectivitySettings, network: NetworkRef
) -> VpnGateway:
    """The AWS end of both the VPN and DX, attached separately so the VGW survives a
    re-attachment."""
    gateway = aws.ec2.VpnGateway(
        f"{scope.name}-vgw",
        amazon_side_asn=str(settings.amazon_side_asn),
        tags=scope.tags(Name=f"{scope.name}-vgw"),
        opts=scope.opts(),
    )
    attachment = aws.ec2.VpnGatewayAttachment(
        f"{scope.name}-vgw",
        vpc_id=network.vpc_id,
        vpn_gateway_id=gateway.id,
        opts=scope.opts(),
    )
    return VpnGateway(gateway, attachment)


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


def propagate_routes(
    scope: Scope, settings: HybridConnectivitySettings, network: NetworkRef, vgw: VpnGateway
) -> None:
    """On-prem routes (BGP-learned or static) reach only the tiers the settings name; AWS
    requires the VGW to be attached before propagation is enabled."""
    for target in _propagation_targets(network, settings.route_propagation_tiers):
        aws.ec2.VpnGatewayRoutePropagation(
            f"{scope.name}-{target.key}",
            vpn_gateway_id=vgw.gateway.id,
            route_table_id=target.route_table_id,
            opts=scope.opts(depends_on=[vgw.attachment]),
        )


def tunnel_log_group(scope: Scope, settings: HybridConnectivitySettings) -> aws.cloudwatch.LogGroup:
    """PCI DSS 10.2 / 10.5: IKE and tunnel events kept a year, encrypted with a CMK."""
    ctx = scope.context
    key = customer_managed_key(
        f"{scope.name}-vpn-logs",
        description=f"Encrypts Site-to-Site VPN tunnel logs of {scope.name}",
        policy=logs_key_policy(scope.env),
        context=ctx,
        component=scope.component,
        parent=scope.parent,
    )
    return aws.cloudwatch.LogGroup(
        f"{scope.name}-vpn-logs",
        name=f"/{ctx.project}/{ctx.environment}/vpn/{scope.name}/tunnels",
        retention_in_days=settings.tunnel_log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )


def site_to_site_vpn(
    scope: Scope,
    settings: HybridConnectivitySettings,
    gw_name: str,
    vgw: VpnGateway,
    log_group: aws.cloudwatch.LogGroup,
    keys: KeyPair | None,
) -> Vpn:
    """The device's customer gateway and its VPN connection: both tunnels pinned to the
    crypto policy, logged, with the inside /30s from the settings (and, for static routing,
    one route per on-prem range)."""
    gw = settings.customer_gateways[gw_name]
    prefix = f"{scope.name}-{gw_name}"
    asn = str(gw.bgp_asn)
    cgw = aws.ec2.CustomerGateway(
        prefix,
        type="ipsec.1",
        ip_address=gw.public_ip,
        bgp_asn=asn if gw.bgp_asn <= MAX_CGW_BGP_ASN else None,
        bgp_asn_extended=asn if gw.bgp_asn > MAX_CGW_BGP_ASN else None,
        device_name=gw.device_name,
        tags=scope.tags(Name=prefix),
        opts=scope.opts(),
    )
    vpn = aws.ec2.VpnConnection(
        prefix,
        type="ipsec.1",
        customer_gateway_id=cgw.id,
        vpn_gateway_id=vgw.gateway.id,
        static_routes_only=gw.routing == "static",
        tags=scope.tags(Name=prefix, routing=gw.routing),
        # the tunnels' outside IPs and keys live in the on-prem device's configuration:
        # a mistaken delete in prod is an outage until the data centre reconfigures
        opts=scope.stateful_opts(),
        **_tunnel_options(gw_name, gw, log_group, keys),
    )
    if gw.routing == "static":
        for net_name, net in sorted(settings.on_prem_networks.items()):
            aws.ec2.VpnConnectionRoute(
                f"{prefix}-{net_name}",
                vpn_connection_id=vpn.id,
                destination_cidr_block=net.cidr,
                opts=scope.opts(),
            )
    return Vpn(cgw, vpn)


def _tunnel_options(
    gw_name: str,
    gw: CustomerGatewaySettings,
    log_group: aws.cloudwatch.LogGroup,
    keys: KeyPair | None,
) -> dict[str, Any]:
    """The ``tunnel1_*``/``tunnel2_*`` arguments of a VPN connection."""
    log_options = {
        "cloudwatch_log_options": {
            "log_enabled": True,
            "log_group_arn": log_group.arn,
            "log_output_format": "json",
        }
    }
    args: dict[str, Any] = {}
    for index, tunnel in enumerate(TUNNELS):
        for option, value in TUNNEL_CRYPTO.items():
            args[f"{tunnel}_{option}"] = value
        args[f"{tunnel}_inside_cidr"] = getattr(gw, f"{tunnel}_inside_cidr")
        args[f"{tunnel}_startup_action"] = gw.startup_action
        args[f"{tunnel}_log_options"] = log_options
        if keys is not None:
            args[f"{tunnel}_preshared_key"] = _secret_psk(
                f"pre_shared_keys[{gw_name!r}] {tunnel}", keys[index]
            )
    return args


def _secret_psk(where: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
    """A PSK is only ever passed on as a secret; one that arrives as an Output is checked
    when it resolves (its value never appears in the message)."""

    def checked(psk: str) -> str:
        try:
            return check_preshared_key(psk)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None

    return pulumi.Output.secret(pulumi.Output.from_input(value).apply(checked))


def on_prem_view(settings: HybridConnectivitySettings, gw_name: str, vpn: Vpn) -> dict[str, Any]:
    """What the on-prem engineers configure on the device; never the pre-shared keys
    (they read them from the secret config, or from the VPN console when AWS made them)."""
    gw = settings.customer_gateways[gw_name]
    connection = vpn.connection
    view: dict[str, Any] = {
        "customerGatewayIp": gw.public_ip,
        "customerAsn": gw.bgp_asn,
        "amazonAsn": settings.amazon_side_asn,
        "routing": gw.routing,
    }
    for tunnel in TUNNELS:
        view[tunnel] = {
            "outsideIp": getattr(connection, f"{tunnel}_address"),
            "insideCidr": getattr(gw, f"{tunnel}_inside_cidr"),
            "awsInsideIp": getattr(connection, f"{tunnel}_vgw_inside_address"),
            "customerInsideIp": getattr(connection, f"{tunnel}_cgw_inside_address"),
        }
    return view


def direct_connect(
    scope: Scope, settings: HybridConnectivitySettings, network: NetworkRef, vgw: VpnGateway
) -> DirectConnect:
    """The DX gateway associated with the VGW and, once the circuit is named, the private
    virtual interface on it."""
    dx = settings.direct_connect
    if not dx.enabled:
        return DirectConnect()
    ctx = scope.context
    gateway = aws.directconnect.Gateway(
        f"{scope.name}-dxgw",
        name=f"{ctx.project}-{ctx.environment}-{scope.name}",
        amazon_side_asn=str(dx.amazon_side_asn),
        tags=scope.tags(Name=f"{scope.name}-dxgw"),
        opts=scope.stateful_opts(),
    )
    aws.directconnect.GatewayAssociation(
        f"{scope.name}-dxgw-vgw",
        dx_gateway_id=gateway.id,
        associated_gateway_id=vgw.gateway.id,
        # only the VPC is advertised to the data centres, stated so drift is detected
        allowed_prefixes=[network.vpc_cidr],
        opts=scope.opts(depends_on=[vgw.attachment]),
    )
    if dx.connection_id is None:
        pulumi.log.info(
            "Direct Connect gateway and VGW association built; no private virtual interface "
            "until hybrid.directConnect.connectionId names the circuit (ordered outside IaC)",
            resource=scope.parent,
        )
        return DirectConnect(gateway.id)
    asn = dx.customer_bgp_asn
    vif = aws.directconnect.PrivateVirtualInterface(
        f"{scope.name}-dx",
        name=f"{ctx.project}-{ctx.environment}-{scope.name}",
        connection_id=dx.connection_id,
        vlan=dx.vlan,
        address_family="ipv4",
        bgp_asn=asn if asn <= MAX_VIF_BGP_ASN else None,
        bgp_asn_long=str(asn) if asn > MAX_VIF_BGP_ASN else None,
        amazon_address=dx.amazon_address,
        customer_address=dx.customer_address,
        dx_gateway_id=gateway.id,
        mtu=dx.mtu,
        tags=scope.tags(Name=f"{scope.name}-dx"),
        opts=scope.stateful_opts(),
    )
    return DirectConnect(gateway.id, vif.id)
