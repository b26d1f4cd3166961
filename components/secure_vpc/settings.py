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


def _port_range(value: str) -> str:
    plan.parse_port_range(value)
    return value


class ExtraTier(SettingsModel):
    """An additional private subnet tier (e.g. `integration` for partner connectors)."""

    slot: int = Field(
        ge=3,
        lt=plan.MAX_TIER_SLOTS,
        description="Fixed block of the VPC this tier takes (3-7; 0-2 are public/app/data).",
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


class SecureVpcSettings(SettingsModel):
    """Settings of one VPC (stack key `payments-platform:network`)."""

    #: nonprod: 2 AZs, one NAT gateway (~$32/month each saved), 90 days of flow logs
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "availability_zones": ["a", "b"],
        "nat_gateways": "Single",
        "flow_log_retention_days": 90,
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
        default="OnePerAz",
        description=(
            "`OnePerAz` (prod default: an AZ outage does not cut the others' egress), `Single` "
            "(nonprod default: one NAT in the first AZ, ~$32/month each saved) or `None`."
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
            if not TIER_NAME.match(name) or name in plan.STANDARD_TIER_SLOTS:
                raise ValueError(
                    f"extra tier name {name!r} must be 2-16 lowercase letters/digits and not "
                    "public, app or data"
                )
        return value
