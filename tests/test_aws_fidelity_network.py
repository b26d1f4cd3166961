"""What AWS does with the network and hybrid link of the real stacks, checked on their plans.

Mocks accept any role, key policy, alarm threshold or NACL entry. These tests read the
planned documents and values the way the AWS service will, each stating the rule it encodes
and the page it comes from: flow logs and VPN tunnel logs can be delivered and encrypted,
the VPN and Direct Connect alarms compare their metric within its real range, and the NACLs
are numbers AWS accepts and stateless rules that let every admitted flow back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fidelity import (
    Request,
    alarm_fires,
    allows,
    key_policy,
    metric_range,
    role_allows,
    role_of,
)

from components.testing import Plan, Registered

from conftest import StackPlanner

STACKS = ["prod", "nonprod"]
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
VPN = "aws:ec2/vpnConnection:VpnConnection"
ROUTE = "aws:ec2/route:Route"
SUBNET = "aws:ec2/subnet:Subnet"
FIREWALL = "aws:networkfirewall/firewall:Firewall"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EPHEMERAL = (1024, 65535)
#: The RDP port: no NACL entry admits it from outside the VPC, so the answers from there
#: arrive on the ephemeral range without it (a NAT gateway that picks 3389 as a source port,
#: 1 in 64,512 connections, gets no answer and the client retries from another port).
RDP = 3389

#: the KMS operations CloudWatch Logs performs with a log group's key
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
LOGS_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey")


@pytest.fixture(params=STACKS)
def plan(request: pytest.FixtureRequest, stack_plan: StackPlanner) -> Plan:
    return stack_plan(request.param)


def account_and_region(plan: Plan, arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[4], parts[3]


def group_with_arn(plan: Plan, arn: str) -> Registered:
    (group,) = [g for g in plan.every(LOG_GROUP) if g.outputs["arn"] == arn]
    return group


def logs_may_use_key_for(plan: Plan, group: Registered) -> list[str]:
    """The KMS actions CloudWatch Logs is denied on ``group``'s key (empty: all allowed)."""
    _, region = account_and_region(plan, group.outputs["arn"])
    policy = key_policy(plan, group.inputs["kmsKeyId"])
    denied = []
    for action in LOGS_KMS_ACTIONS:
        request = Request(
            action,
            resource=group.inputs["kmsKeyId"],
            principal={"Service": f"logs.{region}.amazonaws.com"},
            context={"kms:EncryptionContext:aws:logs:arn": group.outputs["arn"]},
        )
        if not allows(policy, request):
            denied.append(action)
    return denied


# --- flow logs and VPN tunnel logs are delivered ---------------------------------------------


def test_vpc_flow_logs_can_assume_their_role(plan: Plan) -> None:
    """The flow logs service assumes the flow log's role (principal vpc-flow-logs.amazonaws.com,
    with aws:SourceAccount and aws:SourceArn of the flow log): "IAM role for publishing flow
    logs to CloudWatch Logs", https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    """
    for flow_log in plan.every(FLOW_LOG):
        role = role_of(plan, flow_log.inputs["iamRoleArn"])
        account, region = account_and_region(plan, flow_log.inputs["logDestination"])
        request = Request(
            "sts:AssumeRole",
            resource=role.outputs["arn"],
            principal={"Service": "vpc-flow-logs.amazonaws.com"},
            context={
                "aws:SourceAccount": account,
                "aws:SourceArn": f"arn:aws:ec2:{region}:{account}:vpc-flow-log/fl-0123456789abcdef0",
            },
        )
        assert allows(role.inputs["assumeRolePolicy"], request), flow_log.name
        stranger = Request(
            "sts:AssumeRole",
            resource=role.outputs["arn"],
            principal={"Service": "vpc-flow-logs.amazonaws.com"},
            context={"aws:SourceAccount": "999999999999"},
        )
        assert not allows(role.inputs["assumeRolePolicy"], stranger), "confused deputy"


