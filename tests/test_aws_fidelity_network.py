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
EPHEMERAL = (1024, 65535)

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
        return self.protocol == "tcp" and self.ports == EPHEMERAL


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
        return any(
            e.acl == acl and e.egress == egress and e.admits(cidr, ports) for e in all_entries
        )

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
