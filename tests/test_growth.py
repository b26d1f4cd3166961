"""Growth without losing anything: grow a real stack config and compare the offline plans.

"After" is planned against what "before" deployed (the NACL entries a deployment reads back,
see ``fidelity.deployed_mocks``), as `pulumi up` of the grown stack file would see it.

Every resource of "before" must still be in "after" with the same type, logical name and
parent. An input that changed is either one AWS updates in place when a stack grows
(IN_PLACE_ON_GROWTH, each with its reason), or one that forces the provider to replace the
resource (REPLACED_ON_CHANGE, from the provider's own schema). Only a NACL entry may be
replaced, and only when its rule number changes with it: Pulumi creates the replacement
before it deletes the old entry, and AWS refuses two entries of one NACL direction under one
number. The comparison covers every input, so it also shows the plans are deterministic.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fidelity import deployed_mocks

from components import SecureVpc, SecureVpcSettings, StackContext
from components.plan import plan_stack, read_stack_config
from components.testing import Plan, RecordingMonitor, run_offline

from conftest import ROOT, StackPlanner

NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
EVENT_SUBSCRIPTION = "aws:dms/eventSubscription:EventSubscription"

#: (type, input) pairs that may change when a stack grows, because AWS updates them in place.
IN_PLACE_ON_GROWTH: dict[str, set[str]] = {
    # an interface endpoint gains an ENI in the new AZ's subnet (ModifyVpcEndpoint)
    "aws:ec2/vpcEndpoint:VpcEndpoint": {"subnetIds"},
    # subnet groups gain the new AZ's subnet (Modify*SubnetGroup)
    "aws:rds/subnetGroup:SubnetGroup": {"subnetIds"},
    "aws:docdb/subnetGroup:SubnetGroup": {"subnetIds"},
    "aws:elasticache/subnetGroup:SubnetGroup": {"subnetIds"},
    "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup": {"subnetIds"},
    # an Auto Scaling group spreads over the new AZ (UpdateAutoScalingGroup)
    "aws:autoscaling/group:Group": {"vpcZoneIdentifiers"},
    # a load balancer attaches to the new AZ's subnet (SetSubnets)
    "aws:lb/loadBalancer:LoadBalancer": {"subnets"},
    # key, role and resource policies are documents, updated in place
    "aws:kms/key:Key": {"policy"},
    "aws:iam/rolePolicy:RolePolicy": {"policy"},
    # the dashboard body lists whatever the stack contains (PutDashboard)
    "aws:cloudwatch/dashboard:Dashboard": {"dashboardBody"},
    # the egress firewall gains an endpoint in the new AZ's firewall subnet (AssociateSubnets)
    "aws:networkfirewall/firewall:Firewall": {"subnetMappings"},
}

#: Inputs whose change makes the provider replace the resource (ForceNew / RequiresReplace in
#: the Terraform AWS provider that pulumi-aws bridges). A type listed with None is replaced
#: on any change: it has no update at all.
REPLACED_ON_CHANGE: dict[str, set[str] | None] = {
    # aws_network_acl_rule: every argument is ForceNew, there is no Update
    # (internal/service/ec2/vpc_network_acl_rule.go; the registry page of aws.ec2.NetworkAclRule)
    NACL_RULE: None,
    # aws_dms_event_subscription: name, source_type and source_ids are ForceNew
    # (internal/service/dms/event_subscription.go)
    EVENT_SUBSCRIPTION: {"name", "sourceType", "sourceIds"},
    # aws_vpc_security_group_{ingress,egress}_rule: only security_group_id RequiresReplace
    # (ports, CIDR, protocol and description go through ModifySecurityGroupRules), and a change
    # of the kind of peer (CIDR <-> security group <-> prefix list)
    # (internal/service/ec2/vpc_security_group_ingress_rule.go)
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {"securityGroupId"},
    # aws_subnet: vpc_id, cidr_block, availability_zone(_id), the IPAM pools and netmask
    # lengths, ipv6_native, outpost_arn (internal/service/ec2/vpc_subnet.go)
    "aws:ec2/subnet:Subnet": {
        "vpcId",
        "cidrBlock",
        "availabilityZone",
        "availabilityZoneId",
        "ipv4IpamPoolId",
        "ipv4NetmaskLength",
        "ipv6IpamPoolId",
        "ipv6NetmaskLength",
        "ipv6Native",
        "outpostArn",
    },
    # aws_route: the table and the destination are ForceNew; the target (gateway, NAT,
    # endpoint) is replaced in place (ReplaceRoute) (internal/service/ec2/vpc_route.go)
    "aws:ec2/route:Route": {
        "routeTableId",
        "destinationCidrBlock",
        "destinationIpv6CidrBlock",
        "destinationPrefixListId",
    },
    # aws_networkfirewall_firewall: name and vpc_id; aws_networkfirewall_rule_group: name,
    # type and capacity (internal/service/networkfirewall/firewall.go, rule_group.go)
    "aws:networkfirewall/firewall:Firewall": {"name", "vpcId"},
    "aws:networkfirewall/ruleGroup:RuleGroup": {"name", "type", "capacity"},
}
PEER_KINDS = ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId")


def config_of(stack: str) -> dict[str, Any]:
    """The structured payments-platform: sections of a stack file, as Python objects."""
    _, config, _ = read_stack_config(ROOT, stack)
    return {
        k.partition(":")[2]: json.loads(v)
        for k, v in config.items()
        if k.startswith("payments-platform:") and v[:1] in "{["
    }


def grow(stack: str) -> dict[str, Any]:
    """The stack grown by an AZ (where the region has one), an app, a data store, an
    on-prem range and a customer gateway."""
    config = copy.deepcopy(config_of(stack))
    if stack == "nonprod":
        config["network"]["availabilityZones"] = ["a", "b", "c"]
    config["hybrid"]["onPremNetworks"]["hanoi-dr"] = {"cidr": "172.18.0.0/20", "naclSlot": 3}
    second_octet = "10" if stack == "prod" else "20"
    config["hybrid"]["customerGateways"]["hanoi-fw1"] = {
        "publicIp": "1.52.20.20",
        "bgpAsn": 65020,
        "tunnel1InsideCidr": f"169.254.{second_octet}.8/30",
        "tunnel2InsideCidr": f"169.254.{second_octet}.12/30",
    }
    rewards = copy.deepcopy(config["apps"]["loyalty"])
    rewards["userDataFile"] = "userdata/loyalty.sh"
    config["apps"]["rewards"] = rewards
    config["dataTier"]["rds"]["rewards"] = {"clients": ["rewards"]}
    return config


def widen_app_ports(config: dict[str, Any]) -> dict[str, Any]:
    """Room for more apps behind the app tier's NACLs: 8080 becomes 8080-8089."""
    config = copy.deepcopy(config)
    config["network"]["appPorts"] = "8080-8089"
    return config