def test_vpc_flow_logs_role_may_write_to_its_log_group(plan: Plan) -> None:
    """The role "must include at least" logs:CreateLogStream, PutLogEvents,
    DescribeLogGroups and DescribeLogStreams (CreateLogGroup only when the group does not
    exist yet); the service writes one stream per network interface. DescribeLogGroups lists
    the account's groups, so it is granted on "*" as the page shows.
    https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"""
    for flow_log in plan.every(FLOW_LOG):
        role = role_of(plan, flow_log.inputs["iamRoleArn"])
        group_arn = flow_log.inputs["logDestination"]
        stream = f"{group_arn}:log-stream:eni-0123456789abcdef0-all"
        for action, resource in (
            ("logs:CreateLogStream", stream),
            ("logs:PutLogEvents", stream),
            ("logs:DescribeLogStreams", f"{group_arn}:*"),
            ("logs:DescribeLogGroups", "*"),
        ):
            assert role_allows(plan, role, Request(action, resource=resource)), (action, role.name)
        other = group_arn.replace("/flow-logs", "/other") + ":log-stream:x"
        assert not role_allows(plan, role, Request("logs:PutLogEvents", resource=other))


def test_flow_log_group_key_lets_cloudwatch_logs_encrypt(plan: Plan) -> None:
    """A log group encrypted with a CMK receives events only if the key policy lets
    logs.<region>.amazonaws.com use the key, with the encryption context
    kms:EncryptionContext:aws:logs:arn of that group; otherwise PutLogEvents fails.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"""
    for flow_log in plan.every(FLOW_LOG):
        group = group_with_arn(plan, flow_log.inputs["logDestination"])
        assert logs_may_use_key_for(plan, group) == [], group.name


def test_vpn_tunnel_log_group_key_lets_cloudwatch_logs_encrypt(plan: Plan) -> None:
    """Site-to-Site VPN publishes tunnel logs to the CloudWatch Logs group each tunnel names
    (https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-logs.html); CloudWatch Logs
    encrypts them with the group's key, which must let logs.<region>.amazonaws.com use it
    for that group (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
    """
    arns = set()
    for vpn in plan.every(VPN):
        for tunnel in ("tunnel1LogOptions", "tunnel2LogOptions"):
            options = vpn.inputs[tunnel]["cloudwatchLogOptions"]
            assert options["logEnabled"] is True
            arns.add(options["logGroupArn"])
    assert arns
    for arn in sorted(arns):
        group = group_with_arn(plan, arn)
        assert group.inputs.get("kmsKeyId"), f"{group.name} is not encrypted with a CMK"
        assert logs_may_use_key_for(plan, group) == [], group.name


# --- alarms compare their metric within its real range ---------------------------------------


def hybrid_alarms(plan: Plan) -> list[Registered]:
    return [a for a in plan.every(ALARM) if a.inputs.get("namespace") in ("AWS/VPN", "AWS/DX")]


def test_vpn_and_dx_alarms_watch_documented_metrics_within_their_range(plan: Plan) -> None:
    """Each alarm's metric exists at the dimensions it names, its threshold lies within the
    metric's documented range there, and some meaningful value of the metric fires it and
    another clears it (an alarm outside the range is always or never in ALARM). Ranges:
    TunnelState https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html,
    ConnectionState https://docs.aws.amazon.com/directconnect/latest/UserGuide/monitoring-cloudwatch.html
    """
    alarms = hybrid_alarms(plan)
    assert alarms
    for alarm in alarms:
        known = metric_range(alarm)
        assert known.low <= float(alarm.inputs["threshold"]) <= known.high, alarm.name
        fires = [alarm_fires(alarm, v) for v in known.meaningful]
        assert any(fires) and not all(fires), (alarm.name, known.meaningful, fires)
        assert alarm_fires(alarm, known.high) is False, f"{alarm.name} fires when all is up"


