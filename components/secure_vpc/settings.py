"""Settings of a SecureVpc (stack key `payments-platform:network`): plain data, each field
with its secure default and its own format check. Rules that relate fields, the references
or the environment are in ``checks.py``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import pulumi_awsx as awsx
from pydantic import Field, field_validator

from .. import catalogue
from ..core.settings import SettingsModel, check_log_retention
from . import plan

NatStrategy = Literal["OnePerAz", "Single", "None"]
# Keep our literals in step with awsx's enum, so the same words mean the same thing.
assert {s.value for s in awsx.ec2.NatGatewayStrategy} == {"OnePerAz", "Single", "None"}

GatewayEndpoint = Literal["s3", "dynamodb"]
DEFAULT_GATEWAY_ENDPOINTS: tuple[GatewayEndpoint, ...] = ("s3", "dynamodb")
DEFAULT_INTERFACE_ENDPOINTS = (
    "ssm",
    "ssmmessages",
    "ec2messages",
    "kms",
    "secretsmanager",
    "logs",
    "monitoring",
)
TIER_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
#: A domain as an AWS Network Firewall domain list takes it: an explicit name, or a leading
#: "." for the domain and all its subdomains (no "*", no address), lower case.
_DOMAIN = re.compile(
    r"^\.?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)
#: Domains an allow-list may hold: its rule group's capacity is fixed (a change of capacity
#: replaces the rule group), at two rules per domain (TLS SNI and HTTP Host).
MAX_ALLOWED_DOMAINS = 250


def _port_range(value: str) -> str:
    plan.parse_port_range(value)
    return value


class ExtraTier(SettingsModel):
    """An additional private subnet tier (e.g. `integration` for partner connectors)."""

    slot: int = Field(
        ge=3,
        lt=plan.MAX_TIER_SLOTS,
        description=(
            "Fixed block of the VPC this tier takes (3-7; 0-2 are public/app/data; 7 is the "
            "egress firewall's while the VPC has one)."
        ),
    )
    nat_egress: bool = Field(
        default=False,
        description="Route 0.0.0.0/0 via the NAT gateway and allow 443 out (default: isolated).",
    )
    ingress_ports: str | None = Field(
        default=None,
        description="Port or range (e.g. `8443` or `9000-9010`) open to this tier from the VPC.",
    )

    @field_validator("ingress_ports")
    @classmethod
    def _ports(cls, value: str | None) -> str | None:
        return None if value is None else _port_range(value)


class EgressFirewallSettings(SettingsModel):
    """The filtering point between the NAT'd tiers and their NAT gateways: an AWS Network
    Firewall that lets out only TLS (SNI) and HTTP (Host) connections to the listed domains
    (PCI DSS 1.3.2). Built whenever the VPC has NAT gateways and `enabled` is true."""

    enabled: bool = Field(
        default=True,
        description=(
            "Send the NAT'd tiers' internet traffic through the firewall (prod: required "
            "whenever the VPC has NAT gateways). `false` (nonprod only) gives plain NAT."
        ),
    )
    allowed_domains: list[str] = Field(
        default_factory=list,
        description=(
            "Destinations the app tier may reach on the internet: `api.example.com` (that "
            "name) or `.example.com` (the domain and its subdomains). Everything else is "
            "dropped. AWS services are reached through VPC endpoints, not through here."
        ),
    )
    log_retention_days: int = Field(
        default=365,
        description=(
            "Days to keep the firewall's alert and flow logs (prod at least 365, PCI DSS "
            "10.5.1; nonprod default 90)."
        ),
    )

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for domain in value:
            if len(domain) > 253 or not _DOMAIN.match(domain):
                raise ValueError(
                    f"{domain!r} is not a domain like api.example.com or .example.com (a "
                    "leading dot for the domain and its subdomains; lower case, no * or "
                    "address)"
                )
        if len(set(value)) != len(value):
            raise ValueError("a domain is listed twice")
        if len(value) > MAX_ALLOWED_DOMAINS:
            raise ValueError(
                f"{len(value)} domains: at most {MAX_ALLOWED_DOMAINS} (the rule group's "
                "fixed capacity); use .example.com for a whole domain"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)


class SecureVpcSettings(SettingsModel):
    """Settings of one VPC (stack key `payments-platform:network`)."""

    #: nonprod: 2 AZs, 90 days of flow and firewall logs (and, like prod, no NAT gateway
    #: unless asked: no NAT or firewall hours to pay)
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "availability_zones": ["a", "b"],
        "flow_log_retention_days": 90,
        "egress_firewall": {"log_retention_days": 90},
    }

    vpc_cidr: str = Field(
        default="10.10.0.0/16",
        description=(
            "IPv4 CIDR of the VPC, /16 to /22. Each of 8 tier blocks is 1/8 of it and each "
            "AZ subnet 1/8 of a tier block (a /16 gives /22 subnets)."
        ),
    )
    availability_zones: list[str] = Field(
        default_factory=lambda: ["a", "b", "c"],
        description=(
            "AZ letters of the region to use (prod default a, b, c; nonprod a, b). A subnet's "
            "CIDR depends only on its tier and AZ letter, so adding a letter adds subnets only."
        ),
    )
    nat_gateways: NatStrategy = Field(
        default="None",
        description=(
            "`None` (default: no internet egress; the hosts reach AWS through the VPC "
            "endpoints), `OnePerAz` (an AZ outage does not cut the others' egress; what prod "
            "uses when it needs the internet) or `Single` (one NAT in the first AZ, nonprod). "
            "With NAT, the egress goes through `egressFirewall`."
        ),
    )
    egress_firewall: EgressFirewallSettings = Field(
        default_factory=EgressFirewallSettings,
        description=(
            "The AWS Network Firewall the NAT'd tiers' egress passes (domain allow-list, "
            "logs). See docs/secure-vpc.md#egress-firewall for the routing and the cost."
        ),
    )
    app_ports: str = Field(
        default="8080",
        description="Port or range the app tier's instances listen on (NACL and SG boundary).",
    )
    on_prem_access: list[Literal["app", "data"]] = Field(
        default_factory=list,
        description=(
            "Tiers that accept connections from the on-prem ranges (hybrid.onPremNetworks): "
            "`app` opens 443 and the app ports, `data` the data-store ports. Default none."
        ),
    )
    extra_tiers: dict[str, ExtraTier] = Field(
        default_factory=dict,
        description="Additional private tiers by name, each with its own fixed slot.",
    )
    flow_log_retention_days: int = Field(
        default=365,
        description="Days to keep VPC flow logs (PCI DSS 10.5.1: at least 365 in prod).",
    )
    interface_endpoints: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS),
        description=(
            "Interface endpoint services (the part after com.amazonaws.<region>.), with "
            "private DNS, in the app tier, 443 from the VPC only."
        ),
    )
    gateway_endpoints: list[GatewayEndpoint] = Field(
        default_factory=lambda: list(DEFAULT_GATEWAY_ENDPOINTS),
        description="Gateway endpoints attached to every private route table.",
    )
    nacl_rule_quota: int = Field(
        default=plan.DEFAULT_NACL_RULE_QUOTA,
        ge=20,
        le=40,
        description=(
            "Rules per NACL per direction your account allows (AWS default 20, adjustable to "
            "40). The plan is rejected if a tier would need more."
        ),
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not an IPv4 CIDR with host bits zero (e.g. 10.10.0.0/16)"
            ) from exc
        if net.prefixlen < 16:
            raise ValueError(f"{value}: AWS allows VPC CIDRs from /16 to /28; use /16 or smaller")
        if net.prefixlen > plan.MAX_VPC_PREFIX_FOR_PLAN:
            raise ValueError(
                f"{value} is too small for the subnet plan: 8 tiers x 8 AZs needs at least a "
                f"/{plan.MAX_VPC_PREFIX_FOR_PLAN} so each subnet is a /28 or larger"
            )
        if not net.is_private:
            raise ValueError(f"{value} is not an RFC 1918 private range")
        return str(net)

    @field_validator("availability_zones")
    @classmethod
    def _azs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one AZ letter, e.g. [a, b, c]")
        for letter in value:
            if letter not in plan.AZ_LETTERS:
                raise ValueError(
                    f"{letter!r} is not an AZ letter; use letters a-h (the suffix of e.g. "
                    "ap-southeast-1a)"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"{value} repeats an AZ")
        return value

    @field_validator("app_ports")
    @classmethod
    def _app_ports(cls, value: str) -> str:
        return _port_range(value)

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        offered = catalogue.current().vpc_endpoint_services()
        for service in value:
            if not _ENDPOINT_NAME.match(service):
                raise ValueError(
                    f"{service!r} is not an endpoint service name like `ssm` or `ecr.api`; "
                    f"{catalogue.hint(service, offered)}"
                )
            catalogue.check_offered(service, offered, "a VPC interface endpoint service")
        if len(set(value)) != len(value):
            raise ValueError("an interface endpoint is listed twice")
        return value

    @field_validator("extra_tiers")
    @classmethod
    def _extra_tiers(cls, value: dict[str, ExtraTier]) -> dict[str, ExtraTier]:
        for name in value:
            if not TIER_NAME.match(name) or name in plan.RESERVED_TIER_NAMES:
                raise ValueError(
                    f"extra tier name {name!r} must be 2-16 lowercase letters/digits and not "
                    "public, app, data, firewall or staging"
                )
        return value
