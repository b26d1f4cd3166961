"""SecureVpc: a tiered, NACL-guarded, flow-logged VPC built from plain pulumi-aws resources.

Why not ``awsx.ec2.Vpc``: awsx is a remote (multi-language) component, so under Pulumi mocks
it is one opaque node: none of its subnets, routes or NAT gateways can be seen in an offline
plan or asserted in a test, which is what our auditors review. It has no NACLs and no flow
logs, and releases have re-laid out every subnet on upgrade (pulumi-awsx #1152, #1204).
We keep its vocabulary for the NAT strategy (``OnePerAz`` / ``Single`` / ``None``) so that
teams moving from awsx read the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from ..core.aws_env import assume_role_policy, aws_env, policy_json
from ..core.kms import customer_managed_key, logs_key_policy
from ..core.onprem import OnPremNetwork
from ..core.problems import Problem, raise_problems
from ..core.scope import Scope
from ..core.security_groups import Rule, restricted_security_group
from ..core.settings import StackContext
from . import plan as net
from .checks import plan_and_check
from .egress import EgressFirewall, build_egress_firewall
from .endpoint_policies import gateway_endpoint_policy, interface_endpoint_policy
from .network import NetworkPlan
from .settings import SecureVpcSettings

COMPONENT = "secure-vpc"
TYPE = "payments:index:SecureVpc"

Subnets = Mapping[tuple[str, str], aws.ec2.Subnet]


@dataclass(frozen=True)
class RouteTable:
    """A route table with its logical name (what endpoint associations are named after)."""

    name: str
    table: aws.ec2.RouteTable


Tables = Mapping[str, Mapping[str, RouteTable]]  # tier -> AZ letter -> its table


@dataclass(frozen=True)
class NetworkRef:
    """What other components need of a SecureVpc (``vpc.ref``); pass this one object.

    ``plan`` holds every fact known before the VPC exists (tiers and their CIDRs, AZs, the
    app ports, the on-prem ranges each tier admits, the data services the NACLs admit);
    the other fields are the ids of what was built.
    """

    plan: NetworkPlan
    vpc_id: pulumi.Output[str]
    subnet_ids: Mapping[str, Mapping[str, pulumi.Output[str]]]  # tier -> AZ letter -> id
    route_table_ids: Mapping[str, Mapping[str, pulumi.Output[str]]]  # tier -> AZ -> id
    endpoint_security_group_id: pulumi.Output[str]
    db_subnet_group_name: pulumi.Output[str]
    docdb_subnet_group_name: pulumi.Output[str]
    cache_subnet_group_name: pulumi.Output[str]

    @property
    def vpc_cidr(self) -> str:
        return self.plan.vpc_cidr

    @property
    def availability_zones(self) -> tuple[str, ...]:
        return self.plan.availability_zones

    @property
    def tier_cidrs(self) -> dict[str, str]:
        return self.plan.tier_cidrs

    @property
    def on_prem_cidrs(self) -> dict[str, str]:
        return self.plan.on_prem_cidrs

    def tier_subnet_ids(self, tier: str) -> list[pulumi.Output[str]]:
        """The subnet ids of a tier, in AZ-letter order."""
        return [self.subnet_ids[tier][az] for az in sorted(self.subnet_ids[tier])]


def check_network_ref(network: object) -> list[Problem]:
    """A consumer's ``network=`` argument is a NetworkRef (``vpc.ref``)."""
    if isinstance(network, NetworkRef):
        return []
    given = "the SecureVpc itself" if isinstance(network, SecureVpc) else type(network).__name__
    return [
        Problem(
            ("network",),
            f"expected the SecureVpc's reference: pass network=vpc.ref (got {given})",
        )
    ]