def test_the_vpn_down_alarm_fires_only_when_no_tunnel_is_up(plan: Plan) -> None:
    """TunnelState at the VpnId dimension: "values between 0 and 1 indicate at least one
    tunnel is not UP" (one of two up: 0.5), so an alarm for "no VPN path" must stay quiet at
    0.5 and fire at 0; the redundancy warning fires at 0.5.
    https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html"""
    vpn_alarms = [a for a in hybrid_alarms(plan) if a.inputs["namespace"] == "AWS/VPN"]
    critical = [a for a in vpn_alarms if "CRITICAL" in a.inputs["alarmDescription"]]
    warning = [a for a in vpn_alarms if "WARNING" in a.inputs["alarmDescription"]]
    assert critical and len(critical) == len(warning) == len(plan.every(VPN))
    for alarm in critical:
        assert [alarm_fires(alarm, v) for v in (1.0, 0.5, 0.0)] == [False, False, True]
    for alarm in warning:
        assert [alarm_fires(alarm, v) for v in (1.0, 0.5, 0.0)] == [False, True, True]


# --- NACLs are entries AWS accepts, and stateless rules let every flow back -------------------


@dataclass(frozen=True)
class Entry:
    """One NACL entry as AWS evaluates it."""

    name: str
    acl: str
    egress: bool
    number: int
    protocol: str
    cidr: ipaddress.IPv4Network
    ports: tuple[int, int]

    def admits(self, cidr: ipaddress.IPv4Network, ports: tuple[int, int]) -> bool:
        """Whether this entry allows TCP to/from all of ``cidr`` on all of ``ports``."""
        if not cidr.subnet_of(self.cidr):
            return False
        return self.protocol == "-1" or self.ports[0] <= ports[0] <= ports[1] <= self.ports[1]

    @property
    def is_return(self) -> bool:
        """An entry for the answers: the ephemeral range, or one of its parts around RDP."""
        return self.protocol == "tcp" and self.ports in (
            EPHEMERAL,
            (1024, RDP - 1),
            (RDP + 1, 65535),
        )


def entries(plan: Plan) -> Iterator[Entry]:
    for rule in plan.every(NACL_RULE):
        i: dict[str, Any] = dict(rule.inputs)
        assert i["ruleAction"] == "allow"
        yield Entry(
            rule.name,
            i["networkAclId"],
            bool(i["egress"]),
            int(i["ruleNumber"]),
            i["protocol"],
            ipaddress.ip_network(i["cidrBlock"]),  # type: ignore[arg-type]
            (int(i.get("fromPort", 0)), int(i.get("toPort", 0))),
        )


def test_nacl_rule_numbers_are_unique_per_nacl_and_direction(plan: Plan) -> None:
    """Each NACL has one numbered list of inbound and one of outbound entries; a number
    already used in that direction is refused (NetworkAclEntryAlreadyExists). Numbers run
    from 1 to 32766. https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html"""
    seen: dict[tuple[str, bool, int], str] = {}
    for entry in entries(plan):
        key = (entry.acl, entry.egress, entry.number)
        assert key not in seen, f"{entry.name} and {seen[key]} share rule number {entry.number}"
        seen[key] = entry.name
        assert 1 <= entry.number <= 32766, entry.name


def subnets_of_each_nacl(plan: Plan) -> dict[str, list[ipaddress.IPv4Network]]:
    """NACL id -> the CIDRs of the subnets associated with it."""
    cidr_of = {s.outputs["id"]: s.inputs["cidrBlock"] for s in plan.every("aws:ec2/subnet:Subnet")}
    found: dict[str, list[ipaddress.IPv4Network]] = {}
    for assoc in plan.every("aws:ec2/networkAclAssociation:NetworkAclAssociation"):
        cidr = ipaddress.ip_network(cidr_of[assoc.inputs["subnetId"]])
        found.setdefault(assoc.inputs["networkAclId"], []).append(cidr)  # type: ignore[arg-type]
    return found


def covered(spans: list[tuple[int, int]], low: int, high: int) -> bool:
    """Whether the port ranges ``spans`` together cover every port of ``low``-``high``."""
    reached = low
    for start, end in sorted(spans):
        if start > reached:
            break
        reached = max(reached, end + 1)
    return reached > high