def with_dms(stack: str) -> dict[str, Any]:
    """The stack with DMS: prod as it is (three tasks); nonprod, which has none, with one
    PostgreSQL source and task in its own account."""
    config = copy.deepcopy(config_of(stack))
    if "dms" not in config["dataTier"]:
        account = config["account"]["id"]
        config["dataTier"]["dms"] = {
            "sources": {
                "loyalty-pg": {
                    "engine": "postgres",
                    "onPremNetwork": "hcm-dc-db",
                    "host": "172.16.32.10",
                    "databaseName": "loyalty",
                    "secretArn": f"arn:aws:secretsmanager:ap-southeast-1:{account}:secret:"
                    "dms/loyalty-pg-Ab1Cd2",
                    "certificateArn": f"arn:aws:dms:ap-southeast-1:{account}:cert:hcm-dc-ca",
                }
            },
            "tasks": {"loyalty": task("loyalty-pg", "rds.loyalty", "loyalty")},
        }
    return config


def task(source: str, target: str, schema: str) -> dict[str, Any]:
    rule = {
        "rule-type": "selection",
        "rule-id": "1",
        "rule-name": f"all-{schema}",
        "object-locator": {"schema-name": schema, "table-name": "%"},
        "rule-action": "include",
    }
    return {"source": source, "target": target, "tableMappings": json.dumps({"rules": [rule]})}


def add_dms_task(config: dict[str, Any]) -> dict[str, Any]:
    """One more migration task on a source the stack already has."""
    config = copy.deepcopy(config)
    config["dataTier"]["dms"]["tasks"]["loyalty-audit"] = task("loyalty-pg", "rds.loyalty", "audit")
    return config


# --- planning "after" against what "before" deployed ------------------------------------------

_PLANS: dict[str, Plan] = {}