class SecureVpc(pulumi.ComponentResource):
    """A VPC with public/app/data tiers (plus named extras), per-tier NACLs, flow logs,
    locked-down defaults, VPC endpoints and data-tier subnet groups.

    ``on_prem`` (the ranges HybridConnectivitySettings.on_prem_networks declares),
    ``data_services``, ``dms_source_engines`` and ``dms_target_services``
    (ManagedDataTierSettings.data_services(), .dms_source_engines() and
    .dms_target_services()) decide what the NACLs admit; ``vpc.ref`` carries all of it to
    the components built on this network, which refuse needs it does not admit.
    """

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
    #: AZ letter -> the egress firewall's endpoint there (empty without a firewall)
    firewall_endpoint_ids: pulumi.Output[dict[str, str]]
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
        dms_target_services: Iterable[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = settings.for_environment(context.environment)
        plan, problems = plan_and_check(
            name,
            settings,
            context=context,
            on_prem={} if on_prem is None else on_prem,
            data_services=data_services,
            dms_source_engines=dms_source_engines,
            dms_target_services=dms_target_services,
        )
        raise_problems("SecureVpc", name, problems, SecureVpcSettings)
        assert plan is not None
        super().__init__(TYPE, name, None, opts)
        scope = Scope(self, name, context, COMPONENT, aws_env(self))

        vpc = build_vpc(scope, plan)
        lock_down_defaults(scope, vpc)
        subnets = build_subnets(scope, plan, vpc)
        igw = internet_gateway(scope, vpc)
        nat_ids = nat_gateways(scope, plan, subnets, igw)
        log_key = network_log_key(scope)
        firewall = (
            build_egress_firewall(scope, settings, plan, vpc, subnets, log_key)
            if plan.egress_firewall
            else None
        )
        tables = route_tables(scope, plan, vpc, subnets, igw, nat_ids, firewall)
        nacls(scope, plan, vpc, subnets)
        flow_log_group = flow_logs(scope, settings, vpc, log_key)
        endpoint_sg = endpoints(scope, settings, plan, vpc, subnets, tables)
        db_group, docdb_group, cache_group = subnet_groups(scope, plan, subnets)

        subnet_ids = {
            tier: {az: subnets[(tier, az)].id for az in plan.tier_azs(tier)} for tier in plan.tiers
        }
        self.ref = NetworkRef(
            plan=plan,
            vpc_id=vpc.id,
            subnet_ids=subnet_ids,
            route_table_ids={
                tier: {az: rt.table.id for az, rt in by_az.items()}
                for tier, by_az in tables.items()
            },
            endpoint_security_group_id=endpoint_sg.id,
            db_subnet_group_name=db_group,
            docdb_subnet_group_name=docdb_group,
            cache_subnet_group_name=cache_group,
        )
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        # Outputs nested in plain containers resolve as one Output (typed loosely by the SDK).
        self.subnet_ids = pulumi.Output.from_input(
            cast(Any, {t: [ids[a] for a in sorted(ids)] for t, ids in subnet_ids.items()})
        )
        self.route_table_ids = pulumi.Output.from_input(
            cast(Any, {tier: _distinct_ids(by_az) for tier, by_az in tables.items()})
        )
        self.endpoint_security_group_id = endpoint_sg.id
        self.db_subnet_group_name = db_group
        self.docdb_subnet_group_name = docdb_group
        self.cache_subnet_group_name = cache_group
        self.flow_log_group_name = flow_log_group.name
        self.nat_gateway_ids = pulumi.Output.from_input(cast(Any, nat_ids))
        self.firewall_endpoint_ids = pulumi.Output.from_input(
            cast(Any, dict(firewall.endpoint_ids) if firewall else {})
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
                "firewall_endpoint_ids": self.firewall_endpoint_ids,
            }
        )


# --- steps -------------------------------------------------------------------------------


def build_vpc(scope: Scope, plan: NetworkPlan) -> aws.ec2.Vpc:
    return aws.ec2.Vpc(
        scope.name,
        cidr_block=plan.vpc_cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags=scope.tags(Name=scope.name),
        opts=scope.opts(),
    )


