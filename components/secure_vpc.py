"""SecureVpc: a tiered, NACL-guarded, flow-logged VPC built from plain pulumi-aws resources.

Why not ``awsx.ec2.Vpc``: awsx is a remote (multi-language) component, so under Pulumi mocks
it is one opaque node: none of its subnets, routes or NAT gateways can be seen in an offline
plan or asserted in a test, which is what our auditors review. It has no NACLs and no flow
logs, and releases have re-laid out every subnet on upgrade (pulumi-awsx #1152, #1204).
We keep its vocabulary for the NAT strategy (``OnePerAz`` / ``Single`` / ``None``) so that
teams moving from awsx read the same words.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx
from pydantic import Field, field_validator, model_validator

from . import network_plan as plan
from .aws_env import assume_role_policy, aws_env, policy_json
from .base import SettingsModel, StackContext, check_log_retention, child_opts, stateful_opts
from .kms import customer_managed_key, logs_key_policy
from .onprem import OnPremNetwork
from .security_groups import Rule, restricted_security_group

COMPONENT = "secure-vpc"

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
_TIER_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")
_ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
_PORTS = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def parse_port_range(value: str) -> tuple[int, int]:
    match = _PORTS.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a port or port range like 8080 or 8080-8089")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"{value!r}: ports must satisfy 1 <= from <= to <= 65535")
    if low <= 22 <= high:
        raise ValueError(f"{value!r} includes port 22; shell access goes through SSM only")
    return low, high


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
        if value is not None:
            parse_port_range(value)
        return value


class SecureVpcSettings(SettingsModel):
    """Settings of one VPC (stack key `payments-platform:network`)."""

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
        parse_port_range(value)
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention("flowLogRetentionDays", value)

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        for service in value:
            if not _ENDPOINT_NAME.match(service):
                raise ValueError(
                    f"{service!r} is not an endpoint service name like `ssm` or `ecr.api`"
                )
        if len(set(value)) != len(value):
            raise ValueError("an interface endpoint is listed twice")
        return value

    @field_validator("extra_tiers")
    @classmethod
    def _extra_tiers(cls, value: dict[str, ExtraTier]) -> dict[str, ExtraTier]:
        slots: dict[int, str] = {}
        for name, tier in value.items():
            if not _TIER_NAME.match(name) or name in plan.STANDARD_TIER_SLOTS:
                raise ValueError(
                    f"extra tier name {name!r} must be 2-16 lowercase letters/digits and not "
                    "public, app or data"
                )
            if tier.slot in slots:
                raise ValueError(f"{name}.slot {tier.slot} is already used by {slots[tier.slot]}")
            slots[tier.slot] = name
        return value

    @model_validator(mode="after")
    def _nat_for_extra_tiers(self) -> SecureVpcSettings:
        for name, tier in self.extra_tiers.items():
            if tier.nat_egress and self.nat_gateways == "None":
                raise ValueError(
                    f"extraTiers.{name}.natEgress needs a NAT gateway; set natGateways to "
                    "Single or OnePerAz, or natEgress to false"
                )
        return self

    # --- derived plan -------------------------------------------------------------------

    @property
    def tier_slots(self) -> dict[str, int]:
        return {**plan.STANDARD_TIER_SLOTS, **{n: t.slot for n, t in self.extra_tiers.items()}}

    @property
    def nat_azs(self) -> list[str]:
        """AZ letters that get a NAT gateway."""
        if self.nat_gateways == "OnePerAz":
            return list(self.availability_zones)
        if self.nat_gateways == "Single":
            return [sorted(self.availability_zones)[0]]
        return []

    def subnet_cidrs(self) -> dict[tuple[str, str], str]:
        """(tier, AZ letter) -> CIDR, for every subnet of the VPC."""
        return {
            (tier, az): plan.subnet_cidr(self.vpc_cidr, slot, az)
            for tier, slot in self.tier_slots.items()
            for az in self.availability_zones
        }

    def planned_ref(self, on_prem: Mapping[str, OnPremNetwork] | None = None) -> NetworkRef:
        """The NetworkRef this VPC will have, with placeholder ids: lets the stack check every
        component's wiring before anything is registered. Never pass it to a component."""

        def pending(what: str) -> pulumi.Output[str]:
            return cast(pulumi.Output[str], f"<planned {what}>")

        tiers = self.tier_slots
        return NetworkRef(
            vpc_id=pending("vpc"),
            vpc_cidr=self.vpc_cidr,
            availability_zones=tuple(self.availability_zones),
            tier_cidrs={t: str(plan.tier_block(self.vpc_cidr, slot)) for t, slot in tiers.items()},
            subnet_ids={
                t: {az: pending(f"subnet {t}-{az}") for az in self.availability_zones}
                for t in tiers
            },
            route_table_ids={
                t: {az: pending(f"route table {t}-{az}") for az in self.availability_zones}
                for t in tiers
            },
            endpoint_security_group_id=pending("endpoint sg"),
            db_subnet_group_name=pending("db subnet group"),
            docdb_subnet_group_name=pending("docdb subnet group"),
            cache_subnet_group_name=pending("cache subnet group"),
            on_prem_cidrs={n: o.cidr for n, o in (on_prem or {}).items()},
        )

    def tier_uses_nat(self, tier: str) -> bool:
        if tier == "app":
            return self.nat_gateways != "None"
        extra = self.extra_tiers.get(tier)
        return bool(extra and extra.nat_egress)

    def nacl_rules(
        self,
        *,
        on_prem: Mapping[str, OnPremNetwork] | None = None,
        data_services: Iterable[str] = (),
        dms_source_engines: Iterable[str] = (),
    ) -> list[plan.NaclRule]:
        """The numbered NACL rules of every tier; raises ValueError over the quota."""
        app_from, app_to = parse_port_range(self.app_ports)
        tiers: dict[str, plan.TierSpec] = {}
        for tier, slot in self.tier_slots.items():
            extra = self.extra_tiers.get(tier)
            ingress = (
                parse_port_range(extra.ingress_ports) if extra and extra.ingress_ports else (0, 0)
            )
            tiers[tier] = plan.TierSpec(
                name=tier,
                slot=slot,
                cidr=str(plan.tier_block(self.vpc_cidr, slot)),
                nat_egress=bool(extra and extra.nat_egress),
                ingress_from=ingress[0],
                ingress_to=ingress[1],
            )
        rules = plan.plan_nacl_rules(
            plan.NaclInputs(
                vpc_cidr=self.vpc_cidr,
                tiers=tiers,
                app_port_from=app_from,
                app_port_to=app_to,
                nat_available=self.nat_gateways != "None",
                on_prem={n: (o.cidr, o.nacl_slot) for n, o in (on_prem or {}).items()},
                on_prem_to_app="app" in self.on_prem_access,
                on_prem_to_data="data" in self.on_prem_access,
                data_services=tuple(sorted(set(data_services))),
                dms_source_engines=tuple(sorted(set(dms_source_engines))),
            )
        )
        for (tier, egress), count in plan.count_rules(rules).items():
            if count > self.nacl_rule_quota:
                raise ValueError(
                    f"network.naclRuleQuota: the {tier} tier needs {count} "
                    f"{'outbound' if egress else 'inbound'} NACL rules, over the quota of "
                    f"{self.nacl_rule_quota}; raise the AWS quota and naclRuleQuota (max 40), or "
                    "declare fewer on-prem ranges/data stores for this tier"
                )
        return rules


