"""Settings of HybridConnectivity (stack key `payments-platform:hybrid`): plain data, each
field with its secure default and its own format check. Rules that relate fields, the
references or the environment are in ``checks.py``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from .. import catalogue
from ..core.onprem import ON_PREM_NAME, OnPremNetwork
from ..core.settings import SettingsModel, check_log_retention

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


def _private_asn(asn: int) -> int:
    if not _asn_is_private(asn):
        raise ValueError(f"{asn} is not a private ASN; use 64512-65534 or 4200000000-4294967294")
    return asn


def check_preshared_key(value: str) -> str:
    """AWS's rule for a VPN pre-shared key. The message never shows the value: the caller
    names the key's place (a config path, ``pre_shared_keys['<gateway>']``)."""
    if not _PSK.match(value) or value.startswith("0"):
        raise ValueError(
            "a VPN pre-shared key must be 8-64 letters, digits, '.' or '_' and must not start "
            "with 0 (value not shown)"
        )
    return value


def _inside_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an IPv4 CIDR with host bits zero (e.g. 169.254.10.0/30)"
        ) from exc
    if net.prefixlen != 30:
        raise ValueError(f"{value} must be a /30 (AWS tunnel inside CIDRs are /30)")
    if not net.subnet_of(LINK_LOCAL):
        raise ValueError(f"{value} must be inside 169.254.0.0/16")
    if net in RESERVED_INSIDE_CIDRS:
        raise ValueError(
            f"{value} is reserved by AWS; avoid {', '.join(str(r) for r in RESERVED_INSIDE_CIDRS)}"
        )
    return str(net)


def _peer_address(value: str | None) -> str | None:
    if value is not None:
        try:
            ipaddress.IPv4Interface(value)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} must be an IPv4 address with prefix like 169.254.255.1/30"
            ) from exc
    return value


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
        default=None,
        # EC2 CreateCustomerGateway DeviceName: up to 255 characters
        max_length=255,
        description="Device make/model or host name, for the on-prem team (at most 255).",
    )

    @field_validator("public_ip")
    @classmethod
    def _public_ip(cls, value: str) -> str:
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 address") from exc
        if not address.is_global:
            raise ValueError(
                f"{value} is not a public address (private, shared, documentation or reserved "
                "range); give the device's internet-routable outside IP"
            )
        return str(address)

    @field_validator("bgp_asn")
    @classmethod
    def _bgp_asn(cls, value: int) -> int:
        return _private_asn(value)

    @field_validator("tunnel1_inside_cidr", "tunnel2_inside_cidr")
    @classmethod
    def _inside_cidrs(cls, value: str) -> str:
        return _inside_cidr(value)


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

    @field_validator("amazon_side_asn", "customer_bgp_asn")
    @classmethod
    def _asns(cls, value: int) -> int:
        return _private_asn(value)

    @field_validator("connection_id")
    @classmethod
    def _connection(cls, value: str | None) -> str | None:
        if value is not None and not _DX_CONNECTION_ID.match(value):
            raise ValueError(f"{value!r} is not a DX connection id like dxcon-fgabc123")
        return value

    @field_validator("amazon_address", "customer_address")
    @classmethod
    def _peer_addresses(cls, value: str | None) -> str | None:
        return _peer_address(value)


# --- Rehost migration (AWS Application Migration Service) ---------------------------------