def lock_down_defaults(scope: Scope, vpc: aws.ec2.Vpc) -> None:
    """CIS AWS 5.4 / PCI DSS 1.2: the default SG and NACL allow nothing, and the main
    route table has no routes, so anything placed by mistake is cut off."""
    aws.ec2.DefaultSecurityGroup(
        f"{scope.name}-default-sg",
        vpc_id=vpc.id,
        ingress=[],
        egress=[],
        tags=scope.tags(Name=f"{scope.name}-default-deny"),
        opts=scope.opts(),
    )
    aws.ec2.DefaultNetworkAcl(
        f"{scope.name}-default-nacl",
        default_network_acl_id=vpc.default_network_acl_id,
        ingress=[],
        egress=[],
        tags=scope.tags(Name=f"{scope.name}-default-deny"),
        # every subnet is associated with its tier's NACL; AWS moves subnets back here
        # when that association is deleted, which the provider would then fight over
        opts=scope.opts(ignore_changes=["subnetIds"]),
    )
    aws.ec2.DefaultRouteTable(
        f"{scope.name}-default-rt",
        default_route_table_id=vpc.default_route_table_id,
        routes=[],
        tags=scope.tags(Name=f"{scope.name}-default-no-routes"),
        opts=scope.opts(),
    )


def _az_name(scope: Scope, letter: str) -> pulumi.Output[str]:
    return scope.env.region.apply(lambda region: f"{region}{letter}")


def build_subnets(
    scope: Scope, plan: NetworkPlan, vpc: aws.ec2.Vpc
) -> dict[tuple[str, str], aws.ec2.Subnet]:
    """One subnet per (tier, AZ); its CIDR depends on nothing else (identity by name)."""
    return {
        (tier, az): aws.ec2.Subnet(
            f"{scope.name}-{tier}-{az}",
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=_az_name(scope, az),
            # PCI DSS 1.4.4: nothing gets a public IP by default, even in the public tier
            # (load balancers and NAT gateways bring their own addresses)
            map_public_ip_on_launch=False,
            tags=scope.tags(Name=f"{scope.name}-{tier}-{az}", tier=tier),
            opts=scope.opts(),
        )
        for (tier, az), cidr in plan.subnet_cidrs().items()
    }


def internet_gateway(scope: Scope, vpc: aws.ec2.Vpc) -> aws.ec2.InternetGateway:
    return aws.ec2.InternetGateway(
        f"{scope.name}-igw",
        vpc_id=vpc.id,
        tags=scope.tags(Name=f"{scope.name}-igw"),
        opts=scope.opts(),
    )


def nat_gateways(
    scope: Scope, plan: NetworkPlan, subnets: Subnets, igw: aws.ec2.InternetGateway
) -> dict[str, pulumi.Output[str]]:
    """AZ letter -> NAT gateway id, in the public subnet of each AZ the strategy names."""
    nat_ids: dict[str, pulumi.Output[str]] = {}
    for az in plan.nat_azs:
        eip = aws.ec2.Eip(
            f"{scope.name}-nat-{az}",
            domain="vpc",
            tags=scope.tags(Name=f"{scope.name}-nat-{az}"),
            opts=scope.opts(depends_on=[igw]),
        )
        nat = aws.ec2.NatGateway(
            f"{scope.name}-nat-{az}",
            allocation_id=eip.allocation_id,
            subnet_id=subnets[("public", az)].id,
            connectivity_type="public",
            tags=scope.tags(Name=f"{scope.name}-nat-{az}"),
            opts=scope.opts(depends_on=[igw]),
        )
        nat_ids[az] = nat.id
    return nat_ids