@dataclass(frozen=True)
class NetworkRef:
    """What other components need of a SecureVpc; pass this one object, not its pieces."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    tier_cidrs: Mapping[str, str]  # tier -> the tier's block (covers its subnets in every AZ)
    subnet_ids: Mapping[str, Mapping[str, pulumi.Output[str]]]  # tier -> AZ letter -> id
    route_table_ids: Mapping[str, Mapping[str, pulumi.Output[str]]]  # tier -> AZ letter -> id
    endpoint_security_group_id: pulumi.Output[str]
    db_subnet_group_name: pulumi.Output[str]
    docdb_subnet_group_name: pulumi.Output[str]
    cache_subnet_group_name: pulumi.Output[str]
    on_prem_cidrs: Mapping[str, str]  # name -> CIDR

    def tier_subnet_ids(self, tier: str) -> list[pulumi.Output[str]]:
        """The subnet ids of a tier, in AZ-letter order."""
        return [self.subnet_ids[tier][az] for az in sorted(self.subnet_ids[tier])]


class SecureVpc(pulumi.ComponentResource):
    """A VPC with public/app/data tiers (plus named extras), per-tier NACLs, flow logs,
    locked-down defaults, VPC endpoints and data-tier subnet groups."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    subnet_ids: pulumi.Output[dict[str, list[str]]]
    route_table_ids: pulumi.Output[dict[str, list[str]]]
    endpoint_security_group_id: pulumi.Output[str]
    db_subnet_group_name: pulumi.Output[str]
    docdb_subnet_group_name: pulumi.Output[str]
    cache_subnet_group_name: pulumi.Output[str]
    flow_log_group_name: pulumi.Output[str]
    nat_gateway_ids: pulumi.Output[dict[str, str]]
    ref: NetworkRef

    def __init__(
        self,
        name: str,
        settings: SecureVpcSettings,
        *,
        context: StackContext,
        on_prem: Mapping[str, OnPremNetwork] | None = None,
        data_services: Iterable[str] = (),
        dms_source_engines: Iterable[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Validate the whole rule plan before the component registers anything.
        on_prem = dict(on_prem or {})
        nacl_rules = settings.nacl_rules(
            on_prem=on_prem, data_services=data_services, dms_source_engines=dms_source_engines
        )
        super().__init__("payments:index:SecureVpc", name, None, opts)
        self._name = name
        self._settings = settings
        self._context = context
        self._env = aws_env(self)

        self._vpc = aws.ec2.Vpc(
            name,
            cidr_block=settings.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags(Name=name),
            opts=child_opts(self),
        )
        self._lock_down_defaults()
        subnets = self._subnets()
        self._igw = aws.ec2.InternetGateway(
            f"{name}-igw",
            vpc_id=self._vpc.id,
            tags=self._tags(Name=f"{name}-igw"),
            opts=child_opts(self),
        )
        nat_ids = self._nat_gateways(subnets)
        route_tables = self._route_tables(subnets, nat_ids)
        self._nacls(subnets, nacl_rules)
        self._flow_logs()
        endpoint_sg = self._endpoints(subnets, route_tables)
        groups = self._subnet_groups(subnets)

        subnet_ids = {
            tier: {az: subnets[(tier, az)].id for az in settings.availability_zones}
            for tier in settings.tier_slots
        }
        rt_ids = {
            tier: {
                az: route_tables[self._table_names[tier][az]].id
                for az in settings.availability_zones
            }
            for tier in settings.tier_slots
        }
        self.vpc_id = self._vpc.id
        self.vpc_cidr = self._vpc.cidr_block
        # Outputs nested in plain containers resolve as one Output (typed loosely by the SDK).
        self.subnet_ids = pulumi.Output.from_input(
            cast(Any, {t: [ids[a] for a in sorted(ids)] for t, ids in subnet_ids.items()})
        )
        self.route_table_ids = pulumi.Output.from_input(
            cast(
                Any,
                {
                    tier: [
                        route_tables[key].id
                        for key in sorted(set(self._table_names[tier].values()))
                    ]
                    for tier in settings.tier_slots
                },
            )
        )
        self.endpoint_security_group_id = endpoint_sg.id
        self.db_subnet_group_name = groups[0]
        self.docdb_subnet_group_name = groups[1]
        self.cache_subnet_group_name = groups[2]
        self.nat_gateway_ids = pulumi.Output.from_input(cast(Any, nat_ids))
        self.ref = NetworkRef(
            vpc_id=self._vpc.id,
            vpc_cidr=settings.vpc_cidr,
            availability_zones=tuple(settings.availability_zones),
            tier_cidrs={
                tier: str(plan.tier_block(settings.vpc_cidr, slot))
                for tier, slot in settings.tier_slots.items()
            },
            subnet_ids=subnet_ids,
            route_table_ids=rt_ids,
            endpoint_security_group_id=endpoint_sg.id,
            db_subnet_group_name=groups[0],
            docdb_subnet_group_name=groups[1],
            cache_subnet_group_name=groups[2],
            on_prem_cidrs={n: o.cidr for n, o in on_prem.items()},
        )
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "subnet_ids": self.subnet_ids,
                "route_table_ids": self.route_table_ids,
                "endpoint_security_group_id": self.endpoint_security_group_id,
                "db_subnet_group_name": self.db_subnet_group_name,
                "docdb_subnet_group_name": self.docdb_subnet_group_name,
                "cache_subnet_group_name": self.cache_subnet_group_name,
                "flow_log_group_name": self.flow_log_group_name,
                "nat_gateway_ids": self.nat_gateway_ids,
            }
        )

    # --- helpers ------------------------------------------------------------------------

    def _tags(self, **extra: str) -> dict[str, str]:
        return self._context.tags(COMPONENT, **extra)

    def _az_name(self, letter: str) -> pulumi.Output[str]:
        return self._env.region.apply(lambda region: f"{region}{letter}")

    def _lock_down_defaults(self) -> None:
        """CIS AWS 5.4 / PCI DSS 1.2: the default SG and NACL allow nothing, and the main
        route table has no routes, so anything placed by mistake is cut off."""
        aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default-sg",
            vpc_id=self._vpc.id,
            ingress=[],
            egress=[],
            tags=self._tags(Name=f"{self._name}-default-deny"),
            opts=child_opts(self),
        )
        aws.ec2.DefaultNetworkAcl(
            f"{self._name}-default-nacl",
            default_network_acl_id=self._vpc.default_network_acl_id,
            ingress=[],
            egress=[],
            tags=self._tags(Name=f"{self._name}-default-deny"),
            # every subnet is associated with its tier's NACL; AWS moves subnets back here
            # when that association is deleted, which the provider would then fight over
            opts=child_opts(self, ignore_changes=["subnetIds"]),
        )
        aws.ec2.DefaultRouteTable(
            f"{self._name}-default-rt",
            default_route_table_id=self._vpc.default_route_table_id,
            routes=[],
            tags=self._tags(Name=f"{self._name}-default-no-routes"),
            opts=child_opts(self),
        )

    def _subnets(self) -> dict[tuple[str, str], aws.ec2.Subnet]:
        subnets: dict[tuple[str, str], aws.ec2.Subnet] = {}
        for (tier, az), cidr in self._settings.subnet_cidrs().items():
            subnets[(tier, az)] = aws.ec2.Subnet(
                f"{self._name}-{tier}-{az}",
                vpc_id=self._vpc.id,
                cidr_block=cidr,
                availability_zone=self._az_name(az),
                # PCI DSS 1.4.4: nothing gets a public IP by default, even in the public tier
                # (load balancers and NAT gateways bring their own addresses)
                map_public_ip_on_launch=False,
                tags=self._tags(Name=f"{self._name}-{tier}-{az}", tier=tier),
                opts=child_opts(self),
            )
        return subnets

    def _nat_gateways(
        self, subnets: Mapping[tuple[str, str], aws.ec2.Subnet]
    ) -> dict[str, pulumi.Output[str]]:
        igw = self._igw
        nat_ids: dict[str, pulumi.Output[str]] = {}
        for az in self._settings.nat_azs:
            eip = aws.ec2.Eip(
                f"{self._name}-nat-{az}",
                domain="vpc",
                tags=self._tags(Name=f"{self._name}-nat-{az}"),
                opts=child_opts(self, depends_on=[igw]),
            )
            nat = aws.ec2.NatGateway(
                f"{self._name}-nat-{az}",
                allocation_id=eip.allocation_id,
                subnet_id=subnets[("public", az)].id,
                connectivity_type="public",
                tags=self._tags(Name=f"{self._name}-nat-{az}"),
                opts=child_opts(self, depends_on=[igw]),
            )
            nat_ids[az] = nat.id
        return nat_ids

    def _nat_for(self, az: str, nat_ids: Mapping[str, pulumi.Output[str]]) -> pulumi.Output[str]:
        return nat_ids[az] if az in nat_ids else nat_ids[sorted(nat_ids)[0]]

    def _route_tables(
        self,
        subnets: Mapping[tuple[str, str], aws.ec2.Subnet],
        nat_ids: Mapping[str, pulumi.Output[str]],
    ) -> dict[str, aws.ec2.RouteTable]:
        """Public: one table, default route to the IGW. NAT'd tiers: one table per AZ, so a
        NAT strategy change edits a route and never re-associates subnets. Isolated tiers
        (data, and extras without NAT): one table with the local route only."""
        settings = self._settings
        tables: dict[str, aws.ec2.RouteTable] = {}
        self._table_names: dict[str, dict[str, str]] = {}
        for tier in settings.tier_slots:
            per_az = tier == "app" or settings.tier_uses_nat(tier)
            shared: aws.ec2.RouteTable | None = None
            self._table_names[tier] = {}
            for az in settings.availability_zones:
                if per_az:
                    table_name = f"{self._name}-{tier}-{az}"
                    table = self._route_table(table_name, tier)
                    if settings.tier_uses_nat(tier):
                        aws.ec2.Route(
                            f"{self._name}-{tier}-{az}-default",
                            route_table_id=table.id,
                            destination_cidr_block=plan.ANYWHERE,
                            nat_gateway_id=self._nat_for(az, nat_ids),
                            opts=child_opts(self),
                        )
                else:
                    table_name = f"{self._name}-{tier}"
                    if shared is None:
                        shared = self._route_table(table_name, tier)
                        if tier == "public":
                            aws.ec2.Route(
                                f"{self._name}-public-default",
                                route_table_id=shared.id,
                                destination_cidr_block=plan.ANYWHERE,
                                gateway_id=self._igw.id,
                                opts=child_opts(self),
                            )
                    table = shared
                tables[table_name] = table
                self._table_names[tier][az] = table_name
                aws.ec2.RouteTableAssociation(
                    f"{self._name}-{tier}-{az}",
                    subnet_id=subnets[(tier, az)].id,
                    route_table_id=table.id,
                    opts=child_opts(self),
                )
        return tables

    def _route_table(self, name: str, tier: str) -> aws.ec2.RouteTable:
        return aws.ec2.RouteTable(
            name,
            vpc_id=self._vpc.id,
            tags=self._tags(Name=name, tier=tier),
            opts=child_opts(self),
        )

    def _nacls(
        self,
        subnets: Mapping[tuple[str, str], aws.ec2.Subnet],
        rules: list[plan.NaclRule],
    ) -> None:
        nacls: dict[str, aws.ec2.NetworkAcl] = {}
        for tier in self._settings.tier_slots:
            nacls[tier] = aws.ec2.NetworkAcl(
                f"{self._name}-{tier}",
                vpc_id=self._vpc.id,
                tags=self._tags(Name=f"{self._name}-{tier}", tier=tier),
                opts=child_opts(self),
            )
            for az in self._settings.availability_zones:
                aws.ec2.NetworkAclAssociation(
                    f"{self._name}-{tier}-{az}",
                    network_acl_id=nacls[tier].id,
                    subnet_id=subnets[(tier, az)].id,
                    opts=child_opts(self),
                )
        for rule in rules:
            aws.ec2.NetworkAclRule(
                f"{self._name}-{rule.key}",
                network_acl_id=nacls[rule.tier].id,
                rule_number=rule.rule_number,
                egress=rule.egress,
                protocol=rule.protocol,
                rule_action="allow",
                cidr_block=rule.cidr,
                from_port=rule.from_port,
                to_port=rule.to_port,
                opts=child_opts(self),
            )

    def _flow_logs(self) -> None:
        """PCI DSS 10.2: ALL traffic (accepted and rejected) to a CMK-encrypted log group."""
        env = self._env
        key = customer_managed_key(
            f"{self._name}-flow-logs",
            description=f"Encrypts VPC flow logs of {self._name}",
            policy=logs_key_policy(env),
            context=self._context,
            component=COMPONENT,
            parent=self,
        )
        group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            name=f"/{self._context.project}/{self._context.environment}/vpc/{self._name}/flow-logs",
            retention_in_days=self._settings.flow_log_retention_days,
            kms_key_id=key.arn,
            tags=self._tags(),
            opts=stateful_opts(self, self._context),
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", env.account_id),
            description=f"Lets VPC flow logs of {self._name} write to their log group only",
            tags=self._tags(),
            opts=child_opts(self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-flow-logs",
            role=role.id,
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogGroups",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [group.arn, group.arn.apply(lambda a: f"{a}:*")],
                        }
                    ],
                }
            ),
            opts=child_opts(self),
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-logs",
            vpc_id=self._vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=self._tags(),
            opts=child_opts(self),
        )
        self.flow_log_group_name = group.name

    def _endpoints(
        self,
        subnets: Mapping[tuple[str, str], aws.ec2.Subnet],
        route_tables: Mapping[str, aws.ec2.RouteTable],
    ) -> aws.ec2.SecurityGroup:
        settings = self._settings
        private_tables = {
            table_name: route_tables[table_name]
            for tier, by_az in self._table_names.items()
            if tier != "public"
            for table_name in by_az.values()
        }
        for gateway in settings.gateway_endpoints:
            endpoint = aws.ec2.VpcEndpoint(
                f"{self._name}-{gateway}",
                vpc_id=self._vpc.id,
                service_name=self._env.service_name(gateway),
                vpc_endpoint_type="Gateway",
                tags=self._tags(Name=f"{self._name}-{gateway}"),
                opts=child_opts(self),
            )
            for table_name, table in sorted(private_tables.items()):
                aws.ec2.VpcEndpointRouteTableAssociation(
                    f"{table_name}-{gateway}",
                    vpc_endpoint_id=endpoint.id,
                    route_table_id=table.id,
                    opts=child_opts(self),
                )
        endpoint_sg = restricted_security_group(
            f"{self._name}-endpoints",
            vpc_id=self._vpc.id,
            description="Interface endpoints: HTTPS from inside the VPC only",
            context=self._context,
            component=COMPONENT,
            ingress=[Rule("https", 443, cidrs={"vpc": settings.vpc_cidr})],
            parent=self,
        )
        app_subnets = [subnets[("app", az)].id for az in sorted(settings.availability_zones)]
        for service in settings.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{self._name}-{service.replace('.', '-')}",
                vpc_id=self._vpc.id,
                service_name=self._env.service_name(service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=app_subnets,
                security_group_ids=[endpoint_sg.id],
                tags=self._tags(Name=f"{self._name}-{service}"),
                opts=child_opts(self),
            )
        return endpoint_sg

    def _subnet_groups(
        self, subnets: Mapping[tuple[str, str], aws.ec2.Subnet]
    ) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        data = [subnets[("data", az)].id for az in sorted(self._settings.availability_zones)]
        description = f"Data tier of {self._name}"
        db = aws.rds.SubnetGroup(
            f"{self._name}-db",
            name=f"{self._name}-db",
            description=description,
            subnet_ids=data,
            tags=self._tags(),
            opts=child_opts(self),
        )
        docdb = aws.docdb.SubnetGroup(
            f"{self._name}-docdb",
            name=f"{self._name}-docdb",
            description=description,
            subnet_ids=data,
            tags=self._tags(),
            opts=child_opts(self),
        )
        cache = aws.elasticache.SubnetGroup(
            f"{self._name}-cache",
            name=f"{self._name}-cache",
            description=description,
            subnet_ids=data,
            tags=self._tags(),
            opts=child_opts(self),
        )
        return db.name, docdb.name, cache.name