def test_covered_finds_a_gap_between_ranges_and_none_where_they_overlap() -> None:
    assert covered([(1024, 3388), (3390, 65535)], 1024, 3388)
    assert covered([(1024, 2000), (1500, 65535)], 1024, 65535)
    assert not covered([(1024, 3388), (3390, 65535)], 1024, 65535)
    assert not covered([], 443, 443)


def test_every_flow_a_nacl_admits_has_its_return_path(plan: Plan) -> None:
    """NACLs are stateless: "responses to allowed inbound traffic are subject to the rules
    for outbound traffic (and vice versa)", on the client's ephemeral ports 1024-65535. So
    every request entry needs an entry the other way to the same peer on those ports, and a
    flow between two tiers must pass both tiers' NACLs, both ways.
    https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"""
    all_entries = list(entries(plan))
    subnets = subnets_of_each_nacl(plan)
    problems: list[str] = []

    def has(acl: str, egress: bool, cidr: ipaddress.IPv4Network, ports: tuple[int, int]) -> bool:
        """Whether the entries of one direction together admit every port of ``ports`` from
        ``cidr`` (the RDP port excepted for the answers: none comes back on it)."""
        matching = [e for e in all_entries if e.acl == acl and e.egress == egress]
        needed = [(ports[0], RDP - 1), (RDP + 1, ports[1])] if ports == EPHEMERAL else [ports]
        spans = [e.ports for e in matching if e.admits(cidr, (e.ports[0], e.ports[0]))]
        if any(e.protocol == "-1" and cidr.subnet_of(e.cidr) for e in matching):
            return True
        return all(covered(spans, lo, hi) for lo, hi in needed)

    def tier_behind(cidr: ipaddress.IPv4Network) -> str | None:
        """The NACL of the one tier whose subnets ``cidr`` covers (None: none or several)."""
        inside = [acl for acl, nets in subnets.items() if any(n.subnet_of(cidr) for n in nets)]
        return inside[0] if len(inside) == 1 else None

    for e in all_entries:
        if e.is_return:
            continue
        # the answer leaves (or enters) this tier towards the same peer, on ephemeral ports
        if not has(e.acl, not e.egress, e.cidr, EPHEMERAL):
            problems.append(f"{e.name}: no return path to {e.cidr} on ephemeral ports")
        # to or from another tier of the VPC, that tier's NACL must pass it too: the request
        # the other way round and the answer the same way as this entry, for each subnet here
        peer = tier_behind(e.cidr)
        if peer is None or peer == e.acl:
            continue
        for mine in subnets[e.acl]:
            if not has(peer, not e.egress, mine, e.ports):
                problems.append(f"{e.name}: the peer tier's NACL refuses {mine} on {e.ports}")
            if not has(peer, e.egress, mine, EPHEMERAL):
                problems.append(f"{e.name}: the peer tier's NACL blocks the answer to {mine}")
    assert not problems, "\n".join(problems)


# --- packets along the routes: egress through the firewall, and back the same way ------------


@dataclass(frozen=True)
class Hop:
    """A packet on the wire between two subnets (or the internet, ``None``)."""

    leaving: str | None  # subnet name
    entering: str | None
    src: ipaddress.IPv4Address
    dst: ipaddress.IPv4Address
    port: int  # destination port