def route_tables(
    scope: Scope,
    plan: NetworkPlan,
    vpc: aws.ec2.Vpc,
    subnets: Subnets,
    igw: aws.ec2.InternetGateway,
    nat_ids: Mapping[str, pulumi.Output[str]],
    firewall: EgressFirewall | None,
) -> dict[str, dict[str, RouteTable]]:
    """Tier -> AZ letter -> the subnet's route table.

    Public, app, NAT'd and firewall tiers: one table per AZ (a NAT strategy or firewall
    change edits routes and never re-associates a subnet). Public: default route to the IGW.
    Firewall: default route to its AZ's NAT. App and NAT'd tiers: default route to the NAT,
    or with the egress firewall to the firewall endpoint of the egress AZ, which also
    carries the return routes (``egress.py``). Isolated tiers (data, and extras without NAT):
    one table with the local route only.
    """
    tables: dict[str, dict[str, RouteTable]] = {tier: {} for tier in plan.tiers}
    for az in plan.availability_zones:
        tables["public"][az] = public_route_table(scope, plan, vpc, igw, az)
    for az in plan.tier_azs(net.FIREWALL_TIER) if firewall else ():
        table = _route_table(scope, vpc, f"{scope.name}-{net.FIREWALL_TIER}-{az}", "firewall")
        aws.ec2.Route(
            f"{table.name}-default",
            route_table_id=table.table.id,
            destination_cidr_block=net.ANYWHERE,
            nat_gateway_id=nat_ids[az],
            opts=scope.opts(),
        )
        tables[net.FIREWALL_TIER][az] = table
    for tier in plan.tiers:
        if tier in ("public", net.FIREWALL_TIER):
            continue
        shared: RouteTable | None = None
        for az in plan.availability_zones:
            if tier == "app" or tier in plan.nat_tiers:
                table = _route_table(scope, vpc, f"{scope.name}-{tier}-{az}", tier)
                if tier in plan.nat_tiers:
                    egress_routes(scope, plan, tables, table, tier, az, nat_ids, firewall)
            else:
                if shared is None:
                    shared = _route_table(scope, vpc, f"{scope.name}-{tier}", tier)
                table = shared
            tables[tier][az] = table
    for tier, by_az in tables.items():
        for az, table in by_az.items():
            aws.ec2.RouteTableAssociation(
                f"{scope.name}-{tier}-{az}",
                subnet_id=subnets[(tier, az)].id,
                route_table_id=table.table.id,
                opts=scope.opts(),
            )
    return tables


def public_route_table(
    scope: Scope, plan: NetworkPlan, vpc: aws.ec2.Vpc, igw: aws.ec2.InternetGateway, az: str
) -> RouteTable:
    """The public subnet's table in ``az``: default route to the internet gateway.

    One per AZ, because the NAT gateway's subnet must send the answers for its AZ's app
    subnets back through that AZ's firewall endpoint. The first AZ's table is the one the
    public tier shared before (``<name>-public``, kept by alias: it and its route stay)."""
    first = az == sorted(plan.availability_zones)[0]
    name = f"{scope.name}-public-{az}"
    aliases = [pulumi.Alias(name=f"{scope.name}-public")] if first else None
    table = aws.ec2.RouteTable(
        name,
        vpc_id=vpc.id,
        tags=scope.tags(Name=name, tier="public"),
        opts=scope.opts(aliases=aliases),
    )
    aws.ec2.Route(
        f"{name}-default",
        route_table_id=table.id,
        destination_cidr_block=net.ANYWHERE,
        gateway_id=igw.id,
        opts=scope.opts(
            aliases=[pulumi.Alias(name=f"{scope.name}-public-default")] if first else None
        ),
    )
    return RouteTable(name, table)


