"""HybridConnectivity: the private link between the data centres and the VPC.

Site-to-Site VPN (a pair of IPsec tunnels per on-prem device, pinned to IKEv2 and strong
algorithms, tunnel activity logged to a KMS-encrypted log group) and, in prod, AWS Direct
Connect (a Direct Connect gateway associated with the VPC's virtual private gateway, plus a
private virtual interface once the circuit exists). The VPN stays up as the backup path of DX.

The on-prem ranges are declared once, here (`onPremNetworks`): SecureVpc's NACLs, the
security groups that admit on-prem clients and the static VPN routes all read them from here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi
import pulumi_aws as aws
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .aws_env import aws_env
from .base import SettingsModel, StackContext, check_log_retention, child_opts, stateful_opts
from .kms import customer_managed_key, logs_key_policy
from .observability import Widget, metric_alarm, metric_widget
from .onprem import ON_PREM_NAME, OnPremNetwork, check_on_prem_networks
from .secure_vpc import NetworkRef

COMPONENT = "hybrid-connectivity"

# --- AWS rules and the crypto policy ------------------------------------------------------

#: RFC 6996 private ASNs: the only values AWS accepts for a VGW's or DX gateway's Amazon side.
PRIVATE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
#: CustomerGateway.bgp_asn takes 1..2147483647; larger ASNs go in bgp_asn_extended.
MAX_CGW_BGP_ASN = 2147483647
#: PrivateVirtualInterface.bgp_asn takes 1..2147483646; larger ASNs go in bgp_asn_long.
MAX_VIF_BGP_ASN = 2147483646

LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
#: Inside CIDRs AWS reserves and refuses for VPN tunnels (Site-to-Site VPN tunnel options).
RESERVED_INSIDE_CIDRS = tuple(
    ipaddress.IPv4Network(c)
    for c in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)

# PCI DSS 4.2.1 / 2.2.7: strong cryptography only. IKEv1 (aggressive mode, weaker
# negotiation), AES128, SHA1 and DH groups 2/5 (1024-bit MODP) are never offered; DH groups
# 22-24 (RFC 5114 MODP with small subgroups) are left out as well. Both tunnels get the same
# pinned policy: a tunnel left on AWS defaults would accept all of the above.
IKE_VERSIONS = ("ikev2",)
ENCRYPTION_ALGORITHMS = ("AES256", "AES256-GCM-16")
INTEGRITY_ALGORITHMS = ("SHA2-256", "SHA2-384", "SHA2-512")
DH_GROUPS = (14, 15, 16, 17, 18, 19, 20, 21)
PHASE1_LIFETIME_SECONDS = 28800
PHASE2_LIFETIME_SECONDS = 3600
DPD_TIMEOUT_SECONDS = 30
#: Tunnel options a user may not override: listed so tests and docs read the same values.
TUNNEL_CRYPTO: Mapping[str, Any] = {
    "ike_versions": list(IKE_VERSIONS),
    "phase1_encryption_algorithms": list(ENCRYPTION_ALGORITHMS),
    "phase2_encryption_algorithms": list(ENCRYPTION_ALGORITHMS),
    "phase1_integrity_algorithms": list(INTEGRITY_ALGORITHMS),
    "phase2_integrity_algorithms": list(INTEGRITY_ALGORITHMS),
    "phase1_dh_group_numbers": list(DH_GROUPS),
    "phase2_dh_group_numbers": list(DH_GROUPS),
    "phase1_lifetime_seconds": PHASE1_LIFETIME_SECONDS,
    "phase2_lifetime_seconds": PHASE2_LIFETIME_SECONDS,
    "dpd_timeout_seconds": DPD_TIMEOUT_SECONDS,
    # a peer that stops answering is renegotiated, not left down until on-prem retries
    "dpd_timeout_action": "restart",
}

#: AWS: 8-64 characters of letters, digits, '.' and '_', not starting with 0.
_PSK = re.compile(r"^[A-Za-z0-9._]{8,64}$")
_DX_CONNECTION_ID = re.compile(r"^dxcon-[a-z0-9]{8,}$")
TUNNELS = ("tunnel1", "tunnel2")


def _asn_is_private(asn: int) -> bool:
    return any(low <= asn <= high for low, high in PRIVATE_ASN_RANGES)


def _private_asn(key: str, asn: int) -> int:
    if not _asn_is_private(asn):
        raise ValueError(
            f"{key} {asn} is not a private ASN; use 64512-65534 or 4200000000-4294967294"
        )
    return asn


def check_preshared_key(where: str, value: str) -> None:
    """AWS's PSK rule. The message names the key's place, never its value."""
    if not _PSK.match(value) or value.startswith("0"):
        raise ValueError(
            f"{where}: a VPN pre-shared key must be 8-64 letters, digits, '.' or '_' and must "
            "not start with 0 (value not shown)"
        )


# --- Settings ------------------------------------------------------------------------------


class CustomerGatewaySettings(SettingsModel):
    """One on-prem VPN device and its Site-to-Site VPN connection (a pair of tunnels)."""

    public_ip: str = Field(
        description="Public IPv4 address of the device's outside interface (static, routable)."
    )
    bgp_asn: int = Field(
        default=65000,
        description=(
            "The device's BGP ASN (private: 64512-65534 or 4200000000-4294967294). AWS needs "
            "one even for static routing; it must differ from `amazonSideAsn`."
        ),
    )
    routing: Literal["bgp", "static"] = Field(
        default="bgp",
        description=(
            "`bgp` (dynamic: BGP liveness moves traffic to the other tunnel) or `static` (for "
            "devices without BGP: one VPN route per onPremNetworks range)."
        ),
    )
    tunnel1_inside_cidr: str = Field(
        description=(
            "Inside /30 of tunnel 1, from 169.254.0.0/16 (not an AWS-reserved block). Pinned "
            "so the on-prem device configuration survives a replacement."
        ),
    )
    tunnel2_inside_cidr: str = Field(description="Inside /30 of tunnel 2 (same rules).")
    startup_action: Literal["start", "add"] = Field(
        default="start",
        description=(
            "`start`: AWS initiates IKE, so the tunnels come up without waiting for on-prem "
            "traffic; `add`: the device must initiate."
        ),
    )
    device_name: str | None = Field(
        default=None, description="Device make/model or host name, for the on-prem team."
    )

    @field_validator("public_ip")
    @classmethod
    def _public_ip(cls, value: str) -> str:
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError as exc:
            raise ValueError(f"publicIp {value!r} is not an IPv4 address") from exc
        if not address.is_global:
            raise ValueError(
                f"publicIp {value} is not a public address (private, shared, documentation or "
                "reserved range); give the device's internet-routable outside IP"
            )
        return str(address)

    @field_validator("bgp_asn")
    @classmethod
    def _bgp_asn(cls, value: int) -> int:
        return _private_asn("bgpAsn", value)

    @field_validator("tunnel1_inside_cidr", "tunnel2_inside_cidr")
    @classmethod
    def _inside_cidr(cls, value: str, info: ValidationInfo) -> str:
        return str(_inside_cidr(to_camel(info.field_name or "insideCidr"), value))


def _inside_cidr(key: str, value: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{key} {value!r} is not an IPv4 CIDR with host bits zero (e.g. 169.254.10.0/30)"
        ) from exc
    if net.prefixlen != 30:
        raise ValueError(f"{key} {value} must be a /30 (AWS tunnel inside CIDRs are /30)")
    if not net.subnet_of(LINK_LOCAL):
        raise ValueError(f"{key} {value} must be inside 169.254.0.0/16")
    for reserved in RESERVED_INSIDE_CIDRS:
        if net == reserved:
            raise ValueError(
                f"{key} {value} is reserved by AWS; avoid "
                f"{', '.join(str(r) for r in RESERVED_INSIDE_CIDRS)}"
            )
    return net


class DirectConnectSettings(SettingsModel):
    """AWS Direct Connect: DX gateway associated with the VGW, plus a private VIF."""

    enabled: bool = Field(
        default=True,
        description=(
            "Build the DX gateway and its association with the VGW (prod default; nonprod "
            "default false: VPN only)."
        ),
    )
    amazon_side_asn: int = Field(
        default=64513,
        description="Amazon-side ASN of the DX gateway (private range).",
    )
    connection_id: str | None = Field(
        default=None,
        description=(
            "Existing DX connection (`dxcon-...`) to put the private VIF on. The circuit is "
            "ordered outside IaC; without it only the gateway and association are built."
        ),
    )
    vlan: int | None = Field(
        default=None,
        ge=1,
        le=4094,
        description="802.1Q VLAN of the private VIF (required with connectionId).",
    )
    customer_bgp_asn: int = Field(
        default=65000,
        description="On-prem router's ASN on the VIF's BGP session (private range).",
    )
    amazon_address: str | None = Field(
        default=None,
        description="Amazon peer IP with prefix (e.g. 169.254.255.1/30); omit both: AWS picks.",
    )
    customer_address: str | None = Field(
        default=None,
        description="On-prem peer IP with prefix (e.g. 169.254.255.2/30); set with amazonAddress.",
    )
    mtu: Literal[1500, 9001] = Field(
        default=1500, description="MTU of the private VIF: 1500, or 9001 (jumbo frames)."
    )

    @field_validator("amazon_side_asn")
    @classmethod
    def _amazon_asn(cls, value: int) -> int:
        return _private_asn("directConnect.amazonSideAsn", value)

    @field_validator("customer_bgp_asn")
    @classmethod
    def _customer_asn(cls, value: int) -> int:
        return _private_asn("directConnect.customerBgpAsn", value)

    @field_validator("connection_id")
    @classmethod
    def _connection(cls, value: str | None) -> str | None:
        if value is not None and not _DX_CONNECTION_ID.match(value):
            raise ValueError(
                f"directConnect.connectionId {value!r} is not a DX connection id like "
                "dxcon-fgabc123"
            )
        return value

    @field_validator("amazon_address", "customer_address")
    @classmethod
    def _peer_address(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.IPv4Interface(value)
            except ValueError as exc:
                raise ValueError(
                    f"directConnect peer address {value!r} must be an IPv4 address with prefix "
                    "like 169.254.255.1/30"
                ) from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DirectConnectSettings:
        if self.amazon_side_asn == self.customer_bgp_asn:
            raise ValueError(
                f"directConnect.customerBgpAsn {self.customer_bgp_asn} equals "
                "directConnect.amazonSideAsn; the two BGP peers need different ASNs"
            )
        if self.connection_id is not None and not self.enabled:
            raise ValueError(
                "directConnect.connectionId is set but directConnect.enabled is false; enable "
                "Direct Connect or remove the connection id"
            )
        if self.connection_id is not None and self.vlan is None:
            raise ValueError("directConnect.vlan is required with directConnect.connectionId")
        if (self.amazon_address is None) != (self.customer_address is None):
            raise ValueError(
                "directConnect.amazonAddress and directConnect.customerAddress go together: "
                "set both or neither (AWS then assigns a 169.254.0.0/16 pair)"
            )
        if self.amazon_address is not None and self.customer_address is not None:
            amazon = ipaddress.IPv4Interface(self.amazon_address)
            customer = ipaddress.IPv4Interface(self.customer_address)
            if amazon.network != customer.network or amazon.ip == customer.ip:
                raise ValueError(
                    "directConnect.amazonAddress and directConnect.customerAddress must be two "
                    "different addresses of the same subnet"
                )
        return self


class HybridConnectivitySettings(SettingsModel):
    """Settings of the link to the data centres (stack key `payments-platform:hybrid`)."""

    on_prem_networks: dict[str, OnPremNetwork] = Field(
        default_factory=dict,
        description=(
            "Specific on-prem ranges by name, e.g. `hcm-dc-apps: {cidr: 172.16.0.0/20, "
            "naclSlot: 1}`. The only place on-prem CIDRs are declared: NACLs, security groups "
            "and VPN routes all read them from here."
        ),
    )
    amazon_side_asn: int = Field(
        default=64512,
        description=(
            "Amazon-side ASN of the virtual private gateway (private range); the VPN's BGP "
            "sessions use it. Changing it replaces the VGW."
        ),
    )
    customer_gateways: dict[str, CustomerGatewaySettings] = Field(
        default_factory=dict,
        description=(
            "On-prem VPN devices by name (lowercase, e.g. `hcm-dc-fw1`); each gets a customer "
            "gateway and a Site-to-Site VPN connection with two tunnels. Default none."
        ),
    )
    direct_connect: DirectConnectSettings = Field(
        default_factory=DirectConnectSettings,
        description="Direct Connect (prod: on; nonprod default: off).",
    )
    route_propagation_tiers: list[str] = Field(
        default_factory=lambda: ["app", "data"],
        description=(
            "Tiers whose route tables learn the on-prem routes from the VGW. `public` is "
            "refused: nothing internet-facing gets a path to the data centres."
        ),
    )
    tunnel_log_retention_days: int = Field(
        default=365,
        description="Days to keep VPN tunnel activity logs (PCI DSS 10.5.1: 365 in prod).",
    )

    @field_validator("on_prem_networks")
    @classmethod
    def _networks(cls, value: dict[str, OnPremNetwork]) -> dict[str, OnPremNetwork]:
        check_on_prem_networks(value)
        return value

    @field_validator("amazon_side_asn")
    @classmethod
    def _vgw_asn(cls, value: int) -> int:
        return _private_asn("amazonSideAsn", value)

    @field_validator("route_propagation_tiers")
    @classmethod
    def _tiers(cls, value: list[str]) -> list[str]:
        if "public" in value:
            raise ValueError(
                "routePropagationTiers may not include public: the public tier must never "
                "have a route to the data centres; list app, data or private extra tiers"
            )
        if len(set(value)) != len(value):
            raise ValueError("routePropagationTiers lists a tier twice")
        return value

    @field_validator("tunnel_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention("tunnelLogRetentionDays", value)

    @model_validator(mode="after")
    def _cross_checks(self) -> HybridConnectivitySettings:
        inside: dict[ipaddress.IPv4Network, str] = {}
        public_ips: dict[str, str] = {}
        for gw_name, gw in self.customer_gateways.items():
            key = f"customerGateways.{gw_name}"
            if not ON_PREM_NAME.match(gw_name):
                raise ValueError(
                    f"{key}: the name must be lowercase letters, digits and '-' (max 31); it "
                    "becomes part of resource names"
                )
            if gw.bgp_asn == self.amazon_side_asn:
                raise ValueError(
                    f"{key}.bgpAsn {gw.bgp_asn} equals amazonSideAsn; the customer gateway "
                    "and the virtual private gateway need different ASNs"
                )
            if gw.public_ip in public_ips:
                raise ValueError(
                    f"{key}.publicIp {gw.public_ip} is already used by "
                    f"customerGateways.{public_ips[gw.public_ip]}; each device has its own IP"
                )
            public_ips[gw.public_ip] = gw_name
            if gw.routing == "static" and not self.on_prem_networks:
                raise ValueError(
                    f"{key}.routing is static but onPremNetworks is empty; static VPN routes "
                    "come from onPremNetworks"
                )
            for tunnel in TUNNELS:
                cidr = ipaddress.IPv4Network(getattr(gw, f"{tunnel}_inside_cidr"))
                where = f"{key}.{tunnel}InsideCidr"
                if cidr in inside:
                    raise ValueError(
                        f"{where} {cidr} is already used by {inside[cidr]}; every tunnel on "
                        "the virtual private gateway needs its own inside /30"
                    )
                inside[cidr] = where
        return self

    @property
    def builds_direct_connect(self) -> bool:
        return self.direct_connect.enabled


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
        check_wiring(settings, network, pre_shared_keys)
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


def check_wiring(
    settings: HybridConnectivitySettings,
    network: NetworkRef,
    pre_shared_keys: Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]],
) -> None:
    declared = {n: net.cidr for n, net in settings.on_prem_networks.items()}
    if dict(network.on_prem_cidrs) != declared:
        raise ValueError(
            "hybrid.onPremNetworks differs from the ranges the network was built with; pass "
            "settings.hybrid.on_prem_networks to SecureVpc(on_prem=...) so NACLs and VPN "
            "routes read the same list"
        )
    for tier in settings.route_propagation_tiers:
        if tier not in network.route_table_ids:
            raise ValueError(
                f"routePropagationTiers: the network has no tier {tier!r}; use one of "
                f"{', '.join(t for t in sorted(network.route_table_ids) if t != 'public')}"
            )
    for gw_name, pair in pre_shared_keys.items():
        if gw_name not in settings.customer_gateways:
            raise ValueError(
                f"pre_shared_keys[{gw_name!r}]: there is no customerGateways.{gw_name}"
            )
        if len(pair) != 2:
            raise ValueError(f"pre_shared_keys[{gw_name!r}] must be (tunnel1 key, tunnel2 key)")
        for tunnel, value in zip(TUNNELS, pair, strict=True):
            if isinstance(value, str):
                check_preshared_key(f"pre_shared_keys[{gw_name!r}].{tunnel}", value)


def _secret_psk(where: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
    """A PSK is only ever passed on as a secret; one that arrives as an Output is checked
    when it resolves (its value never appears in the message)."""

    def check(psk: str) -> str:
        check_preshared_key(where, psk)
        return psk

    return pulumi.Output.secret(pulumi.Output.from_input(value).apply(check))