class Vpc:
    """The routes and NACLs of a plan's VPC, as AWS forwards a packet: the most specific
    route of the sending subnet's table; a firewall endpoint forwards by its own subnet's
    table; a NAT gateway replaces the source with its own address on the way out and
    restores the destination on the way back.
    https://docs.aws.amazon.com/vpc/latest/userguide/route-tables-priority.html"""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        (vpc,) = plan.every("aws:ec2/vpc:Vpc")
        self.cidr = ipaddress.ip_network(vpc.inputs["cidrBlock"])
        self.subnets = {
            s.name: (ipaddress.ip_network(s.inputs["cidrBlock"]), s.outputs["id"])
            for s in plan.every(SUBNET)
        }
        by_subnet_id = {sid: name for name, (_, sid) in self.subnets.items()}
        self.table_of = {
            by_subnet_id[a.inputs["subnetId"]]: a.inputs["routeTableId"]
            for a in plan.every("aws:ec2/routeTableAssociation:RouteTableAssociation")
        }
        self.nacl_of = {
            by_subnet_id[a.inputs["subnetId"]]: a.inputs["networkAclId"]
            for a in plan.every("aws:ec2/networkAclAssociation:NetworkAclAssociation")
        }
        self.routes: dict[str, list[tuple[ipaddress.IPv4Network, str, str]]] = {}
        for r in plan.every(ROUTE):
            i = r.inputs
            kind = next(k for k in ("gatewayId", "natGatewayId", "vpcEndpointId") if i.get(k))
            self.routes.setdefault(i["routeTableId"], []).append(
                (ipaddress.ip_network(i["destinationCidrBlock"]), kind, i[kind])  # type: ignore[arg-type]
            )
        self.nat_subnet = {
            n.outputs["id"]: by_subnet_id[n.inputs["subnetId"]]
            for n in plan.of_type("aws:ec2/natGateway:NatGateway")
        }
        self.endpoint_subnet = {
            a["endpointId"]: by_subnet_id[a["subnetId"]]
            for f in plan.of_type(FIREWALL)
            for state in f.outputs["firewallStatuses"][0]["syncStates"]
            for a in state["attachments"]
        }
        self.entries = list(entries(plan))

    def host(self, subnet: str, n: int = 10) -> ipaddress.IPv4Address:
        return self.subnets[subnet][0].network_address + n

    def subnet_of(self, ip: ipaddress.IPv4Address) -> str | None:
        return next((n for n, (c, _) in self.subnets.items() if ip in c), None)

    def next_hop(self, subnet: str, dst: ipaddress.IPv4Address) -> tuple[str, str]:
        """(kind, target) of the most specific route for ``dst`` in ``subnet``'s table."""
        candidates = [(self.cidr, "local", "local")] + [
            r for r in self.routes.get(self.table_of[subnet], []) if dst in r[0]
        ]
        candidates = [c for c in candidates if dst in c[0]]
        if not candidates:
            return "blackhole", ""
        _, kind, target = max(candidates, key=lambda c: c[0].prefixlen)
        return kind, target

    def send(
        self, subnet: str, src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address, port: int
    ) -> list[Hop]:
        """The hops of a packet from a host in ``subnet`` to ``dst``:``port`` until it reaches
        ``dst``'s subnet or leaves through the internet gateway (NAT: its source becomes the
        NAT's address, here the NAT subnet's host .5)."""
        hops: list[Hop] = []
        current: str = subnet
        for _ in range(6):
            kind, target = self.next_hop(current, dst)
            if kind == "blackhole":
                hops.append(Hop(current, "blackhole", src, dst, port))
                return hops
            if kind == "local":
                hops.append(Hop(current, self.subnet_of(dst), src, dst, port))
                return hops
            if kind == "gatewayId":
                hops.append(Hop(current, None, src, dst, port))
                return hops
            following = (self.nat_subnet if kind == "natGatewayId" else self.endpoint_subnet)[
                target
            ]
            hops.append(Hop(current, following, src, dst, port))
            if kind == "natGatewayId":
                src = self.host(following, 5)
            current = following
        raise AssertionError(f"routing loop from {subnet} to {dst}")

    def refused(self, hops: list[Hop]) -> list[str]:
        """The NACL crossings of ``hops`` that no entry admits (TCP, stateless: each hop
        leaves one subnet's NACL outbound and enters the next one's inbound)."""
        problems: list[str] = []

        def admitted(subnet: str, egress: bool, peer: ipaddress.IPv4Address, port: int) -> bool:
            acl = self.nacl_of[subnet]
            host = ipaddress.ip_network(f"{peer}/32")
            return any(
                e.acl == acl and e.egress == egress and e.admits(host, (port, port))
                for e in self.entries
            )

        for hop in hops:
            if hop.leaving and not admitted(hop.leaving, True, hop.dst, hop.port):
                problems.append(f"{hop.leaving} NACL refuses out to {hop.dst}:{hop.port}")
            if (
                hop.entering
                and hop.entering != "blackhole"
                and not admitted(hop.entering, False, hop.src, hop.port)
            ):
                problems.append(f"{hop.entering} NACL refuses in from {hop.src}:{hop.port}")
        return problems