#: A source server as MGN names it (``s-`` and 17 hex digits) or as the data centre does (its
#: host name: letters, digits, '-' and '.', up to 253 characters).
_SOURCE_SERVER = re.compile(r"^(s-[0-9a-f]{17}|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$")
#: MGN's BandwidthThrottling: Mbps, 0 (no throttling) to 10000
#: (MGN API Reference, CreateReplicationConfigurationTemplate: "Valid Range 0-10000").
MAX_BANDWIDTH_MBPS = 10000
#: An AWS Migration Acceleration Program id (the ``map-migrated`` tag value MGN writes): a
#: tag value, kept to letters, digits and '-'.
_MAP_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class ReplicationSettings(SettingsModel):
    """MGN's replication configuration template (``AWS::MGN::ReplicationConfigurationTemplate``):
    how replication servers run in the staging area. The staging disks are always encrypted
    with the staging area's customer-managed key, the servers never get a public IP and the
    data travels to their private IPs (over VPN or Direct Connect): those are not settings."""

    instance_type: str = Field(
        default="t3.small",
        description=(
            "EC2 instance type of the replication servers (MGN's default t3.small serves up "
            "to 15 source disks each; larger for write-heavy servers)."
        ),
    )
    dedicated_servers: bool = Field(
        default=False,
        description="One replication server per source server (`true`) or shared (`false`).",
    )
    large_disk_type: Literal["GP3", "GP2", "ST1"] = Field(
        default="GP3",
        description=(
            "EBS type of staging disks larger than 500 GiB: `GP3` (default), `GP2` or `ST1` "
            "(cheaper, only for servers that write little)."
        ),
    )
    bandwidth_throttling_mbps: int = Field(
        default=0,
        ge=0,
        le=MAX_BANDWIDTH_MBPS,
        description=(
            "Cap (Mbps) on each source server's replication traffic, so replication does not "
            "crowd the production traffic on the VPN/DX link; 0 = no cap (0-10000)."
        ),
    )

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        # MGN's replication servers are EC2 instances; MGN's own default is t3.small (MGN
        # User Guide, "Replication server instance type")
        return catalogue.check_ec2_instance_type(value, "t3.small or m5.large")


class LaunchSettings(SettingsModel):
    """MGN's launch configuration template (``AWS::MGN::LaunchConfigurationTemplate``): how
    test and cutover instances are launched. It is account-wide and applied to each source
    server when its agent registers; where a server lands (subnet, security groups) is in the
    EC2 launch template MGN makes per server, set per wave (docs/mgn-cutover.md)."""

    boot_mode: Literal["USE_SOURCE", "LEGACY_BIOS", "UEFI"] = Field(
        default="USE_SOURCE",
        description="Boot mode of launched instances: the source's (default), BIOS or UEFI.",
    )
    os_byol: bool = Field(
        default=False,
        description=(
            "Bring your own OS licence (`true`); default `false`: license-included (AWS "
            "provides the Windows licence)."
        ),
    )
    right_sizing: Literal["NONE", "BASIC"] = Field(
        default="NONE",
        description=(
            "`NONE` (default): instances get the instance type the wave's app declares, set "
            "in each server's EC2 launch template; `BASIC`: MGN picks a type from the "
            "source's CPU and memory."
        ),
    )
    start_instances: bool = Field(
        default=True,
        description="Start launched instances (`true`) or leave them stopped for inspection.",
    )
    map_migration_id: str | None = Field(
        default=None,
        description=(
            "AWS Migration Acceleration Program id (e.g. `mig12345`): MGN tags launched "
            "resources with `map-migrated` for MAP credits. Default none (no MAP tagging)."
        ),
    )

    @field_validator("map_migration_id")
    @classmethod
    def _map_id(cls, value: str | None) -> str | None:
        if value is not None and not _MAP_ID.match(value):
            raise ValueError(
                f"{value!r} is not a MAP migration id like mig12345 (letters, digits and '-', "
                "from the MAP agreement)"
            )
        return value