def redeploy(stack: str, config: dict[str, Any], deployed: Plan) -> Plan:
    """The offline plan of ``stack`` with ``config``, reading back the NACLs ``deployed`` made."""
    key = json.dumps([stack, config, id(deployed)], sort_keys=True)
    if key not in _PLANS:
        _, raw, _ = read_stack_config(ROOT, stack)
        account = json.loads(raw["payments-platform:account"])["id"]
        mocks = deployed_mocks(deployed, region=raw["aws:region"], account_id=account)
        _PLANS[key] = plan_stack(
            stack, ROOT, config_overrides=config, monitor=RecordingMonitor(mocks)
        )
    return _PLANS[key]


@dataclass
class Growth:
    """What a grown plan does to each resource of the plan before it."""

    added: list[str] = field(default_factory=list)
    #: resources replaced on deploy (replace-forcing inputs changed), "type name"
    replaced: list[str] = field(default_factory=list)
    #: NACL entries replaced under a new rule number, by name
    renumbered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def replace_forcing(type_: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The inputs whose change makes the provider replace a resource of ``type_``."""
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if type_ not in REPLACED_ON_CHANGE:
        return []
    forcing = REPLACED_ON_CHANGE[type_]
    found = [k for k in changed if forcing is None or k in forcing]
    if type_.startswith("aws:vpc/securityGroup"):
        kind = [k for k in PEER_KINDS if before.get(k) is not None]
        if kind != [k for k in PEER_KINDS if after.get(k) is not None]:
            found.append("(kind of peer)")
    return found


def compare(before: Plan, after: Plan) -> Growth:
    grown = {(r.type, r.name): r for r in after}
    growth = Growth()
    for r in before:
        key = (r.type, r.name)
        if key not in grown:
            growth.problems.append(f"removed: {r.type} {r.name}")
            continue
        new = grown[key]
        if new.parent != r.parent:
            growth.problems.append(f"re-parented: {r.type} {r.name}")
        old_inputs, new_inputs = dict(r.inputs), dict(new.inputs)
        forcing = replace_forcing(r.type, old_inputs, new_inputs)
        if forcing:
            growth.replaced.append(f"{r.type} {r.name}")
            if r.type == NACL_RULE and "ruleNumber" in forcing:
                growth.renumbered.append(r.name)
            elif r.type == NACL_RULE:
                growth.problems.append(
                    f"replaced under the same rule number (create-before-delete collides): "
                    f"{r.name} {forcing}"
                )
            else:
                growth.problems.append(f"replaced: {r.type} {r.name} {forcing}")
            continue
        allowed = IN_PLACE_ON_GROWTH.get(r.type, set()) | _updated_in_place(r.type)
        for name in sorted(set(old_inputs) | set(new_inputs)):
            if name not in allowed and old_inputs.get(name) != new_inputs.get(name):
                growth.problems.append(
                    f"changed: {r.type} {r.name}.{name}: {old_inputs.get(name)!r} -> "
                    f"{new_inputs.get(name)!r}"
                )
    old = {(r.type, r.name) for r in before}
    growth.added = sorted(name for (type_, name) in grown if (type_, name) not in old)
    return growth


def _updated_in_place(type_: str) -> set[str]:
    """Inputs of a type in REPLACED_ON_CHANGE that the provider updates in place."""
    if type_.startswith("aws:vpc/securityGroup"):
        return {"fromPort", "toPort", "ipProtocol", "description", *PEER_KINDS}
    if type_ == EVENT_SUBSCRIPTION:
        return {"eventCategories", "snsTopicArn", "enabled"}
    return set()


def assert_grows_without_replacement(before: Plan, after: Plan) -> list[str]:
    """Return the names of new resources; fail on any removed, re-parented or replaced one."""
    growth = compare(before, after)
    problems = growth.problems + [f"replaced: {r}" for r in growth.renumbered]
    assert not problems, "\n".join(problems)
    return growth.added


# --- the real stacks grow ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["nonprod", "prod"])
def test_growing_a_stack_replaces_nothing(stack: str, stack_plan: StackPlanner) -> None:
    before = stack_plan(stack)
    added = assert_grows_without_replacement(before, redeploy(stack, grow(stack), before))
    expected = ["rewards", "rewards-instances", f"{stack}-rds-rewards", f"{stack}-hanoi-fw1"]
    for name in expected:
        assert name in added, name
    assert any("hanoi-dr" in name for name in added)
    if stack == "nonprod":
        assert f"{stack}-data-c" in added


@pytest.mark.parametrize("stack", ["nonprod", "prod"])
def test_widening_the_app_ports_replaces_only_their_nacl_entries_under_new_numbers(
    stack: str, stack_plan: StackPlanner
) -> None:
    """The app-port entries (the public tier's way to the app tier, the app tier's from the
    public tier, its other AZs and each on-prem range) are replaced, each under a rule number
    its NACL does not hold; nothing else is replaced, nothing stateful changes."""
    before = stack_plan(stack)
    growth = compare(before, redeploy(stack, widen_app_ports(config_of(stack)), before))
    assert not growth.problems, "\n".join(growth.problems)
    assert growth.added == []
    # prod's egress firewall passes the load balancers' traffic to their targets too
    firewall = ["firewall-in-app-public", "firewall-out-app-app"] if stack == "prod" else []
    assert sorted(growth.renumbered) == sorted(
        f"{stack}-{entry}"
        for entry in [
            "app-in-app-app",
            "app-in-app-onprem-hcm-dc-apps",
            "app-in-app-onprem-hcm-dc-db",
            "app-in-app-public",
            "public-out-app-app",
            *firewall,
        ]
    )
    assert growth.replaced == [f"{NACL_RULE} {name}" for name in growth.renumbered]


@pytest.mark.parametrize("stack", ["nonprod", "prod"])
def test_adding_a_dms_task_replaces_nothing(stack: str, stack_plan: StackPlanner) -> None:
    """Each task has its own failure subscription: a subscription listing every task would
    be replaced by each new one (source_ids force a new DMS event subscription)."""
    before = stack_plan(stack, with_dms(stack)) if stack == "nonprod" else stack_plan(stack)
    growth = compare(before, redeploy(stack, add_dms_task(with_dms(stack)), before))
    assert f"{stack}-dms-task-loyalty-audit" in growth.added, growth.added
    assert not growth.replaced, growth.replaced
    assert not growth.problems, "\n".join(growth.problems)


# --- the comparison itself can fail -----------------------------------------------------------


def vpc(cidr: str = "10.20.0.0/16", app_ports: str = "8080") -> Callable[[], None]:
    return lambda: (
        SecureVpc(
            "net",
            SecureVpcSettings(vpc_cidr=cidr, availability_zones=["a", "b"], app_ports=app_ports),
            context=StackContext(environment="nonprod"),
        )
        and None
    )


def firewalled_vpc(azs: list[str]) -> Callable[[], None]:
    return lambda: (
        SecureVpc(
            "net",
            SecureVpcSettings(
                vpc_cidr="10.20.0.0/16",
                availability_zones=azs,
                nat_gateways="OnePerAz",
                egress_firewall={"allowed_domains": [".partner.example"]},  # type: ignore[arg-type]
            ),
            context=StackContext(environment="prod"),
        )
        and None
    )


def test_adding_an_az_to_a_firewalled_vpc_replaces_nothing() -> None:
    """The new AZ gets its subnets, NAT, firewall subnet and endpoint (the firewall's
    subnet mappings grow in place) and its routes; every existing route keeps its table,
    destination and target."""
    growth = compare(
        run_offline(firewalled_vpc(["a", "b"])), run_offline(firewalled_vpc(["a", "b", "c"]))
    )
    assert not growth.problems, "\n".join(growth.problems)
    assert not growth.replaced, growth.replaced
    for name in ("net-firewall-c", "net-app-c-default", "net-public-c-to-app-c", "net-nat-c"):
        assert name in growth.added, name


def test_the_comparison_catches_a_replaced_subnet() -> None:
    growth = compare(run_offline(vpc("10.20.0.0/16")), run_offline(vpc("10.21.0.0/16")))
    assert "replaced: aws:ec2/subnet:Subnet net-app-a ['cidrBlock']" in growth.problems


def test_the_comparison_catches_a_nacl_entry_replaced_under_its_own_number() -> None:
    """Planned without reading back the deployed NACL, a port change keeps each entry's
    number: the collision a real deployment would hit."""
    growth = compare(run_offline(vpc()), run_offline(vpc(app_ports="8080-8081")))
    assert any(
        p.startswith("replaced under the same rule number") and "net-app-in-app-public" in p
        for p in growth.problems
    ), growth.problems


def test_the_comparison_catches_a_replaced_event_subscription() -> None:
    before = {"name": "x", "sourceType": "replication-task", "sourceIds": ["a"]}
    after = {**before, "sourceIds": ["a", "b"]}
    assert replace_forcing(EVENT_SUBSCRIPTION, before, after) == ["sourceIds"]
    assert replace_forcing(EVENT_SUBSCRIPTION, before, {**before, "enabled": False}) == []