PARTNER = ipaddress.ip_address("203.0.113.10")  # an allowed partner's address (TEST-NET-3)


def firewall_subnets(hops: list[Hop]) -> list[str]:
    return [h.entering for h in hops if h.entering and "-firewall-" in h.entering]


def test_app_egress_crosses_its_azs_firewall_then_nat_and_comes_back_the_same_way(
    prod_plan: Plan,
) -> None:
    """app subnet -> firewall endpoint -> NAT gateway -> internet gateway, and the answer
    back through the same endpoint (the distributed deployment model with a NAT gateway:
    https://docs.aws.amazon.com/network-firewall/latest/developerguide/arch-igw-ngw.html;
    the firewall must see both directions of a flow); every NACL on the way admits it."""
    vpc = Vpc(prod_plan)
    for az in "abc":
        app = vpc.host(f"prod-app-{az}")
        out = vpc.send(f"prod-app-{az}", app, PARTNER, 443)
        assert [h.entering for h in out] == [f"prod-firewall-{az}", f"prod-public-{az}", None]
        nat = out[-1].src
        # the answer: internet -> the NAT (translated port), then to the instance's port
        arrival = Hop(None, f"prod-public-{az}", PARTNER, nat, 50_000)
        answer = [arrival, *vpc.send(f"prod-public-{az}", PARTNER, app, 40_000)]
        assert [h.entering for h in answer] == [
            f"prod-public-{az}",
            f"prod-firewall-{az}",
            f"prod-app-{az}",
        ]
        assert firewall_subnets(out) == firewall_subnets(answer), "asymmetric"
        assert vpc.refused(out) == [] and vpc.refused(answer) == []


def test_load_balancers_reach_their_targets_symmetrically_through_the_firewall(
    prod_plan: Plan,
) -> None:
    """The NAT's public subnet routes its AZ's app subnet through the firewall endpoint
    (for the answers the NAT forwards), so its load balancer nodes' requests to that subnet
    cross it too: their answers must cross the same endpoint (AWS supports no asymmetric
    routing through a middlebox: https://docs.aws.amazon.com/vpc/latest/userguide/gateway-route-tables.html),
    and every NACL on both ways must admit them."""
    vpc = Vpc(prod_plan)
    for lb_az in "abc":
        for target_az in "abc":
            lb, target = vpc.host(f"prod-public-{lb_az}"), vpc.host(f"prod-app-{target_az}")
            request = vpc.send(f"prod-public-{lb_az}", lb, target, 8080)
            answer = vpc.send(f"prod-app-{target_az}", target, lb, 40_000)
            assert firewall_subnets(request) == firewall_subnets(answer), (lb_az, target_az)
            assert vpc.refused(request) == [] and vpc.refused(answer) == [], (lb_az, target_az)


def test_nonprod_app_hosts_have_no_path_to_the_internet(nonprod_plan: Plan) -> None:
    """Without NAT gateways the app tier reaches AWS through the VPC endpoints only."""
    vpc = Vpc(nonprod_plan)
    for az in "ab":
        hops = vpc.send(f"nonprod-app-{az}", vpc.host(f"nonprod-app-{az}"), PARTNER, 443)
        assert hops[-1].entering == "blackhole", hops


def test_routes_inside_the_vpc_name_a_whole_subnet(plan: Plan) -> None:
    """A route more specific than the local route must have a whole subnet's CIDR as its
    destination (and a middlebox endpoint as its target), or AWS refuses it.
    https://docs.aws.amazon.com/vpc/latest/userguide/gateway-route-tables.html"""
    vpc = Vpc(plan)
    cidrs = {c for c, _ in vpc.subnets.values()}
    for route in plan.every(ROUTE):
        destination = ipaddress.ip_network(route.inputs["destinationCidrBlock"])
        if destination.subnet_of(vpc.cidr):  # type: ignore[arg-type]
            assert destination in cidrs, route.name
            assert route.inputs.get("vpcEndpointId"), route.name