def egress_routes(
    scope: Scope,
    plan: NetworkPlan,
    tables: Mapping[str, Mapping[str, RouteTable]],
    table: RouteTable,
    tier: str,
    az: str,
    nat_ids: Mapping[str, pulumi.Output[str]],
    firewall: EgressFirewall | None,
) -> None:
    """The default route of a NAT'd subnet and, through the firewall, the routes that keep
    every flow through one endpoint in both directions.

    Without a firewall: 0.0.0.0/0 to the NAT of the egress AZ. With it, to the firewall
    endpoint of the egress AZ e; the public subnet of e (the NAT's subnet) sends this
    subnet's CIDR back through the same endpoint, and so must this subnet send e's public
    subnet (its load balancer nodes' answers), or AWS drops the asymmetric flow."""
    egress = plan.egress_az(az)
    if firewall is None:
        aws.ec2.Route(
            f"{table.name}-default",
            route_table_id=table.table.id,
            destination_cidr_block=net.ANYWHERE,
            nat_gateway_id=nat_ids[egress],
            opts=scope.opts(),
        )
        return
    endpoint = firewall.endpoint_ids[egress]
    cidrs = plan.subnet_cidrs()
    aws.ec2.Route(
        f"{table.name}-default",
        route_table_id=table.table.id,
        destination_cidr_block=net.ANYWHERE,
        vpc_endpoint_id=endpoint,
        opts=scope.opts(),
    )
    aws.ec2.Route(
        f"{table.name}-to-public-{egress}",
        route_table_id=table.table.id,
        destination_cidr_block=cidrs[("public", egress)],
        vpc_endpoint_id=endpoint,
        opts=scope.opts(),
    )
    public = tables["public"][egress]
    aws.ec2.Route(
        f"{public.name}-to-{tier}-{az}",
        route_table_id=public.table.id,
        destination_cidr_block=cidrs[(tier, az)],
        vpc_endpoint_id=endpoint,
        opts=scope.opts(),
    )


def _route_table(scope: Scope, vpc: aws.ec2.Vpc, name: str, tier: str) -> RouteTable:
    table = aws.ec2.RouteTable(
        name, vpc_id=vpc.id, tags=scope.tags(Name=name, tier=tier), opts=scope.opts()
    )
    return RouteTable(name, table)


def _distinct_ids(by_az: Mapping[str, RouteTable]) -> list[pulumi.Output[str]]:
    """The ids of a tier's tables, once each, in the order of their logical names."""
    distinct = {rt.name: rt.table for rt in by_az.values()}
    return [distinct[name].id for name in sorted(distinct)]


Deployed = Mapping[bool, list[net.DeployedEntry]]  # egress -> the entries AWS holds


def nacls(scope: Scope, plan: NetworkPlan, vpc: aws.ec2.Vpc, subnets: Subnets) -> None:
    """One NACL per tier, associated with the tier's subnets, with the planned rules.

    Each rule takes, of its two numbers, the one the NACL as deployed already holds it under,
    else the free one (``plan.deployed_rule_number``): an entry whose ports or CIDR changed is
    replaced, created before the old one is deleted, and AWS refuses two entries of one
    direction under one number.
    """
    by_tier: dict[str, aws.ec2.NetworkAcl] = {}
    deployed: dict[str, pulumi.Output[Deployed]] = {}
    for tier in plan.tiers:
        by_tier[tier] = aws.ec2.NetworkAcl(
            f"{scope.name}-{tier}",
            vpc_id=vpc.id,
            tags=scope.tags(Name=f"{scope.name}-{tier}", tier=tier),
            opts=scope.opts(),
        )
        deployed[tier] = deployed_entries(scope, tier, by_tier[tier])
        for az in plan.tier_azs(tier):
            aws.ec2.NetworkAclAssociation(
                f"{scope.name}-{tier}-{az}",
                network_acl_id=by_tier[tier].id,
                subnet_id=subnets[(tier, az)].id,
                opts=scope.opts(),
            )
    for rule in plan.nacl_rules:
        nacl_entry(scope, f"{scope.name}-{rule.key}", by_tier[rule.tier], rule, deployed[rule.tier])


