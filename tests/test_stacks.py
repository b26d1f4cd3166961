"""The two real stacks, planned offline from Pulumi.prod.yaml and Pulumi.nonprod.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.plan import plan_stack
from components.testing import Plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_stack("prod", ROOT)


@pytest.fixture(scope="module")
def nonprod() -> Plan:
    return plan_stack("nonprod", ROOT)


def subnets(plan: Plan) -> set[tuple[str, str]]:
    return {
        (s.inputs["tags"]["tier"], s.inputs["availabilityZone"][-1])
        for s in plan.of_type("aws:ec2/subnet:Subnet")
    }


def test_prod_spans_three_azs_with_a_nat_per_az(prod: Plan) -> None:
    assert subnets(prod) == {(t, az) for t in ("public", "app", "data") for az in "abc"}
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 3


def test_nonprod_spans_two_azs_with_one_nat(nonprod: Plan) -> None:
    assert subnets(nonprod) == {(t, az) for t in ("public", "app", "data") for az in "ab"}
    assert len(nonprod.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_prod_and_nonprod_share_no_address_space(prod: Plan, nonprod: Plan) -> None:
    import ipaddress

    a = ipaddress.ip_network(prod.stack_outputs["vpcCidr"])
    b = ipaddress.ip_network(nonprod.stack_outputs["vpcCidr"])
    assert not a.overlaps(b)


def test_every_resource_is_tagged_with_its_environment(prod: Plan, nonprod: Plan) -> None:
    for plan, env in ((prod, "prod"), (nonprod, "nonprod")):
        for r in plan:
            tags = r.inputs.get("tags")
            if tags:
                assert tags["environment"] == env, r.name


def test_every_resource_deploys_through_the_stacks_own_account_provider(
    prod: Plan, nonprod: Plan
) -> None:
    for plan, account in ((prod, "210987654321"), (nonprod, "123456789012")):
        (provider,) = plan.of_type("pulumi:providers:aws")
        assert provider.inputs["allowedAccountIds"] == f'["{account}"]'
        assert f"arn:aws:iam::{account}:role/" in provider.inputs["assumeRoles"]
        for r in plan:
            if r.custom and r.type.startswith("aws:"):
                assert r.provider.startswith(provider.urn), f"{r.name} uses {r.provider}"