def test_no_nacl_entry_admits_an_administrative_port_from_outside_the_vpc(plan: Plan) -> None:
    """Security Hub EC2.21 (PCI DSS 1.3.1): no NACL ingress from 0.0.0.0/0 to 22 or 3389;
    here from no address outside the VPC (the internet, the on-prem ranges).
    https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-21"""
    vpc = Vpc(plan).cidr
    inbound = [e for e in entries(plan) if not e.egress and not e.cidr.subnet_of(vpc)]  # type: ignore[arg-type]
    assert inbound
    for entry in inbound:
        assert entry.protocol == "tcp", entry.name
        assert not any(entry.ports[0] <= p <= entry.ports[1] for p in (22, RDP)), entry.name


# --- endpoint policies, as IAM evaluates them -------------------------------------------------


def endpoint_policies(plan: Plan) -> dict[str, dict[str, Any]]:
    """Service (the part after com.amazonaws.<region>.) -> the VPC endpoint's policy. The
    migration staging area's endpoints (``<stack>-mgn-*``: MGN's buckets only, the agent's
    session call) are checked in tests/test_migration.py."""
    import json

    return {
        e.inputs["serviceName"].split(".", 3)[3]: json.loads(e.inputs["policy"])
        for e in plan.every(ENDPOINT)
        if "-mgn-" not in e.name
    }


def caller(account: str, resource_account: str, **more: str) -> dict[str, str]:
    return {"aws:PrincipalAccount": account, "aws:ResourceAccount": resource_account, **more}


def test_every_endpoint_admits_only_the_stacks_principals_on_its_resources(plan: Plan) -> None:
    """A VPC endpoint policy is a resource policy evaluated with the request's
    aws:PrincipalAccount / aws:ResourceAccount (or the Org ID keys): the instance roles of
    the stack's account reach their own resources; keys of another account cannot use the
    endpoint, and the stack's roles cannot reach another account's resources through it.
    https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"""
    own = prod_or_nonprod_account(plan)
    policies = endpoint_policies(plan)
    assert set(policies) >= {"s3", "ssm", "ssmmessages", "ec2messages", "kms", "logs"}
    for service, policy in policies.items():
        action = f"{service.split('-')[0]}:Any"
        assert allows(policy, Request(action, context=caller(own, own))), service
        assert not allows(policy, Request(action, context=caller("999999999999", own))), service
        assert not allows(policy, Request(action, context=caller(own, "999999999999"))), service


def prod_or_nonprod_account(plan: Plan) -> str:
    (vpc,) = plan.every("aws:ec2/vpc:Vpc")
    return str(vpc.outputs["arn"]).split(":")[4]


def test_the_hosts_install_packages_and_agents_through_the_s3_endpoint(plan: Plan) -> None:
    """dnf on Amazon Linux 2023 reads the region's al2023-repos-<region>-de612dc2 bucket, the
    SSM Agent and CloudWatch agent their own AWS buckets, without the instance's credentials
    (https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html);
    the endpoint admits exactly those reads, not writes, not another region's buckets."""
    policy = endpoint_policies(plan)["s3"]
    region = "ap-southeast-1"
    for bucket in (
        f"al2023-repos-{region}-de612dc2",
        f"aws-ssm-{region}",
        f"amazon-ssm-packages-{region}",
        f"{region}-birdwatcher-prod",
        f"patch-baseline-snapshot-{region}",
        f"amazoncloudwatch-agent-{region}",
    ):
        assert allows(policy, Request("s3:GetObject", resource=f"arn:aws:s3:::{bucket}/k")), bucket
        assert not allows(policy, Request("s3:PutObject", resource=f"arn:aws:s3:::{bucket}/k"))
    other = "arn:aws:s3:::al2023-repos-us-east-1-de612dc2/k"
    assert not allows(policy, Request("s3:GetObject", resource=other))
    anyone = "arn:aws:s3:::someone-elses-bucket/k"
    assert not allows(policy, Request("s3:PutObject", resource=anyone))