def deployed_entries(scope: Scope, tier: str, acl: aws.ec2.NetworkAcl) -> pulumi.Output[Deployed]:
    """The entries the tier's NACL holds in AWS when the deployment starts, read each time
    (a read, not a managed resource; a new NACL holds none). The provider reads every entry
    but the default ``*`` ones, whoever made them."""
    live = aws.ec2.NetworkAcl.get(f"{scope.name}-{tier}-deployed", acl.id, opts=scope.opts())

    def entries(raw: Any) -> list[net.DeployedEntry]:
        return [
            net.DeployedEntry(
                rule_number=int(_field(e, "rule_no")),
                protocol=str(_field(e, "protocol")),
                cidr=str(_field(e, "cidr_block") or _field(e, "ipv6_cidr_block") or ""),
                from_port=int(_field(e, "from_port") or 0),
                to_port=int(_field(e, "to_port") or 0),
                action=str(_field(e, "action") or "allow"),
            )
            for e in raw or []
        ]

    return pulumi.Output.all(live.ingress, live.egress).apply(
        lambda both: {False: entries(both[0]), True: entries(both[1])}
    )


def nacl_entry(
    scope: Scope,
    name: str,
    acl: aws.ec2.NetworkAcl,
    rule: net.NaclRule,
    deployed: pulumi.Output[Deployed],
) -> aws.ec2.NetworkAclRule:
    """One allow entry of ``acl`` from the plan's ``rule``, under the rule number the
    entries AWS already holds leave it (``deployed_entries``)."""
    return aws.ec2.NetworkAclRule(
        name,
        network_acl_id=acl.id,
        rule_number=deployed.apply(partial(_number_of, rule)),
        egress=rule.egress,
        protocol=rule.protocol,
        rule_action="allow",
        cidr_block=rule.cidr,
        from_port=rule.from_port,
        to_port=rule.to_port,
        opts=scope.opts(),
    )


def _number_of(rule: net.NaclRule, deployed: Deployed) -> int:
    return net.deployed_rule_number(rule, deployed[rule.egress])


def _field(entry: Any, name: str) -> Any:
    """A field of a read NACL entry: the SDK gives a typed object or a plain dict, whose keys
    are the schema's (camelCase) names."""
    if isinstance(entry, Mapping):
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        return entry.get(camel, entry.get(name))
    return getattr(entry, name, None)


def network_log_key(scope: Scope) -> aws.kms.Key:
    """The key of the network's logs (VPC flow logs, the egress firewall's alert and flow
    logs): CloudWatch Logs may use it for this account's log groups only."""
    return customer_managed_key(
        f"{scope.name}-flow-logs",
        description=(
            f"Encrypts the network logs of {scope.name}: VPC flow logs and egress firewall logs"
        ),
        policy=logs_key_policy(scope.env),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
    )


def flow_logs(
    scope: Scope, settings: SecureVpcSettings, vpc: aws.ec2.Vpc, key: aws.kms.Key
) -> aws.cloudwatch.LogGroup:
    """PCI DSS 10.2: ALL traffic (accepted and rejected) to a CMK-encrypted log group."""
    env, ctx = scope.env, scope.context
    group = aws.cloudwatch.LogGroup(
        f"{scope.name}-flow-logs",
        name=f"/{ctx.project}/{ctx.environment}/vpc/{scope.name}/flow-logs",
        retention_in_days=settings.flow_log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )
    role = aws.iam.Role(
        f"{scope.name}-flow-logs",
        assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", env.account_id),
        description=f"Lets VPC flow logs of {scope.name} write to their log group only",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.iam.RolePolicy(
        f"{scope.name}-flow-logs",
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
                    },
                    {
                        # the flow log role "must include at least" DescribeLogGroups, which
                        # lists the account's groups (no one group): granted on "*" as the
                        # page shows; it reads names and settings, never log data.
                        # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
                        "Sid": "ListLogGroups",
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogGroups",
                        "Resource": "*",
                    },
                ],
            }
        ),
        opts=scope.opts(),
    )
    aws.ec2.FlowLog(
        f"{scope.name}-flow-logs",
        vpc_id=vpc.id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        max_aggregation_interval=60,
        tags=scope.tags(),
        opts=scope.opts(),
    )
    return group


