"""The rehost landing area (``hybrid.migration``: AWS Application Migration Service) in the
real stacks, read from their offline plans: what an auditor and the cutover team check.

- the staging area is reachable only from the declared source ranges, on TCP 1500 (and
  HTTPS to its endpoints), in its security groups and in its NACL;
- nothing in staging has a route to the internet (no IGW, NAT or firewall route);
- staging disks are encrypted with the staging area's own customer-managed key, which EC2
  may use on the account's behalf and nobody directly;
- the replication template uses private IPs only and MGN's real CloudFormation property names;
- removing ``migration`` from the stack file deletes only what it built: no other resource
  is added, changed or loses its identity;
- a bad migration block is refused before anything is registered, naming the key.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from components import OnPremNetwork, SecureVpcSettings, StackContext, plan_network
from components.hybrid_connectivity import (
    CustomerGatewaySettings,
    HybridConnectivity,
    HybridConnectivitySettings,
    MigrationSettings,
    WaveSettings,
)
from components.hybrid_connectivity.alarms import MIGRATION_EVENTS
from components.hybrid_connectivity.checks import check_migration
from components.hybrid_connectivity.migration import (
    AGENT_INSTALLATION_POLICY,
    mgn_bucket_arns,
    mgn_endpoint_policy,
    s3_endpoint_policy,
)
from components.iam_check import Request, allows, decide
from components.plan import PlanError, plan_stack, read_stack_config
from components.secure_vpc import plan as net
from components.testing import (
    Plan,
    PlatformMocks,
    RecordingMonitor,
    Registered,
    refusal,
    stub_app,
    stub_network,
)

from conftest import ROOT, StackPlanner

NS = "payments-platform"
REGION = "ap-southeast-1"
PROD_ACCOUNT = "210987654321"
STACKS = ("prod", "nonprod")


def stack_config(stack: str) -> dict[str, Any]:
    _, config, _ = read_stack_config(ROOT, stack)
    return {k: json.loads(v) if v[:1] in "{[" else v for k, v in config.items()}


def hybrid_without_migration(stack: str) -> dict[str, Any]:
    hybrid = dict(stack_config(stack)[f"{NS}:hybrid"])
    hybrid.pop("migration")
    return {f"{NS}:hybrid": hybrid}


def migration_resources(plan: Plan) -> list[Registered]:
    return [r for r in plan if r.name.startswith(("prod-mgn-", "nonprod-mgn-"))]


def sources(stack: str) -> dict[str, str]:
    hybrid = stack_config(stack)[f"{NS}:hybrid"]
    names = hybrid["migration"].get("sourceNetworks") or sorted(hybrid["onPremNetworks"])
    return {n: hybrid["onPremNetworks"][n]["cidr"] for n in names}


def staging_block(stack: str) -> str:
    vpc = stack_config(stack)[f"{NS}:network"]["vpcCidr"]
    return str(net.tier_block(vpc, net.STAGING_SLOT))


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest, stack_plan: StackPlanner) -> tuple[str, Plan]:
    return request.param, stack_plan(request.param)


def _sg_rules(plan: Plan, group: str, kind: str) -> list[Registered]:
    rules = [
        r
        for r in plan.of_type(f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule")
        if r.inputs.get("securityGroupId")
        == plan.named(group, "aws:ec2/securityGroup:SecurityGroup").outputs["id"]
    ]
    return rules


# --- reachable only from the declared ranges, on 1500 --------------------------------------


def test_replication_servers_admit_only_tcp_1500_from_the_source_ranges(
    stack: tuple[str, Plan],
) -> None:
    name, plan = stack
    ingress = _sg_rules(plan, f"{name}-mgn-replication", "Ingress")
    assert ingress, "the replication security group admits nothing"
    admitted = {
        (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs.get("cidrIpv4"))
        for r in ingress
    }
    assert admitted == {("tcp", 1500, 1500, cidr) for cidr in sources(name).values()}


def test_the_staging_endpoints_admit_https_from_staging_and_the_sources_only(
    stack: tuple[str, Plan],
) -> None:
    name, plan = stack
    ingress = _sg_rules(plan, f"{name}-mgn-endpoints", "Ingress")
    cidrs = {r.inputs.get("cidrIpv4") for r in ingress}
    assert cidrs == {staging_block(name), *sources(name).values()}
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in ingress} == {(443, 443)}


def test_replication_servers_send_https_only_to_the_endpoints_and_s3(
    stack: tuple[str, Plan],
) -> None:
    name, plan = stack
    egress = _sg_rules(plan, f"{name}-mgn-replication", "Egress")
    assert egress
    for rule in egress:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (443, 443)
        assert "cidrIpv4" not in rule.inputs, "egress names a group or prefix list, never a CIDR"
    gateway = plan.named(f"{name}-mgn-s3-gateway", "aws:ec2/vpcEndpoint:VpcEndpoint")
    prefix_lists = {r.inputs.get("prefixListId") for r in egress} - {None}
    assert prefix_lists == {gateway.outputs["prefixListId"]}


def _nacl_rules(plan: Plan, name: str) -> list[Registered]:
    acl = plan.named(f"{name}-mgn-staging", "aws:ec2/networkAcl:NetworkAcl").outputs["id"]
    rules = [
        r
        for r in plan.every("aws:ec2/networkAclRule:NetworkAclRule")
        if r.inputs["networkAclId"] == acl
    ]
    assert rules
    return rules


def test_the_staging_nacl_admits_new_connections_only_from_the_sources_and_staging(
    stack: tuple[str, Plan],
) -> None:
    """Inbound entries below 1024 (where services listen) admit 1500 and 443 from the source
    ranges and 443 from the staging tier; everything else inbound is an answer's ephemeral
    range, never the RDP port from outside the VPC."""
    name, plan = stack
    listening = set()
    for rule in _nacl_rules(plan, name):
        if rule.inputs["egress"]:
            continue
        low, high = rule.inputs["fromPort"], rule.inputs["toPort"]
        if low >= 1024 and (low, high) != (1500, 1500):
            assert not low <= 3389 <= high or ipaddress.ip_network(
                rule.inputs["cidrBlock"]
            ).subnet_of(ipaddress.ip_network(staging_block(name)))
            continue
        listening.add((low, rule.inputs["cidrBlock"]))
    expected = {(1500, c) for c in sources(name).values()}
    expected |= {(443, c) for c in sources(name).values()} | {(443, staging_block(name))}
    assert listening == expected


def test_an_on_prem_range_not_named_as_a_source_never_reaches_staging(
    stack: tuple[str, Plan],
) -> None:
    name, plan = stack
    declared = stack_config(name)[f"{NS}:hybrid"]["onPremNetworks"]
    others = {n: d["cidr"] for n, d in declared.items() if n not in sources(name)}
    assert others, "the stack declares no other range: the test would prove nothing"
    cidrs = {r.inputs.get("cidrBlock") for r in _nacl_rules(plan, name)}
    cidrs |= {
        r.inputs.get("cidrIpv4") for r in _sg_rules(plan, f"{name}-mgn-replication", "Ingress")
    }
    cidrs |= {r.inputs.get("cidrIpv4") for r in _sg_rules(plan, f"{name}-mgn-endpoints", "Ingress")}
    assert not cidrs & set(others.values())


def test_staging_nacl_numbers_are_unique_per_direction(stack: tuple[str, Plan]) -> None:
    name, plan = stack
    seen: set[tuple[bool, int]] = set()
    for rule in _nacl_rules(plan, name):
        key = (rule.inputs["egress"], rule.inputs["ruleNumber"])
        assert key not in seen, f"NACL number {key} used twice"
        seen.add(key)


# --- no internet route -----------------------------------------------------------------------


def test_staging_has_no_route_to_the_internet(stack: tuple[str, Plan]) -> None:
    name, plan = stack
    table = plan.named(f"{name}-mgn-staging", "aws:ec2/routeTable:RouteTable").outputs["id"]
    routes = [r for r in plan.every("aws:ec2/route:Route") if r.inputs["routeTableId"] == table]
    assert routes == [], "the staging table holds only the local, VGW-propagated and S3 routes"
    assert not plan.named(f"{name}-mgn-staging", "aws:ec2/routeTable:RouteTable").inputs.get(
        "routes"
    )
    subnets = [
        s for s in plan.every("aws:ec2/subnet:Subnet") if s.name.startswith(f"{name}-mgn-staging-")
    ]
    app_subnets = [
        s for s in plan.every("aws:ec2/subnet:Subnet") if s.name.startswith(f"{name}-app-")
    ]
    assert len(subnets) == len(app_subnets), "a staging subnet in every AZ of the VPC"
    ids = {s.outputs["id"] for s in subnets}
    for assoc in plan.every("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        if assoc.inputs["subnetId"] in ids:
            assert assoc.inputs["routeTableId"] == table
    for subnet in subnets:
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    propagation = plan.named(
        f"{name}-mgn-staging", "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"
    )
    assert propagation.inputs["routeTableId"] == table


def test_staging_subnets_come_from_the_plans_staging_block(stack: tuple[str, Plan]) -> None:
    name, plan = stack
    block = ipaddress.ip_network(staging_block(name))
    others = [
        s for s in plan.every("aws:ec2/subnet:Subnet") if not s.name.startswith(f"{name}-mgn-")
    ]
    for subnet in plan.every("aws:ec2/subnet:Subnet"):
        if subnet.name.startswith(f"{name}-mgn-staging-"):
            cidr = ipaddress.ip_network(subnet.inputs["cidrBlock"])
            assert cidr.subnet_of(block)
            assert not any(
                cidr.overlaps(ipaddress.ip_network(o.inputs["cidrBlock"])) for o in others
            )


# --- encrypted by the CMK; private IPs -------------------------------------------------------


def _state(resource: Registered) -> dict[str, Any]:
    return json.loads(resource.inputs["desiredState"])


def test_staging_disks_are_encrypted_with_the_staging_key(stack: tuple[str, Plan]) -> None:
    name, plan = stack
    template = plan.named(f"{name}-mgn-replication", "aws:cloudcontrol/resource:Resource")
    assert template.inputs["typeName"] == "AWS::MGN::ReplicationConfigurationTemplate"
    state = _state(template)
    key = plan.named(f"{name}-mgn-staging", "aws:kms/key:Key")
    assert state["EbsEncryption"] == "CUSTOM"
    assert state["EbsEncryptionKeyArn"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is (name == "prod")


def test_the_staging_key_is_used_only_through_ec2_by_the_account(prod_plan: Plan) -> None:
    """EBS encrypts through EC2 for the caller: kms:ViaService ec2.<region> (KMS Developer
    Guide, "kms:ViaService"; the EBS default key policy). A direct call, another service or
    another account is refused."""
    key = prod_plan.named("prod-mgn-staging", "aws:kms/key:Key")
    policy = json.loads(key.inputs["policy"])
    role = f"arn:aws:iam::{PROD_ACCOUNT}:role/aws-service-role/mgn.amazonaws.com/AWSServiceRoleForApplicationMigrationService"
    via_ec2 = {
        "kms:ViaService": f"ec2.{REGION}.amazonaws.com",
        "kms:CallerAccount": PROD_ACCOUNT,
        "aws:PrincipalArn": role,
    }
    for action in ("kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant", "kms:Decrypt"):
        assert allows(policy, Request(action, principal={"AWS": role}, context=via_ec2)), action
    direct = {"kms:CallerAccount": PROD_ACCOUNT, "aws:PrincipalArn": role}
    assert (
        decide(policy, Request("kms:Decrypt", principal={"AWS": role}, context=direct)) != "allow"
    )
    other = {**via_ec2, "kms:CallerAccount": "999999999999"}
    assert (
        decide(
            policy,
            Request(
                "kms:Decrypt", principal={"AWS": "arn:aws:iam::999999999999:root"}, context=other
            ),
        )
        != "allow"
    )


def test_replication_uses_private_ips_and_our_security_group_only(stack: tuple[str, Plan]) -> None:
    name, plan = stack
    state = _state(plan.named(f"{name}-mgn-replication", "aws:cloudcontrol/resource:Resource"))
    assert state["DataPlaneRouting"] == "PRIVATE_IP"
    assert state["CreatePublicIP"] is False
    assert state["AssociateDefaultSecurityGroup"] is False
    sg = plan.named(f"{name}-mgn-replication", "aws:ec2/securityGroup:SecurityGroup")
    assert state["ReplicationServersSecurityGroupsIDs"] == [sg.outputs["id"]]
    subnet = plan.named(f"{name}-mgn-staging-a", "aws:ec2/subnet:Subnet")
    assert state["StagingAreaSubnetId"] == subnet.outputs["id"]
    # the servers, disks and snapshots carry the stack's classification (cde in prod)
    classification = "cde" if name == "prod" else "out-of-scope"
    assert state["StagingAreaTags"]["data-classification"] == classification


#: The properties of the CloudFormation types (CloudFormation Template Reference,
#: AWS::MGN::ReplicationConfigurationTemplate / AWS::MGN::LaunchConfigurationTemplate).
REPLICATION_PROPERTIES = {
    "AssociateDefaultSecurityGroup", "BandwidthThrottling", "CreatePublicIP", "DataPlaneRouting",
    "DefaultLargeStagingDiskType", "EbsEncryption", "EbsEncryptionKeyArn", "InternetProtocol",
    "ReplicationServerInstanceType", "ReplicationServersSecurityGroupsIDs", "StagingAreaSubnetId",
    "StagingAreaTags", "StoreSnapshotOnLocalZone", "Tags", "UseDedicatedReplicationServer",
    "UseFipsEndpoint",
}  # fmt: skip
LAUNCH_PROPERTIES = {
    "AssociatePublicIpAddress", "BootMode", "CopyPrivateIp", "CopyTags", "EnableMapAutoTagging",
    "EnableParametersEncryption", "LargeVolumeConf", "LaunchDisposition", "Licensing",
    "MapAutoTaggingMpeId", "ParametersEncryptionKey", "PostLaunchActions", "SmallVolumeConf",
    "SmallVolumeMaxSize", "Tags", "TargetInstanceTypeRightSizingMethod",
}  # fmt: skip


def test_the_templates_use_only_the_cloudformation_types_properties(
    stack: tuple[str, Plan],
) -> None:
    name, plan = stack
    replication = _state(
        plan.named(f"{name}-mgn-replication", "aws:cloudcontrol/resource:Resource")
    )
    launch_resource = plan.named(f"{name}-mgn-launch", "aws:cloudcontrol/resource:Resource")
    assert launch_resource.inputs["typeName"] == "AWS::MGN::LaunchConfigurationTemplate"
    launch = _state(launch_resource)
    assert set(replication) <= REPLICATION_PROPERTIES
    assert set(launch) <= LAUNCH_PROPERTIES
    assert 0 <= replication["BandwidthThrottling"] <= 10000
    assert launch["AssociatePublicIpAddress"] is False and launch["CopyPrivateIp"] is False


def test_prod_throttles_replication_to_leave_room_on_the_link(prod_plan: Plan) -> None:
    state = _state(prod_plan.named("prod-mgn-replication", "aws:cloudcontrol/resource:Resource"))
    assert state["BandwidthThrottling"] == 400


# --- endpoints, IAM and events ----------------------------------------------------------------


def test_the_s3_endpoints_read_only_mgns_buckets() -> None:
    policy = s3_endpoint_policy(partition="aws", region=REGION)
    anyone = {"AWS": "*"}
    for arn in mgn_bucket_arns("aws", REGION):
        assert allows(policy, Request("s3:GetObject", arn.replace("*", "x"), principal=anyone))
    assert not allows(
        policy,
        Request("s3:PutObject", f"arn:aws:s3:::aws-mgn-clients-{REGION}/x", principal=anyone),
    )
    assert not allows(
        policy, Request("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x", principal=anyone)
    )


def test_the_mgn_endpoint_admits_the_agents_session_and_only_the_account() -> None:
    policy = mgn_endpoint_policy(
        organization_id=None, account_id=PROD_ACCOUNT, partition="aws", region=REGION
    )
    session = f"arn:aws:execute-api:{REGION}:123456789012:abc/POST/CreateSessionForMgn"
    assert allows(policy, Request("execute-api:Invoke", session, principal={"AWS": "*"}))
    ours = {"aws:PrincipalAccount": PROD_ACCOUNT, "aws:ResourceAccount": PROD_ACCOUNT}
    assert allows(
        policy, Request("mgn:DescribeSourceServers", principal={"AWS": "x"}, context=ours)
    )
    theirs = {"aws:PrincipalAccount": "999999999999", "aws:ResourceAccount": "999999999999"}
    assert not allows(
        policy, Request("mgn:DescribeSourceServers", principal={"AWS": "x"}, context=theirs)
    )


def test_only_the_named_installers_assume_the_agent_installer_role(prod_plan: Plan) -> None:
    role = prod_plan.named("prod-mgn-agent-installer", "aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert role.inputs["maxSessionDuration"] == 3600
    break_glass = f"arn:aws:iam::{PROD_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/ap-southeast-1/AWSReservedSSO_BreakGlass_0123"
    root = {"AWS": f"arn:aws:iam::{PROD_ACCOUNT}:root"}
    assert allows(
        trust, Request("sts:AssumeRole", principal=root, context={"aws:PrincipalArn": break_glass})
    )
    developer = f"arn:aws:iam::{PROD_ACCOUNT}:role/aws-reserved/sso.amazonaws.com/ap-southeast-1/AWSReservedSSO_Developer_0123"
    assert not allows(
        trust, Request("sts:AssumeRole", principal=root, context={"aws:PrincipalArn": developer})
    )
    attached = [
        a
        for a in prod_plan.every("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.outputs["name"]
    ]
    assert [a.inputs["policyArn"] for a in attached] == [
        f"arn:aws:iam::aws:policy/{AGENT_INSTALLATION_POLICY}"
    ]
    inline = [
        p
        for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] in (role.outputs["name"], role.outputs["id"])
    ]
    assert inline == [], "the installer role holds the AWS-managed policy and nothing else"


def test_mgn_events_reach_the_alarm_topic(stack: tuple[str, Plan]) -> None:
    """MGN emits on the default bus of its region (source aws.mgn, MGN User Guide "Event
    samples"); the alarm topic's policy admits EventBridge rules of the account."""
    name, plan = stack
    topic = next(t for t in plan.every("aws:sns/topic:Topic") if t.name.endswith("-alarms"))
    for event in MIGRATION_EVENTS:
        rule = plan.named(f"{name}-{event.name}", "aws:cloudwatch/eventRule:EventRule")
        pattern = json.loads(rule.inputs["eventPattern"])
        assert pattern == {"source": ["aws.mgn"], "detail-type": [event.detail_type]}
        target = plan.named(f"{name}-{event.name}", "aws:cloudwatch/eventTarget:EventTarget")
        assert target.inputs["arn"] == topic.outputs["arn"]
        assert target.provider == rule.provider, "rule and target in the stack's region"
    policy = next(
        json.loads(p.inputs["policy"])
        for p in plan.every("aws:sns/topicPolicy:TopicPolicy")
        if p.inputs["arn"] == topic.outputs["arn"]
    )
    rule_arn = plan.named(
        f"{name}-mgn-replication-stalled", "aws:cloudwatch/eventRule:EventRule"
    ).outputs["arn"]
    account = rule_arn.split(":")[4]
    request = Request(
        "sns:Publish",
        topic.outputs["arn"],
        principal={"Service": "events.amazonaws.com"},
        context={
            "aws:SourceArn": rule_arn,
            "aws:SourceAccount": account,
            "aws:SecureTransport": "true",
        },
    )
    assert allows(policy, request)


def test_each_wave_lands_in_its_apps_subnets_and_security_group(prod_plan: Plan) -> None:
    waves = prod_plan.stack_outputs["migration"]["waves"]
    assert set(waves) == {"wave1-loyalty", "wave2-mmf"}
    apps = prod_plan.stack_outputs["apps"]
    app_subnets = {
        s.outputs["id"]
        for s in prod_plan.every("aws:ec2/subnet:Subnet")
        if s.name.startswith("prod-app-")
    }
    for wave in waves.values():
        assert wave["securityGroupId"] == apps[wave["app"]]["instanceSecurityGroupId"]
        assert set(wave["subnetIds"]) == app_subnets


# --- removable: only migration resources go ---------------------------------------------------


@pytest.mark.parametrize("name", STACKS)
def test_removing_the_migration_deletes_only_what_it_built(
    name: str, stack_plan: StackPlanner
) -> None:
    with_migration = stack_plan(name)
    without = stack_plan(name, hybrid_without_migration(name))
    before = {r.urn: r for r in with_migration}
    after = {r.urn: r for r in without}
    assert set(after) <= set(before), "removing the migration adds resources"
    removed = [before[u] for u in set(before) - set(after)]
    assert removed and all(r.name.startswith(f"{name}-mgn-") for r in removed), sorted(
        r.name for r in removed if not r.name.startswith(f"{name}-mgn-")
    )
    assert {r.urn for r in migration_resources(with_migration)} == {r.urn for r in removed}
    for urn, resource in after.items():
        kept = before[urn]
        assert resource.inputs == kept.inputs, f"{resource.name} changes when migration goes"
        assert (resource.parent, resource.protect) == (kept.parent, kept.protect)


# --- refused before anything is registered ----------------------------------------------------


def refused(stack: str, migration: dict[str, Any]) -> str:
    hybrid = dict(stack_config(stack)[f"{NS}:hybrid"])
    hybrid["migration"] = {**hybrid["migration"], **migration}
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(PlanError) as error:
        plan_stack(stack, ROOT, config_overrides={f"{NS}:hybrid": hybrid}, monitor=monitor)
    assert monitor.registered == [], "a refused stack registered resources"
    return str(error.value)


@pytest.mark.parametrize(
    ("migration", "key", "text"),
    [
        (
            {"waves": {"wave9": {"app": "billing", "sourceServers": ["hcm-bill01"]}}},
            "hybrid.migration.waves.wave9.app",
            "there is no app 'billing' (apps: loyalty, mmf)",
        ),
        ({"sourceNetworks": ["hcm-dc-ap"]}, "hybrid.migration.sourceNetworks", "not in"),
        ({"stagingAz": "d"}, "hybrid.migration.stagingAz", "not an AZ of the network"),
        (
            {
                "waves": {
                    "a": {"app": "mmf", "sourceServers": ["srv1"]},
                    "b": {"app": "loyalty", "sourceServers": ["srv1"]},
                }
            },
            "hybrid.migration.waves.b.sourceServers",
            "already in wave 'a'",
        ),
        (
            {"replication": {"instanceType": "t3.smal"}},
            "hybrid.migration.replication.instanceType",
            "t3.small",
        ),
        (
            {"replication": {"bandwidthThrottlingMbps": 20000}},
            "hybrid.migration.replication.bandwidthThrottlingMbps",
            "10000",
        ),
        (
            {"agentInstallers": ["migration-engineer"]},
            "hybrid.migration.agentInstallers",
            "not an IAM role ARN",
        ),
        (
            {"waves": {"w": {"app": "mmf", "sourceServers": ["bad host"]}}},
            "hybrid.migration.waves.w.sourceServers",
            "not a host name",
        ),
    ],
    ids=[
        "unknown app",
        "unknown source",
        "az",
        "server twice",
        "instance type",
        "bandwidth",
        "installer",
        "host",
    ],
)
def test_a_bad_migration_block_is_refused_naming_the_key(
    migration: dict[str, Any], key: str, text: str
) -> None:
    message = refused("prod", migration)
    lines = [line for line in message.splitlines() if f"{NS}:{key}" in line]
    assert lines, f"{key} not named in:\n{message}"
    assert any(text in line for line in lines), lines


def test_an_extra_tier_in_the_staging_slot_is_refused_naming_the_migration() -> None:
    network = dict(stack_config("prod")[f"{NS}:network"])
    network["extraTiers"] = {"partners": {"slot": net.STAGING_SLOT}}
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(PlanError) as error:
        plan_stack("prod", ROOT, config_overrides={f"{NS}:network": network}, monitor=monitor)
    assert monitor.registered == []
    assert f"{NS}:hybrid.migration:" in str(error.value) and "partners" in str(error.value)


def test_the_vpcs_own_ec2_endpoint_serves_staging_when_it_has_one(stack_plan: StackPlanner) -> None:
    """Two interface endpoints with private DNS for one service cannot share a VPC: with
    `ec2` in network.interfaceEndpoints the staging area builds none and its servers reach
    the VPC's (same perimeter policy; its group admits HTTPS from the VPC)."""
    network = dict(stack_config("prod")[f"{NS}:network"])
    network["interfaceEndpoints"] = [
        "ssm", "ssmmessages", "ec2messages", "kms", "secretsmanager", "logs", "monitoring", "ec2"
    ]  # fmt: skip
    plan = stack_plan("prod", {f"{NS}:network": network})
    assert "prod-mgn-ec2" not in {r.name for r in plan}
    vpc_group = plan.named("prod-endpoints", "aws:ec2/securityGroup:SecurityGroup")
    egress = _sg_rules(plan, "prod-mgn-replication", "Egress")
    assert vpc_group.outputs["id"] in {r.inputs.get("referencedSecurityGroupId") for r in egress}


# --- the same rules from Python ---------------------------------------------------------------


def _settings(**migration: Any) -> HybridConnectivitySettings:
    return HybridConnectivitySettings(
        on_prem_networks={"dc-apps": OnPremNetwork(cidr="172.16.0.0/20", nacl_slot=1)},
        customer_gateways={
            "fw1": CustomerGatewaySettings(
                public_ip="1.52.10.10",
                bgp_asn=65010,
                tunnel1_inside_cidr="169.254.10.0/30",
                tunnel2_inside_cidr="169.254.10.4/30",
            )
        },
        migration=MigrationSettings(**migration),
    )


def test_a_migration_needs_declared_ranges_a_private_link_and_installers() -> None:
    settings = HybridConnectivitySettings(migration=MigrationSettings())
    found = check_migration(settings, context=StackContext(), network=None, apps=[])
    on_migration = [p.message for p in found if p.key == ("settings", "migration")]
    assert any("declared on-prem ranges" in m for m in on_migration), on_migration
    assert any("VPN or Direct Connect" in m for m in on_migration), on_migration
    (installers_problem,) = [
        p.message for p in found if p.key == ("settings", "migration", "agent_installers")
    ]
    assert "administrators" in installers_problem
    installers = ["arn:aws:iam::111122223333:role/migration-engineer"]
    assert (
        check_migration(
            _settings(agent_installers=installers), context=StackContext(), network=None, apps=[]
        )
        == []
    )


def test_from_python_a_wave_into_an_unknown_app_is_refused_naming_the_python_field() -> None:
    settings = _settings(
        agent_installers=["arn:aws:iam::111122223333:role/migration-engineer"],
        waves={"w1": WaveSettings(app="billing", source_servers=["dc-bill01"])},
    )
    network = plan_network(
        SecureVpcSettings(vpc_cidr="10.30.0.0/16"),
        on_prem=settings.on_prem_networks,
        data_services=(),
        dms_source_engines=(),
    )

    def program() -> None:
        HybridConnectivity(
            "dc",
            settings,
            context=StackContext(),
            network=stub_network(network),
            alarm_topic_arn="arn:aws:sns:ap-southeast-1:111122223333:alarms",
            apps={"orders": stub_app("orders", ())},
        )

    refused_with = refusal(program)
    assert "settings.migration.waves['w1'].app: there is no app 'billing' (apps: orders)" in (
        refused_with.message
    )
    assert refused_with.registered == []
