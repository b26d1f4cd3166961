"""Growth without replacement: grow a real stack config and compare the offline plans.

Every resource of "before" must still be in "after" with the same type, logical name and
parent, and the same inputs, except the inputs in IN_PLACE_ON_GROWTH: ones AWS updates in
place when a stack grows (a multi-AZ resource's subnet list, a policy document), each with
its reason. The comparison covers every input, so it also shows the plans are deterministic.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components import SecureVpc, SecureVpcSettings, StackContext
from components.plan import read_stack_config
from components.testing import Plan, run_offline

from conftest import ROOT, StackPlanner

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
}


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


def assert_grows_without_replacement(before: Plan, after: Plan) -> list[str]:
    """Return the names of new resources; fail on any removed or replaced one."""
    grown = {(r.type, r.name): r for r in after}
    problems: list[str] = []
    for r in before:
        key = (r.type, r.name)
        if key not in grown:
            problems.append(f"removed: {r.type} {r.name}")
            continue
        new = grown[key]
        if new.parent != r.parent:
            problems.append(f"re-parented: {r.type} {r.name}")
        allowed = IN_PLACE_ON_GROWTH.get(r.type, set())
        for name in sorted(set(r.inputs) | set(new.inputs)):
            if name not in allowed and r.inputs.get(name) != new.inputs.get(name):
                problems.append(
                    f"changed: {r.type} {r.name}.{name}: {r.inputs.get(name)!r} -> "
                    f"{new.inputs.get(name)!r}"
                )
    assert not problems, "\n".join(problems)
    old = {(r.type, r.name) for r in before}
    return sorted(name for (type_, name) in grown if (type_, name) not in old)


@pytest.mark.parametrize("stack", ["nonprod", "prod"])
def test_growing_a_stack_replaces_nothing(stack: str, stack_plan: StackPlanner) -> None:
    added = assert_grows_without_replacement(stack_plan(stack), stack_plan(stack, grow(stack)))
    expected = ["rewards", "rewards-instances", f"{stack}-rds-rewards", f"{stack}-hanoi-fw1"]
    for name in expected:
        assert name in added, name
    assert any("hanoi-dr" in name for name in added)
    if stack == "nonprod":
        assert f"{stack}-data-c" in added


def test_the_comparison_catches_a_replaced_subnet() -> None:
    def vpc(cidr: str) -> Plan:
        return run_offline(
            lambda: (
                SecureVpc(
                    "net",
                    SecureVpcSettings(vpc_cidr=cidr, availability_zones=["a", "b"]),
                    context=StackContext(environment="nonprod"),
                )
                and None
            )
        )

    with pytest.raises(
        AssertionError, match=r"changed: aws:ec2/subnet:Subnet net-app-a\.cidrBlock"
    ):
        assert_grows_without_replacement(vpc("10.20.0.0/16"), vpc("10.21.0.0/16"))