def test_with_the_organizations_id_the_endpoints_admit_the_organization(
    stack_plan: StackPlanner,
) -> None:
    """organizationId set: the org's principals on the org's resources
    (aws:PrincipalOrgID, aws:ResourceOrgID); S3 still only the stack's own account's
    buckets."""
    plan = stack_plan("prod", {"organizationId": "o-a1b2c3d4e5"})
    org = {"aws:PrincipalOrgID": "o-a1b2c3d4e5", "aws:ResourceOrgID": "o-a1b2c3d4e5"}
    policies = endpoint_policies(plan)
    assert allows(policies["kms"], Request("kms:Decrypt", context=org))
    assert not allows(
        policies["kms"], Request("kms:Decrypt", context={**org, "aws:PrincipalOrgID": "o-b"})
    )
    log_archive = {**org, "aws:ResourceAccount": "444455556666"}
    assert not allows(
        policies["s3"], Request("s3:PutObject", resource="arn:aws:s3:::x/k", context=log_archive)
    )


def test_the_firewalls_logs_can_be_delivered_and_encrypted(prod_plan: Plan) -> None:
    """Network Firewall logs to CloudWatch Logs go through the log delivery service, which
    the log group's resource policy must admit (for this account's sources), and CloudWatch
    Logs encrypts them with the group's key.
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-CloudWatchLogs.html"""
    import json

    policy = prod_plan.named(
        "prod-firewall-logs", "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
    )
    document = json.loads(policy.inputs["policyDocument"])
    (logging,) = prod_plan.every("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
    names = [
        d["logDestination"]["logGroup"]
        for d in logging.inputs["loggingConfiguration"]["logDestinationConfigs"]
    ]
    assert len(names) == 2
    for name in names:
        (group,) = [g for g in prod_plan.every(LOG_GROUP) if g.outputs["name"] == name]
        account, region = account_and_region(prod_plan, group.outputs["arn"])
        stream = f"{group.outputs['arn']}:log-stream:firewall"
        delivery = Request(
            "logs:PutLogEvents",
            resource=stream,
            principal={"Service": "delivery.logs.amazonaws.com"},
            context={
                "aws:SourceAccount": account,
                "aws:SourceArn": f"arn:aws:logs:{region}:{account}:delivery-source:x",
            },
        )
        assert allows(document, delivery), name
        stranger = Request(
            "logs:PutLogEvents",
            resource=stream,
            principal={"Service": "delivery.logs.amazonaws.com"},
            context={"aws:SourceAccount": "999999999999"},
        )
        assert not allows(document, stranger), "confused deputy"
        assert logs_may_use_key_for(prod_plan, group) == [], name


def test_the_data_tier_admits_only_its_stores_ports_never_every_protocol(plan: Plan) -> None:
    """The data tier's NACL: TCP only; from the app tier each store's port; between its own
    subnets only what DMS writes to (prod: PostgreSQL and DocumentDB; nonprod: nothing). The
    stores replicate on their services' own networks (docs/secure-vpc.md#data-tier)."""
    vpc = Vpc(plan)
    data_acl = next(acl for name, acl in vpc.nacl_of.items() if "-data-" in name)
    blocks = list(ipaddress.ip_network(plan.stack_outputs["vpcCidr"]).subnets(prefixlen_diff=3))
    found: dict[ipaddress.IPv4Network, set[int]] = {blocks[1]: set(), blocks[2]: set()}
    data_entries = [e for e in entries(plan) if e.acl == data_acl]
    assert data_entries
    for entry in data_entries:
        assert entry.protocol == "tcp", entry.name
        if entry.egress or entry.is_return or entry.cidr not in found:
            continue
        found[entry.cidr].add(entry.ports[0])  # type: ignore[index]
    stores = {5432, 27017, 6379, 5671, 443}
    assert found[blocks[1]] == stores
    is_prod = any(r.name == "prod-data" for r in plan.every(NACL))
    assert found[blocks[2]] == ({5432, 27017} if is_prod else set())