def endpoints(
    scope: Scope,
    settings: SecureVpcSettings,
    plan: NetworkPlan,
    vpc: aws.ec2.Vpc,
    subnets: Subnets,
    tables: Tables,
) -> aws.ec2.SecurityGroup:
    """Gateway endpoints on every private route table; interface endpoints (private DNS)
    in the app tier behind a security group that admits HTTPS from the VPC only. Each has a
    policy admitting only the organization's (or account's) principals and resources
    (``endpoint_policies.py``)."""
    private_tables = {
        rt.name: rt.table
        for tier, by_az in tables.items()
        if tier not in ("public", net.FIREWALL_TIER)
        for rt in by_az.values()
    }
    for gateway in settings.gateway_endpoints:
        endpoint = aws.ec2.VpcEndpoint(
            f"{scope.name}-{gateway}",
            vpc_id=vpc.id,
            service_name=scope.env.service_name(gateway),
            vpc_endpoint_type="Gateway",
            policy=endpoint_policy(scope, gateway_endpoint_policy, gateway),
            tags=scope.tags(Name=f"{scope.name}-{gateway}"),
            opts=scope.opts(),
        )
        for table_name, table in sorted(private_tables.items()):
            aws.ec2.VpcEndpointRouteTableAssociation(
                f"{table_name}-{gateway}",
                vpc_endpoint_id=endpoint.id,
                route_table_id=table.id,
                opts=scope.opts(),
            )
    endpoint_sg = restricted_security_group(
        f"{scope.name}-endpoints",
        vpc_id=vpc.id,
        description="Interface endpoints: HTTPS from inside the VPC only",
        context=scope.context,
        component=scope.component,
        ingress=[Rule("https", 443, cidrs={"vpc": plan.vpc_cidr})],
        parent=scope.parent,
    )
    app_subnets = [subnets[("app", az)].id for az in sorted(plan.availability_zones)]
    for service in settings.interface_endpoints:
        aws.ec2.VpcEndpoint(
            f"{scope.name}-{service.replace('.', '-')}",
            vpc_id=vpc.id,
            service_name=scope.env.service_name(service),
            vpc_endpoint_type="Interface",
            policy=endpoint_policy(scope, interface_endpoint_policy, service),
            private_dns_enabled=True,
            subnet_ids=app_subnets,
            security_group_ids=[endpoint_sg.id],
            tags=scope.tags(Name=f"{scope.name}-{service}"),
            opts=scope.opts(),
        )
    return endpoint_sg


def endpoint_policy(scope: Scope, document: Any, service: str) -> pulumi.Output[str]:
    """``document(service, ...)`` (an ``endpoint_policies`` function) as the endpoint's JSON
    policy, for this stack's organization (or account), partition and region."""
    env = scope.env
    return policy_json(
        pulumi.Output.all(env.account_id, env.partition, env.region).apply(
            lambda a: document(
                service,
                organization_id=scope.context.organization_id,
                account_id=a[0],
                partition=a[1],
                region=a[2],
            )
        )
    )


def subnet_groups(
    scope: Scope, plan: NetworkPlan, subnets: Subnets
) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
    """The data tier's subnet groups for RDS, DocumentDB and ElastiCache (their names)."""
    data = [subnets[("data", az)].id for az in sorted(plan.availability_zones)]
    description = f"Data tier of {scope.name}"
    names = []
    for kind, cls in (
        ("db", aws.rds.SubnetGroup),
        ("docdb", aws.docdb.SubnetGroup),
        ("cache", aws.elasticache.SubnetGroup),
    ):
        group = cls(
            f"{scope.name}-{kind}",
            name=f"{scope.name}-{kind}",
            description=description,
            subnet_ids=data,
            tags=scope.tags(),
            opts=scope.opts(),
        )
        names.append(group.name)
    return names[0], names[1], names[2]
