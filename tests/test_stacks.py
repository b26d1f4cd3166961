"""The two real stacks, planned offline from Pulumi.prod.yaml and Pulumi.nonprod.yaml:
what a security reviewer checks before either exists."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from components.testing import Plan, Registered

from conftest import StackPlanner

STATEFUL = (
    "aws:rds/instance:Instance",
    "aws:docdb/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:mq/broker:Broker",
    "aws:opensearch/domain:Domain",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
)
ON_PREM = {"172.16.0.0/20", "172.16.32.0/22"}


def subnets(plan: Plan) -> set[tuple[str, str]]:
    return {
        (s.inputs["tags"]["tier"], s.inputs["availabilityZone"][-1])
        for s in plan.of_type("aws:ec2/subnet:Subnet")
    }


def tag_value(resource: Registered, key: str) -> Any:
    tags = resource.inputs.get("tags")
    if isinstance(tags, dict):
        return tags.get(key)
    if isinstance(tags, list):  # Auto Scaling groups: [{key, value, propagateAtLaunch}]
        return next((t["value"] for t in tags if t.get("key") == key), None)
    return None


def test_prod_spans_three_azs_with_a_nat_and_a_firewall_endpoint_per_az(prod_plan: Plan) -> None:
    # staging: the MGN staging area while the rehost migration runs (hybrid.migration)
    tiers = ("public", "app", "data", "firewall", "staging")
    assert subnets(prod_plan) == {(t, az) for t in tiers for az in "abc"}
    assert len(prod_plan.of_type("aws:ec2/natGateway:NatGateway")) == 3
    (firewall,) = prod_plan.of_type("aws:networkfirewall/firewall:Firewall")
    assert len(firewall.inputs["subnetMappings"]) == 3


def test_nonprod_spans_two_azs_and_reaches_aws_through_endpoints_only(nonprod_plan: Plan) -> None:
    tiers = ("public", "app", "data", "staging")  # staging: hybrid.migration (MGN)
    assert subnets(nonprod_plan) == {(t, az) for t in tiers for az in "ab"}
    assert nonprod_plan.of_type("aws:ec2/natGateway:NatGateway") == []
    assert nonprod_plan.of_type("aws:networkfirewall/firewall:Firewall") == []


def test_prod_and_nonprod_share_no_address_space_account_or_key(
    prod_plan: Plan, nonprod_plan: Plan
) -> None:
    prod_vpc = ipaddress.ip_network(prod_plan.stack_outputs["vpcCidr"])
    nonprod_vpc = ipaddress.ip_network(nonprod_plan.stack_outputs["vpcCidr"])
    assert not prod_vpc.overlaps(nonprod_vpc)
    for cidr in ON_PREM:
        assert not ipaddress.ip_network(cidr).overlaps(prod_vpc)
        assert not ipaddress.ip_network(cidr).overlaps(nonprod_vpc)
    prod_provider = prod_plan.named("prod-aws")
    nonprod_provider = nonprod_plan.named("nonprod-aws")
    assert prod_provider.inputs["allowedAccountIds"] != nonprod_provider.inputs["allowedAccountIds"]
    prod_keys = {k.outputs["arn"] for k in prod_plan.of_type("aws:kms/key:Key")}
    nonprod_keys = {k.outputs["arn"] for k in nonprod_plan.of_type("aws:kms/key:Key")}
    assert prod_keys and not prod_keys & nonprod_keys


def test_every_resource_deploys_through_the_stacks_own_account_provider(
    prod_plan: Plan, nonprod_plan: Plan
) -> None:
    for plan, account in ((prod_plan, "210987654321"), (nonprod_plan, "123456789012")):
        # the stack's region, and us-east-1 for the LandingZone's root-activity forwarder
        providers = plan.every("pulumi:providers:aws")
        assert sorted(p.inputs["region"] for p in providers) == ["ap-southeast-1", "us-east-1"]
        for provider in providers:
            assert provider.inputs["allowedAccountIds"] == f'["{account}"]'
            assert f"arn:aws:iam::{account}:role/" in provider.inputs["assumeRoles"]
        for r in plan:
            if r.custom and r.type.startswith("aws:"):
                assert any(r.provider.startswith(p.urn) for p in providers), r.name


def test_every_taggable_resource_carries_its_environment(
    prod_plan: Plan, nonprod_plan: Plan
) -> None:
    for plan, env in ((prod_plan, "prod"), (nonprod_plan, "nonprod")):
        tagged = [r for r in plan if r.inputs.get("tags")]
        assert len(tagged) > 150
        for r in tagged:
            assert tag_value(r, "environment") == env, r.name


def test_stateful_resources_are_protected_in_prod_only(prod_plan: Plan, nonprod_plan: Plan) -> None:
    for type_ in STATEFUL:
        prod = prod_plan.of_type(type_)
        assert prod, type_
        unprotected = [r.name for r in prod if not r.protect]
        assert not unprotected, f"{type_}: {unprotected}"
    for type_ in STATEFUL[:5]:
        assert not [r.name for r in nonprod_plan.of_type(type_) if r.protect], type_


def test_prod_databases_are_multi_az_with_deletion_protection(prod_plan: Plan) -> None:
    for db in prod_plan.every("aws:rds/instance:Instance"):
        assert db.inputs["multiAz"] is True and db.inputs["deletionProtection"] is True
        assert db.inputs["skipFinalSnapshot"] is False
    (broker,) = prod_plan.of_type("aws:mq/broker:Broker")
    assert broker.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ"
    (redis,) = prod_plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert redis.inputs["multiAzEnabled"] is True and redis.inputs["automaticFailoverEnabled"]
    (domain,) = prod_plan.of_type("aws:opensearch/domain:Domain")
    assert domain.inputs["clusterConfig"]["zoneAwarenessEnabled"] is True


def test_nonprod_is_smaller_and_cheaper(prod_plan: Plan, nonprod_plan: Plan) -> None:
    (broker,) = nonprod_plan.of_type("aws:mq/broker:Broker")
    assert broker.inputs["deploymentMode"] == "SINGLE_INSTANCE"
    assert all(
        db.inputs["multiAz"] is False for db in nonprod_plan.every("aws:rds/instance:Instance")
    )
    assert not nonprod_plan.of_type("aws:directconnect/gateway:Gateway")
    assert len(nonprod_plan) < len(prod_plan)
    for group in nonprod_plan.every("aws:autoscaling/group:Group"):
        assert (group.inputs["minSize"], group.inputs["maxSize"]) == (1, 2)


def test_prod_has_direct_connect_associated_with_the_vpn_gateway(prod_plan: Plan) -> None:
    (gateway,) = prod_plan.of_type("aws:directconnect/gateway:Gateway")
    (association,) = prod_plan.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")
    (vgw,) = prod_plan.of_type("aws:ec2/vpnGateway:VpnGateway")
    assert association.inputs["dxGatewayId"] == gateway.outputs["id"]
    assert association.inputs["associatedGatewayId"] == vgw.outputs["id"]
    assert association.inputs["allowedPrefixes"] == ["10.10.0.0/16"]
    (vpn,) = prod_plan.of_type("aws:ec2/vpnConnection:VpnConnection")
    assert vpn.inputs["vpnGatewayId"] == vgw.outputs["id"]


def test_each_store_admits_exactly_the_apps_that_declared_it(prod_plan: Plan) -> None:
    app_sgs = {
        r.name.removesuffix("-instances"): r.outputs["id"]
        for r in prod_plan.of_type("aws:ec2/securityGroup:SecurityGroup")
        if r.name in ("loyalty-instances", "mmf-instances")
    }
    assert set(app_sgs) == {"loyalty", "mmf"}
    declared = {
        "rds-loyalty": {"loyalty"},
        "rds-mmf": {"mmf"},
        "docdb-mmf": {"mmf"},
        "redis": {"loyalty", "mmf"},
        "rabbitmq": {"loyalty", "mmf"},
        "opensearch": {"loyalty", "mmf"},
    }
    names = {v: k for k, v in app_sgs.items()}
    dms = prod_plan.named("prod-dms-sg", "aws:ec2/securityGroup:SecurityGroup").outputs["id"]
    migrated = {"rds-loyalty", "rds-mmf", "docdb-mmf"}
    # besides the apps, the data tier's own functions: the rotation of the DMS migration
    # users (RDS targets) and the RabbitMQ users function (management API)
    functions = {
        prod_plan.named(f"prod-{role}-sg", "aws:ec2/securityGroup:SecurityGroup").outputs[
            "id"
        ]: stores
        for role, stores in (
            ("dms-rotation", {"rds-loyalty", "rds-mmf"}),
            ("rabbitmq-users", {"rabbitmq"}),
        )
    }
    rules = prod_plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    for store, apps in declared.items():
        group = prod_plan.named(f"prod-{store}-sg", "aws:ec2/securityGroup:SecurityGroup")
        peers = [
            r.inputs.get("referencedSecurityGroupId")
            for r in rules
            if r.inputs["securityGroupId"] == group.outputs["id"]
        ]
        assert None not in peers, f"{store} admits a CIDR"
        assert {names[p] for p in peers if p != dms and p not in functions} == apps, store
        assert (dms in peers) == (store in migrated), store
        for function, stores in functions.items():
            assert (function in peers) == (store in stores), store


def test_on_prem_ranges_are_declared_once_and_used_only_as_declared(prod_plan: Plan) -> None:
    """No input anywhere names an address in the on-prem space that hybrid.onPremNetworks
    does not declare (no copy of the allow-list drifts from the declared one)."""
    on_prem_space = ipaddress.ip_network("172.16.0.0/12")
    used = {
        cidr
        for r in prod_plan
        for cidr in _cidrs_in(r.inputs)
        if ipaddress.ip_network(cidr).subnet_of(on_prem_space)
    }
    assert used == ON_PREM


def _cidrs_in(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for v in value.values():
            found += _cidrs_in(v)
    elif isinstance(value, list):
        for v in value:
            found += _cidrs_in(v)
    elif isinstance(value, str) and "/" in value:
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            return found
        if network.version == 4:
            found.append(str(network))
    return found


def test_every_alarm_notifies_the_stacks_alarm_topic(prod_plan: Plan, nonprod_plan: Plan) -> None:
    for plan in (prod_plan, nonprod_plan):
        topic = plan.stack_outputs["alarmTopicArn"]
        alarms = plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        assert len(alarms) > 20
        for alarm in alarms:
            assert alarm.inputs["alarmActions"] == [topic], alarm.name
            assert alarm.inputs["okActions"] == [topic], alarm.name


def test_the_dashboard_covers_every_component_in_the_stack(prod_plan: Plan) -> None:
    (dashboard,) = prod_plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = dashboard.inputs["dashboardBody"]
    for namespace in (
        "AWS/ApplicationELB",
        "AWS/AutoScaling",
        "AWS/RDS",
        "AWS/DocDB",
        "AWS/ElastiCache",
        "AWS/AmazonMQ",
        "AWS/ES",
        "AWS/VPN",
        "AWS/DX",
    ):
        assert namespace in body, namespace


def test_no_secret_value_reaches_a_plain_input_or_an_output(prod_plan: Plan) -> None:
    secrets: set[str] = set()
    for r in prod_plan:
        for key in r.secret_paths:
            value = r.inputs[key]
            if isinstance(value, str) and len(value) >= 8:
                secrets.add(value)
    for r in prod_plan.every("random:index/randomPassword:RandomPassword"):
        secrets.add(str(r.outputs["result"]))
    assert secrets
    outputs = json.dumps(prod_plan.stack_outputs, default=str)
    for r in prod_plan:
        plain = json.dumps(
            {k: v for k, v in r.inputs.items() if k not in r.secret_paths}, default=str
        )
        for secret in secrets:
            assert secret not in plain, f"{r.type} {r.name} holds a secret in plain text"
    for secret in secrets:
        assert secret not in outputs


@pytest.mark.parametrize(
    ("type_", "key"),
    [
        ("aws:kms/alias:Alias", "name"),
        ("aws:cloudwatch/logGroup:LogGroup", "name"),
        ("aws:rds/instance:Instance", "identifier"),
        ("aws:iam/role:Role", "name"),
        ("aws:secretsmanager/secret:Secret", "name"),
    ],
)
def test_aws_names_are_unique_within_the_stack(prod_plan: Plan, type_: str, key: str) -> None:
    names = [r.inputs.get(key) for r in prod_plan.of_type(type_) if r.inputs.get(key)]
    assert len(names) == len(set(names)), sorted(names)


def test_the_management_stack_builds_the_organization_and_nothing_else(
    stack_plan: StackPlanner,
) -> None:
    plan = stack_plan("management")
    components = {r.type for r in plan if not r.custom}
    # LogArchive: the LandingZone's children in the log-archive account (their provider)
    assert components == {
        "payments:index:LandingZone",
        "payments:index:LogArchive",
        "payments:index:StackDashboard",
    }
    assert not plan.of_type("aws:ec2/vpc:Vpc")
    ous = {
        r.inputs["name"]
        for r in plan.of_type("aws:organizations/organizationalUnit:OrganizationalUnit")
    }
    assert {"Security", "Workloads"} <= ous
    accounts = plan.of_type("aws:organizations/account:Account")
    assert len(accounts) == 4 and all(a.protect for a in accounts)
    policies = plan.of_type("aws:organizations/policy:Policy")
    assert policies and all(p.inputs["type"] == "SERVICE_CONTROL_POLICY" for p in policies)
    assert plan.of_type("aws:organizations/policyAttachment:PolicyAttachment")
    assert plan.of_type("aws:ssoadmin/permissionSet:PermissionSet")


def test_each_app_reaches_only_the_ports_of_the_stores_that_admit_it(prod_plan: Plan) -> None:
    egress = prod_plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    data_block = "10.10.64.0/19"
    expected = {
        "loyalty": {5432, 6379, 5671, 443},  # rds.loyalty, redis, rabbitmq, opensearch
        "mmf": {5432, 27017, 6379, 5671, 443},  # + documentdb.mmf
    }
    for app, ports in expected.items():
        reached = {
            rule.inputs["fromPort"]
            for rule in egress
            if rule.name.startswith(f"{app}-instances-out-")
            and rule.inputs.get("cidrIpv4") == data_block
        }
        assert reached == ports, app


def test_the_internal_alb_admits_exactly_the_vpc_and_the_declared_on_prem_ranges(
    prod_plan: Plan,
) -> None:
    sg = prod_plan.named("mmf-alb", "aws:ec2/securityGroup:SecurityGroup").outputs["id"]
    sources = {
        rule.inputs.get("cidrIpv4")
        for rule in prod_plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if rule.inputs["securityGroupId"] == sg
    }
    assert sources == {"10.10.0.0/16"} | ON_PREM