class WaveSettings(SettingsModel):
    """One migration wave: source servers that are tested and cut over together into one app."""

    app: str = Field(
        description=(
            "The app (a key of `apps`) whose subnets and instance security group the wave's "
            "test and cutover instances launch into."
        ),
    )
    source_servers: list[str] = Field(
        min_length=1,
        description=(
            "The wave's source servers: host names as the data centre knows them (what the "
            "agent registers) or MGN source server ids (`s-` and 17 hex digits)."
        ),
    )

    @field_validator("source_servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        for server in value:
            if not _SOURCE_SERVER.match(server):
                raise ValueError(
                    f"{server!r} is not a host name (letters, digits, '-', '.') or an MGN "
                    "source server id like s-0123456789abcdef0"
                )
        if len(set(value)) != len(value):
            raise ValueError("a source server is listed twice")
        return value


class MigrationSettings(SettingsModel):
    """The landing area of a rehost (lift-and-shift) with AWS Application Migration Service.
    Present only for the migration; removing it after cutover deletes only what it built."""

    source_networks: list[str] | None = Field(
        default=None,
        description=(
            "Names of `onPremNetworks` whose servers replicate; only they reach the staging "
            "area (TCP 1500, HTTPS to its endpoints). Default: every on-prem range."
        ),
    )
    staging_az: str | None = Field(
        default=None,
        description=(
            "AZ letter of the staging subnet the replication template uses (default: the "
            "VPC's first AZ). Every AZ gets a staging subnet; a source server can be moved."
        ),
    )
    replication: ReplicationSettings = Field(
        default_factory=ReplicationSettings,
        description="Replication servers: instance type, disk type, bandwidth cap.",
    )
    launch: LaunchSettings = Field(
        default_factory=LaunchSettings,
        description="How test and cutover instances launch (boot mode, licensing, MAP).",
    )
    waves: dict[str, WaveSettings] = Field(
        default_factory=dict,
        description=(
            "Migration waves by name (lowercase, e.g. `wave1-loyalty`): each names its source "
            "servers and the app they land in. Default none."
        ),
    )
    agent_installers: list[str] = Field(
        default_factory=list,
        description=(
            "IAM role ARNs (wildcards allowed, e.g. an Identity Center role) that may assume "
            "the agent-installation role (1-hour sessions). Default: the stack's "
            "`administrators`."
        ),
    )
    event_rules: bool = Field(
        default=True,
        description=(
            "Send MGN's events (replication stalled, launch results, lifecycle changes) to "
            "the alarm topic."
        ),
    )

    @field_validator("staging_az")
    @classmethod
    def _az(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value not in "abcdefgh"):
            raise ValueError(f"{value!r} is not an AZ letter a-h (the suffix of ap-southeast-1a)")
        return value

    @field_validator("source_networks")
    @classmethod
    def _sources(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError(
                    "is empty: list the onPremNetworks whose servers replicate, or leave it "
                    "out for all of them"
                )
            if len(set(value)) != len(value):
                raise ValueError("a network is listed twice")
        return value

    @field_validator("agent_installers")
    @classmethod
    def _installers(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@*/-]+$", arn):
                raise ValueError(
                    f"{arn!r} is not an IAM role ARN like arn:aws:iam::123456789012:role/"
                    "migration-engineer (wildcards allowed in the name)"
                )
        return value

    @field_validator("waves")
    @classmethod
    def _wave_names(cls, value: dict[str, WaveSettings]) -> dict[str, WaveSettings]:
        for name in value:
            if not ON_PREM_NAME.match(name):
                raise ValueError(
                    f"wave name {name!r} must be 1-31 lowercase letters, digits and '-' "
                    "(it becomes part of tags and outputs)"
                )
        return value


class HybridConnectivitySettings(SettingsModel):
    """Settings of the link to the data centres (stack key `payments-platform:hybrid`)."""

    #: nonprod: VPN only (no Direct Connect), 90 days of tunnel logs
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "direct_connect": {"enabled": False},
        "tunnel_log_retention_days": 90,
    }

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
            "Tiers whose route tables learn the on-prem routes from the VGW. `public` and "
            "`firewall` are refused: nothing on the way to the internet gets a path to the "
            "data centres."
        ),
    )
    tunnel_log_retention_days: int = Field(
        default=365,
        description="Days to keep VPN tunnel activity logs (PCI DSS 10.5.1: 365 in prod).",
    )
    migration: MigrationSettings | None = Field(
        default=None,
        description=(
            "The rehost landing area for AWS Application Migration Service (staging subnets, "
            "endpoints, replication and launch templates, waves): present only while "
            "migrating, removed after cutover. Default none. See docs/mgn-cutover.md."
        ),
    )

    @field_validator("amazon_side_asn")
    @classmethod
    def _vgw_asn(cls, value: int) -> int:
        return _private_asn(value)

    @field_validator("route_propagation_tiers")
    @classmethod
    def _tiers(cls, value: list[str]) -> list[str]:
        if "public" in value:
            raise ValueError(
                "may not include public: the public tier must never have a route to the data "
                "centres; list app, data or private extra tiers"
            )
        if "firewall" in value:
            raise ValueError(
                "may not include firewall: the egress firewall's subnets forward only to the "
                "NAT gateways, never to the data centres; list app, data or private extra tiers"
            )
        if len(set(value)) != len(value):
            raise ValueError(f"{value} lists a tier twice")
        return value

    @field_validator("tunnel_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)
