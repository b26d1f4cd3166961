"""SecureVpc: properties a network reviewer or a PCI auditor checks, on offline plans."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import pytest
from fidelity import Request, allows, deployed_mocks
from pydantic import ValidationError

from components import (
    ComponentConfigError,
    NetworkRef,
    OnPremNetwork,
    SecureVpc,
    SecureVpcSettings,
    StackContext,
)
from components.core.settings import STANDARD_TAG_KEYS
from components.secure_vpc import plan_network
from components.secure_vpc.checks import check_plan
from components.testing import Plan, PlatformMocks, RecordingMonitor, Registered, run_offline

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
RT_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NACL_ASSOC = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
FIREWALL = "aws:networkfirewall/firewall:Firewall"
ANY = "0.0.0.0/0"

ON_PREM = {
    "hcm-dc-apps": OnPremNetwork(cidr="172.16.0.0/20", nacl_slot=1),
    "hcm-dc-db": OnPremNetwork(cidr="172.16.32.0/22", nacl_slot=2),
}


def plan_vpc(
    environment: str = "prod",
    *,
    name: str = "net",
    on_prem: Any = None,
    data_services: Iterable[str] = (),
    dms_source_engines: Iterable[str] = (),
    dms_target_services: Iterable[str] = (),
    organization_id: str | None = None,
    monitor: RecordingMonitor | None = None,
    **settings: Any,
) -> Plan:
    def program() -> None:
        SecureVpc(
            name,
            SecureVpcSettings(**settings),
            context=StackContext(
                environment=environment,  # type: ignore[arg-type]
                organization_id=organization_id,
            ),
            on_prem=on_prem,
            data_services=data_services,
            dms_source_engines=dms_source_engines,
            dms_target_services=dms_target_services,
        )

    return run_offline(program, monitor=monitor)


#: The egress of a VPC with NAT gateways: through the firewall, to these domains only.
EGRESS = {"allowed_domains": ["api.partner.example.com", ".acquirer.example.net"]}


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan_vpc(**PROD_VPC)


def tier_of(resource: Registered) -> str:
    return str(resource.inputs["tags"]["tier"])


def by_id(plan: Plan, resource_id: Any) -> Registered:
    found = plan.by_id(resource_id)
    assert found is not None, f"no resource has id {resource_id}"
    return found


def route_tables_of_tier(plan: Plan, tier: str) -> set[Any]:
    return {
        assoc.inputs["routeTableId"]
        for assoc in plan.of_type(RT_ASSOC)
        if tier_of(by_id(plan, assoc.inputs["subnetId"])) == tier
    }


def test_three_tiers_and_the_firewall_tier_in_every_az(prod: Plan) -> None:
    subnets = {(tier_of(s), s.inputs["availabilityZone"]) for s in prod.of_type(SUBNET)}
    tiers = ("public", "app", "data", "firewall")
    assert subnets == {(tier, f"ap-southeast-1{az}") for tier in tiers for az in "abc"}
    assert {(tier_of(s), s.inputs["availabilityZone"]) for s in plan_vpc().of_type(SUBNET)} == {
        (tier, f"ap-southeast-1{az}") for tier in tiers[:3] for az in "abc"
    }, "no firewall tier without NAT"


def test_no_data_subnet_routes_to_a_nat_or_internet_gateway(prod: Plan) -> None:
    data_tables = route_tables_of_tier(prod, "data")
    assert data_tables
    for route in prod.every(ROUTE):
        if route.inputs["routeTableId"] in data_tables:
            pytest.fail(f"data route table has route {route.name}: {route.inputs}")


def endpoint_subnet(plan: Plan, endpoint_id: str) -> str:
    """The name of the firewall subnet holding firewall endpoint ``endpoint_id``."""
    (firewall,) = plan.every(FIREWALL)
    for state in firewall.outputs["firewallStatuses"][0]["syncStates"]:
        for attachment in state["attachments"]:
            if attachment["endpointId"] == endpoint_id:
                return by_id(plan, attachment["subnetId"]).name
    raise AssertionError(f"{endpoint_id} is no endpoint of the firewall")


def test_app_subnets_egress_through_their_own_azs_firewall_endpoint_then_nat(prod: Plan) -> None:
    """app -> firewall endpoint (same AZ) -> NAT (same AZ) -> IGW: the distributed model
    with a NAT gateway, one endpoint per AZ."""
    defaults = [
        r
        for r in prod.every(ROUTE)
        if r.inputs["destinationCidrBlock"] == ANY
        and tier_of(by_id(prod, r.inputs["routeTableId"])) == "app"
    ]
    assert len(defaults) == 3
    for route in defaults:
        table = by_id(prod, route.inputs["routeTableId"])
        assert "natGatewayId" not in route.inputs, f"{table.name} bypasses the firewall"
        assert (
            endpoint_subnet(prod, route.inputs["vpcEndpointId"]) == f"net-firewall-{table.name[-1]}"
        )
        onward = prod.named(f"net-firewall-{table.name[-1]}-default", ROUTE).inputs
        assert by_id(prod, onward["natGatewayId"]).name == f"net-nat-{table.name[-1]}"


def test_only_the_public_tier_routes_to_the_internet_gateway(prod: Plan) -> None:
    public_tables = route_tables_of_tier(prod, "public")
    igw_routes = [r for r in prod.of_type(ROUTE) if r.inputs.get("gatewayId")]
    assert igw_routes
    assert all(r.inputs["routeTableId"] in public_tables for r in igw_routes)


def test_no_subnet_assigns_public_ips(prod: Plan) -> None:
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in prod.every(SUBNET))


def test_every_subnet_is_associated_with_its_tiers_nacl(prod: Plan) -> None:
    associations: dict[str, list[str]] = {}
    for assoc in prod.every(NACL_ASSOC):
        subnet = by_id(prod, assoc.inputs["subnetId"])
        nacl = by_id(prod, assoc.inputs["networkAclId"])
        assert tier_of(nacl) == tier_of(subnet), f"{subnet.name} is guarded by {nacl.name}"
        associations.setdefault(subnet.name, []).append(nacl.name)
    assert sorted(associations) == sorted(s.name for s in prod.of_type(SUBNET))
    assert all(len(v) == 1 for v in associations.values())


def test_no_nacl_rule_allows_all_protocols_from_anywhere(prod: Plan) -> None:
    for rule in prod.every(NACL_RULE):
        assert not (rule.inputs["protocol"] == "-1" and rule.inputs["cidrBlock"] == "0.0.0.0/0"), (
            rule.name
        )


def test_data_tier_admits_only_the_ports_of_the_stores_it_holds(prod: Plan) -> None:
    """From the app tier, each store's port; between the data tier's own subnets only the
    ports DMS writes to (PostgreSQL, DocumentDB); never every protocol."""
    data_nacl = prod.named("net-data", NACL).outputs["id"]
    app_block, data_block = "10.10.32.0/19", "10.10.64.0/19"
    store_ports = {5432, 27017, 6379, 5671, 443}
    seen: dict[str, set[int]] = {app_block: set(), data_block: set()}
    rules = [r for r in prod.every(NACL_RULE) if r.inputs["networkAclId"] == data_nacl]
    assert rules
    for rule in rules:
        i = rule.inputs
        assert i["protocol"] == "tcp", f"{rule.name}: {i['protocol']} (every protocol)"
        if i["egress"] or i["toPort"] in (3388, 65535):  # outbound, or stateless returns
            continue
        assert i["cidrBlock"] in seen, rule.name
        seen[i["cidrBlock"]].add(i["fromPort"])
    assert seen[app_block] == store_ports
    assert seen[data_block] == {5432, 27017}  # DMS -> RDS PostgreSQL and DocumentDB


def test_nacl_rule_numbers_are_unique_per_acl_and_direction(prod: Plan) -> None:
    seen: set[tuple[Any, Any, Any]] = set()
    for rule in prod.every(NACL_RULE):
        key = (rule.inputs["networkAclId"], rule.inputs["egress"], rule.inputs["ruleNumber"])
        assert key not in seen, f"duplicate rule number {key}"
        seen.add(key)


def test_on_prem_ranges_reach_the_app_tier_only_when_configured(prod: Plan) -> None:
    cidrs = {r.inputs["cidrBlock"] for r in prod.of_type(NACL_RULE)}
    assert {"172.16.0.0/20", "172.16.32.0/22"} <= cidrs
    without = plan_vpc(on_prem=ON_PREM)
    app_nacl = without.named("net-app", NACL).outputs["id"]
    assert not [
        r
        for r in without.of_type(NACL_RULE)
        if r.inputs["networkAclId"] == app_nacl and r.inputs["cidrBlock"].startswith("172.16.")
    ]


def test_one_per_az_has_a_nat_per_az_single_has_one_and_the_default_none() -> None:
    prod = plan_vpc(nat_gateways="OnePerAz", egress_firewall=EGRESS)
    assert sorted(n.name for n in prod.of_type(NAT)) == ["net-nat-a", "net-nat-b", "net-nat-c"]
    single = plan_vpc(
        "nonprod", availability_zones=["a", "b"], nat_gateways="Single", egress_firewall=EGRESS
    )
    assert [n.name for n in single.of_type(NAT)] == ["net-nat-a"]
    for none in (plan_vpc(), plan_vpc("nonprod")):  # the default: no internet egress
        assert none.of_type(NAT) == []
        assert none.of_type(FIREWALL) == []
        assert not [
            r
            for r in none.of_type(ROUTE)
            if r.inputs["destinationCidrBlock"] == ANY and not r.inputs.get("gatewayId")
        ]


def test_flow_logs_capture_all_traffic_to_an_encrypted_log_group(prod: Plan) -> None:
    (flow,) = prod.of_type("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow.inputs["vpcId"] == prod.named("net", "aws:ec2/vpc:Vpc").outputs["id"]
    group = prod.named("net-flow-logs", "aws:cloudwatch/logGroup:LogGroup")
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["retentionInDays"] == 365
    key = prod.named("net-flow-logs", "aws:kms/key:Key")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert "logs.ap-southeast-1.amazonaws.com" in key.inputs["policy"]


def test_flow_log_role_can_only_write_to_its_log_group(prod: Plan) -> None:
    policy = prod.named("net-flow-logs", "aws:iam/rolePolicy:RolePolicy").inputs["policy"]
    group_arn = prod.named("net-flow-logs", "aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    other = group_arn.rsplit(":", 1)[0] + ":/aws/lambda/other"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"):
        assert allows(policy, Request(action, resource=f"{group_arn}:log-stream:eni-1-all"))
        assert not allows(policy, Request(action, resource=f"{other}:log-stream:x")), action
    for action in ("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:GetLogEvents"):
        assert not allows(policy, Request(action, resource=f"{group_arn}:*")), action
    # the one action on "*" lists log groups (flow logs require it), it reads no log data
    assert allows(policy, Request("logs:DescribeLogGroups", resource="*"))


def test_default_security_group_and_nacl_allow_nothing(prod: Plan) -> None:
    sg = prod.named("net-default-sg")
    assert sg.inputs.get("ingress", []) == [] and sg.inputs.get("egress", []) == []
    nacl = prod.named("net-default-nacl")
    assert nacl.inputs.get("ingress", []) == [] and nacl.inputs.get("egress", []) == []


def test_gateway_endpoints_serve_every_private_route_table_only(prod: Plan) -> None:
    private = route_tables_of_tier(prod, "app") | route_tables_of_tier(prod, "data")
    for service in ("s3", "dynamodb"):
        endpoint = prod.named(f"net-{service}", "aws:ec2/vpcEndpoint:VpcEndpoint")
        attached = {
            a.inputs["routeTableId"]
            for a in prod.of_type(
                "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
            )
            if a.inputs["vpcEndpointId"] == endpoint.outputs["id"]
        }
        assert attached == private


def test_interface_endpoints_use_private_dns_and_https_from_the_vpc_only(prod: Plan) -> None:
    interface = [
        e
        for e in prod.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface"
    ]
    assert {e.inputs["serviceName"].rsplit(".", 1)[-1] for e in interface} == {
        "ssm",
        "ssmmessages",
        "ec2messages",
        "kms",
        "secretsmanager",
        "logs",
        "monitoring",
    }
    assert all(e.inputs["privateDnsEnabled"] for e in interface)
    (rule,) = prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule.inputs["cidrIpv4"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "10.10.0.0/16",
        443,
        443,
    )


def test_subnet_groups_use_the_data_subnets(prod: Plan) -> None:
    data_ids = sorted(s.outputs["id"] for s in prod.of_type(SUBNET) if tier_of(s) == "data")
    for type_ in (
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:docdb/subnetGroup:SubnetGroup",
        "aws:elasticache/subnetGroup:SubnetGroup",
    ):
        (group,) = prod.of_type(type_)
        assert sorted(group.inputs["subnetIds"]) == data_ids


def test_audit_log_key_and_group_are_protected_in_prod_only(prod: Plan) -> None:
    for plan, expected in (
        (prod, True),
        (plan_vpc("nonprod", availability_zones=["a", "b"]), False),
    ):
        assert plan.named("net-flow-logs", "aws:kms/key:Key").protect is expected
        assert plan.named("net-flow-logs", "aws:cloudwatch/logGroup:LogGroup").protect is expected


def test_every_taggable_resource_has_the_standard_tags(prod: Plan) -> None:
    untaggable = {
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/networkAclRule:NetworkAclRule",
        "aws:ec2/networkAclAssociation:NetworkAclAssociation",
        "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:kms/alias:Alias",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "aws:networkfirewall/loggingConfiguration:LoggingConfiguration",
    }
    for r in prod:
        if not r.custom or r.type in untaggable:
            continue
        tags = r.inputs.get("tags") or {}
        missing = [k for k in STANDARD_TAG_KEYS if k not in tags]
        assert not missing, f"{r.type} {r.name} lacks tags {missing}"


def test_adding_an_az_keeps_every_existing_resource_and_cidr() -> None:
    two = plan_vpc(
        "nonprod", availability_zones=["a", "b"], nat_gateways="OnePerAz", egress_firewall=EGRESS
    )
    three = plan_vpc(
        "nonprod",
        availability_zones=["a", "b", "c"],
        nat_gateways="OnePerAz",
        egress_firewall=EGRESS,
    )
    after = {(r.type, r.name): r for r in three}
    for r in two:
        assert (r.type, r.name) in after, f"{r.type} {r.name} would be deleted"
        assert after[(r.type, r.name)].parent == r.parent
    for subnet in two.every(SUBNET):
        grown = after[(SUBNET, subnet.name)]
        assert grown.inputs["cidrBlock"] == subnet.inputs["cidrBlock"]
        assert grown.inputs["availabilityZone"] == subnet.inputs["availabilityZone"]
    for rule in two.every(NACL_RULE):
        grown = after[(NACL_RULE, rule.name)]
        for key in ("ruleNumber", "cidrBlock", "fromPort", "toPort", "protocol", "egress"):
            assert grown.inputs[key] == rule.inputs[key], (rule.name, key)
    assert len(three.of_type(SUBNET)) == 12  # public, app, data, firewall


def test_adding_a_data_store_or_on_prem_range_renumbers_no_nacl_rule() -> None:
    before = plan_vpc(
        on_prem={"hcm-dc-db": ON_PREM["hcm-dc-db"]},
        data_services=["postgres"],
        dms_source_engines=["postgres"],
    )
    after = plan_vpc(
        on_prem=ON_PREM,
        data_services=["postgres", "redis", "mysql"],
        dms_source_engines=["postgres", "oracle"],
    )
    grown = {r.name: r for r in after.of_type(NACL_RULE)}
    for rule in before.every(NACL_RULE):
        assert grown[rule.name].inputs["ruleNumber"] == rule.inputs["ruleNumber"], rule.name
    assert len(grown) > len(before.of_type(NACL_RULE))


# --- NACL entries whose content changes ------------------------------------------------------

PROD_VPC: dict[str, Any] = {
    "on_prem": ON_PREM,
    "on_prem_access": ["app"],
    "data_services": ["postgres", "documentdb", "redis", "rabbitmq", "opensearch"],
    "dms_source_engines": ["postgres", "mongodb"],
    "dms_target_services": ["postgres", "documentdb"],
    "nat_gateways": "OnePerAz",
    "egress_firewall": EGRESS,
}
CONTENT = ("protocol", "cidrBlock", "fromPort", "toPort", "ruleAction")


def redeploy(before: Plan, **settings: Any) -> Plan:
    """``settings`` planned against the NACLs ``before`` deployed (as `pulumi up` reads them)."""
    return plan_vpc(monitor=RecordingMonitor(deployed_mocks(before)), **settings)


def numbers_held(plan: Plan) -> dict[str, set[tuple[Any, Any]]]:
    """NACL name -> (egress, rule number) of every entry it holds."""
    by_id = {acl.outputs["id"]: acl.name for acl in plan.every(NACL)}
    held: dict[str, set[tuple[Any, Any]]] = {}
    for rule in plan.every(NACL_RULE):
        i = rule.inputs
        held.setdefault(by_id[i["networkAclId"]], set()).add((i["egress"], i["ruleNumber"]))
    return held


def test_a_redeployed_vpc_keeps_every_nacl_entry_as_it_is(prod: Plan) -> None:
    again = {r.name: r.inputs for r in redeploy(prod, **PROD_VPC).every(NACL_RULE)}
    for rule in prod.every(NACL_RULE):
        assert again[rule.name] == rule.inputs, rule.name


def test_widening_the_app_ports_gives_exactly_their_entries_a_number_not_in_use(
    prod: Plan,
) -> None:
    """A NACL entry is replaced on any change and AWS refuses a second entry under a number
    in use: the new entry (created before the old one goes) must take a free number."""
    wider = redeploy(prod, **PROD_VPC, app_ports="8080-8089")
    held = numbers_held(prod)
    by_id = {acl.outputs["id"]: acl.name for acl in prod.every(NACL)}
    old = {r.name: r.inputs for r in prod.every(NACL_RULE)}
    moved = []
    for rule in wider.every(NACL_RULE):
        before, after = old[rule.name], rule.inputs
        if before["fromPort"] == 8080 and before["toPort"] == 8080:
            assert (after["fromPort"], after["toPort"]) == (8080, 8089), rule.name
            key = (after["egress"], after["ruleNumber"])
            assert key not in held[by_id[after["networkAclId"]]], f"{rule.name} collides"
            assert after["ruleNumber"] == before["ruleNumber"] + 10_000, rule.name
            moved.append(rule.name)
        else:
            assert after == before, f"{rule.name} changed though its ports did not"
    assert sorted(moved) == [
        "net-app-in-app-app",
        "net-app-in-app-onprem-hcm-dc-apps",
        "net-app-in-app-onprem-hcm-dc-db",
        "net-app-in-app-public",
        "net-firewall-in-app-public",  # load balancer -> targets through the endpoint
        "net-firewall-out-app-app",
        "net-public-out-app-app",
    ]
    # and the next change takes the table number back, again one the NACL does not hold
    narrower = {r.name: r.inputs for r in redeploy(wider, **PROD_VPC).every(NACL_RULE)}
    for name in moved:
        assert narrower[name] == old[name], name


def test_an_extra_tiers_ingress_ports_move_to_a_free_number_too() -> None:
    tiers = {"integration": {"slot": 3, "ingressPorts": "8443"}}
    before = plan_vpc(extra_tiers=tiers)
    wider = redeploy(before, extra_tiers={"integration": {"slot": 3, "ingressPorts": "8443-8444"}})
    old = before.named("net-integration-in-tier-vpc", NACL_RULE).inputs
    new = wider.named("net-integration-in-tier-vpc", NACL_RULE).inputs
    assert (new["fromPort"], new["toPort"]) == (8443, 8444)
    assert new["ruleNumber"] == old["ruleNumber"] + 10_000


def test_a_nacl_whose_two_numbers_for_an_entry_are_taken_fails_the_deploy(prod: Plan) -> None:
    """Someone added entries by hand under both numbers of a changed entry: the deploy stops,
    naming the entry and both numbers, and no old entry is deleted (Pulumi deletes replaced
    resources only at the end of a successful update)."""
    wider = redeploy(prod, **PROD_VPC, app_ports="8080-8089")
    both = plan_vpc(**PROD_VPC, app_ports="9000")  # holds the table numbers (other ports)
    # ... and, by hand, the alternates of the app-port entries too (what `wider` holds)
    merged = Plan([*both.resources, *[r for r in wider.resources if r.type == NACL_RULE]], {})
    # whichever app-port entry resolves first stops the deploy
    taken = r"NACL entry \S+-app-\S+: rule numbers (\d+) and 1\d{4} both hold other entries"
    with pytest.raises(Exception, match=taken):
        redeploy(merged, **PROD_VPC, app_ports="8080-8081")


def test_no_two_entries_of_one_nacl_direction_may_share_a_number() -> None:
    """A plan-time check: AWS refuses a second entry under a number in use."""
    settings = SecureVpcSettings()
    plan = plan_network(settings, on_prem={}, data_services=["postgres"], dms_source_engines=[])
    first = plan.nacl_rules[0]
    clash = dataclasses.replace(first, service="http", from_port=80, to_port=80)
    problems = check_plan(settings, dataclasses.replace(plan, nacl_rules=(*plan.nacl_rules, clash)))
    assert [p.message for p in problems] == [
        f"two {first.tier} NACL inbound entries would share rule number {first.rule_number}: "
        f"{first.key}, {clash.key}; give each port and peer its own slot"
    ]


def test_the_quota_leaves_room_for_replacing_the_app_port_entries() -> None:
    """While a changed entry is replaced both versions exist, so a direction that carries
    app-port entries needs that many rules spare under the quota."""
    many = {f"dc-{i}": OnPremNetwork(cidr=f"172.20.{i}.0/24", nacl_slot=i) for i in range(1, 7)}
    message = problems_of(on_prem=many, on_prem_access=["app"])
    assert "the app tier needs 18 inbound NACL rules, plus 8 while a change of" in message


def test_extra_tier_gets_its_own_subnets_nacl_and_route_tables() -> None:
    plan = plan_vpc(
        extra_tiers={"integration": {"slot": 3, "natEgress": True, "ingressPorts": "8443"}},
        nat_gateways="OnePerAz",
        egress_firewall=EGRESS,
    )
    subnets = {s.name: s.inputs["cidrBlock"] for s in plan.of_type(SUBNET)}
    assert subnets["net-integration-a"] == "10.10.96.0/22"
    assert plan.named("net-integration", NACL)
    # its egress goes through the firewall endpoint of its AZ, and comes back through it
    endpoint = plan.named("net-integration-b-default", ROUTE).inputs["vpcEndpointId"]
    assert endpoint == plan.named("net-app-b-default", ROUTE).inputs["vpcEndpointId"]
    back = plan.named("net-public-b-to-integration-b", ROUTE).inputs
    assert (back["destinationCidrBlock"], back["vpcEndpointId"]) == ("10.10.100.0/22", endpoint)


def problems_of(environment: str = "prod", **kwargs: Any) -> str:
    """The ComponentConfigError message of a SecureVpc; asserts nothing was registered."""
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(ComponentConfigError) as error:
        plan_vpc(environment, monitor=monitor, **kwargs)
    assert monitor.registered == []
    return str(error.value)


def test_rule_quota_exceeded_fails_before_anything_is_registered() -> None:
    many = {f"dc-{i}": OnPremNetwork(cidr=f"172.20.{i}.0/24", nacl_slot=i) for i in range(1, 9)}
    message = problems_of(
        on_prem=many,
        on_prem_access=["data"],
        data_services=["postgres", "redis", "documentdb"],
    )
    assert "settings.nacl_rule_quota: the data tier needs" in message


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"vpc_cidr": "10.0.0.300/16"}, "vpc_cidr"),
        ({"vpc_cidr": "10.0.0.0/24"}, "vpc_cidr"),
        ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr"),
        ({"vpc_cidr": "100.64.0.0/16"}, "vpc_cidr"),
        ({"availability_zones": ["a", "a"]}, "availability_zones"),
        ({"availability_zones": ["z"]}, "availability_zones"),
        ({"availability_zones": []}, "availability_zones"),
        ({"nat_gateways": "Two"}, "nat_gateways"),
        ({"app_ports": "20-25"}, "app_ports"),
        ({"app_ports": "8080-80"}, "app_ports"),
        ({"flow_log_retention_days": 100}, "flow_log_retention_days"),
        ({"interface_endpoints": ["ssm", "ssm"]}, "interface_endpoints"),
        ({"extra_tiers": {"data": {"slot": 3}}}, "extra_tiers"),
        ({"extra_tiers": {"one": {"slot": 2}}}, "extra_tiers.one.slot"),
        ({"nacl_rule_quota": 41}, "nacl_rule_quota"),
        ({"vpc_cidr_block": "10.0.0.0/16"}, "vpc_cidr_block"),
        ({"app_ports": "3000-4000"}, "app_ports"),  # includes RDP (3389)
        ({"extra_tiers": {"firewall": {"slot": 3}}}, "extra_tiers"),
        (
            {"egress_firewall": {"allowed_domains": ["*.example.com"]}},
            "egress_firewall.allowed_domains",
        ),
        ({"egress_firewall": {"allowed_domains": ["10.1.2.3"]}}, "egress_firewall.allowed_domains"),
        (
            {"egress_firewall": {"allowed_domains": ["a.example", "a.example"]}},
            "egress_firewall.allowed_domains",
        ),
        ({"egress_firewall": {"log_retention_days": 100}}, "egress_firewall.log_retention_days"),
        ({"egress_firewall": {"allow": ["a.example"]}}, "egress_firewall.allow"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_python_argument(
    settings: dict[str, Any], key: str
) -> None:
    with pytest.raises(ValidationError) as error:
        SecureVpcSettings(**settings)
    lines = str(error.value).splitlines()
    assert lines[1] == key, lines


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"extra_tiers": {"one": {"slot": 3}, "two": {"slot": 3}}},
            "settings.extra_tiers['two'].slot: slot 3 is already used by one",
        ),
        (
            {"extra_tiers": {"one": {"slot": 3, "nat_egress": True}}, "nat_gateways": "None"},
            "settings.extra_tiers['one'].nat_egress: needs a NAT gateway; set `nat_gateways`",
        ),
        (
            {"on_prem": {"dc": OnPremNetwork(cidr="10.10.8.0/24", nacl_slot=1)}},
            "settings.vpc_cidr: 10.10.0.0/16 overlaps the on-prem range dc (10.10.8.0/24)",
        ),
        (
            {
                "on_prem": {
                    "a": OnPremNetwork(cidr="172.16.0.0/20", nacl_slot=1),
                    "b": OnPremNetwork(cidr="172.16.8.0/24", nacl_slot=1),
                }
            },
            "on_prem['b']: naclSlot 1 is already used by a",
        ),
        ({"data_services": ["memcached"]}, "data_services: unknown data service(s) ['memcached']"),
        ({"dms_source_engines": ["db2"]}, "dms_source_engines: unknown engine(s) ['db2']"),
        ({"on_prem": ["172.16.0.0/20"]}, "on_prem: expected a mapping of range name"),
        ({"availability_zones": ["a"]}, "settings.availability_zones: prod spans at least 2 AZs"),
        ({"nat_gateways": "Single"}, "settings.nat_gateways: prod uses OnePerAz"),
        ({"flow_log_retention_days": 90}, "settings.flow_log_retention_days: prod keeps flow"),
        (
            {"nat_gateways": "OnePerAz"},
            "settings.egress_firewall.allowed_domains: is empty, so the firewall would drop",
        ),
        (
            {"nat_gateways": "OnePerAz", "egress_firewall": {"enabled": False}},
            "settings.egress_firewall.enabled: prod reaches the internet only through the "
            "egress firewall's domain allow-list",
        ),
        (
            {"egress_firewall": {"log_retention_days": 90}},
            "settings.egress_firewall.log_retention_days: prod keeps the egress firewall's logs",
        ),
        (
            {
                "nat_gateways": "OnePerAz",
                "egress_firewall": EGRESS,
                "extra_tiers": {"partners": {"slot": 7}},
            },
            "settings.extra_tiers['partners'].slot: slot 7 holds the egress firewall's subnets",
        ),
        (
            {"data_services": ["redis"], "dms_target_services": ["postgres"]},
            "dms_target_services: DMS target service(s) ['postgres'] are not data services",
        ),
    ],
)
def test_a_broken_rule_fails_naming_the_python_argument_and_registers_nothing(
    kwargs: dict[str, Any], expected: str
) -> None:
    message = problems_of(**kwargs)
    assert expected in message
    assert message.startswith("SecureVpc('net'): invalid configuration")


def test_every_problem_is_reported_at_once() -> None:
    message = problems_of(availability_zones=["a"], flow_log_retention_days=90, name="Net")
    assert "availability_zones" in message and "flow_log_retention_days" in message
    assert "name: 'Net' must be" in message


def test_a_bad_name_is_refused() -> None:
    assert "name: 'Net_1' must be 1-32 lowercase" in problems_of(name="Net_1")


def test_nonprod_context_applies_the_nonprod_defaults_where_the_caller_is_silent() -> None:
    plan = plan_vpc("nonprod")
    assert {s.name[-1] for s in plan.of_type(SUBNET)} == {"a", "b"}
    assert plan.of_type(NAT) == []
    group = plan.named("net-flow-logs", "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 90
    # what the caller sets wins over the nonprod default
    explicit = plan_vpc(
        "nonprod",
        availability_zones=["a", "b", "c"],
        nat_gateways="OnePerAz",
        egress_firewall=EGRESS,
    )
    assert len(explicit.of_type(NAT)) == 3
    for kind in ("alert", "flow"):  # the firewall's logs: 90 days in nonprod
        logs = explicit.named(f"net-firewall-{kind}", "aws:cloudwatch/logGroup:LogGroup")
        assert logs.inputs["retentionInDays"] == 90


def test_a_nonprod_vpc_may_break_the_prod_rules() -> None:
    plan = plan_vpc("nonprod", availability_zones=["a"], flow_log_retention_days=7)
    assert len(plan.of_type(SUBNET)) == 3


def test_the_reference_carries_the_network_facts_consumers_need(prod: Plan) -> None:
    refs: list[NetworkRef] = []

    def program() -> None:
        vpc = SecureVpc(
            "net",
            SecureVpcSettings(app_ports="8080-8089", on_prem_access=["app"]),
            context=StackContext(),
            on_prem=ON_PREM,
            data_services=["redis", "postgres"],
            dms_source_engines=["postgres"],
        )
        refs.append(vpc.ref)

    run_offline(program)
    (ref,) = refs
    assert ref.plan.app_ports == (8080, 8089)
    assert ref.plan.data_services == ("postgres", "redis")
    assert ref.plan.dms_source_engines == ("postgres",)
    assert ref.plan.on_prem_admitted("app") == {
        "hcm-dc-apps": "172.16.0.0/20",
        "hcm-dc-db": "172.16.32.0/22",
    }
    assert ref.plan.on_prem_admitted("data") == {}
    assert ref.tier_cidrs == {
        "public": "10.10.0.0/19",
        "app": "10.10.32.0/19",
        "data": "10.10.64.0/19",
    }
    assert ref.availability_zones == ("a", "b", "c")


def test_subnet_cidrs_follow_the_documented_plan_and_never_overlap(prod: Plan) -> None:
    import ipaddress

    cidrs = {s.name: s.inputs["cidrBlock"] for s in prod.of_type(SUBNET)}
    assert cidrs == {
        "net-public-a": "10.10.0.0/22",
        "net-public-b": "10.10.4.0/22",
        "net-public-c": "10.10.8.0/22",
        "net-app-a": "10.10.32.0/22",
        "net-app-b": "10.10.36.0/22",
        "net-app-c": "10.10.40.0/22",
        "net-data-a": "10.10.64.0/22",
        "net-data-b": "10.10.68.0/22",
        "net-data-c": "10.10.72.0/22",
        # the last tier block: the egress firewall's endpoints
        "net-firewall-a": "10.10.224.0/22",
        "net-firewall-b": "10.10.228.0/22",
        "net-firewall-c": "10.10.232.0/22",
    }
    nets = [ipaddress.ip_network(c) for c in cidrs.values()]
    for i, a in enumerate(nets):
        assert a.subnet_of(ipaddress.ip_network("10.10.0.0/16"))
        assert not any(a.overlaps(b) for b in nets[i + 1 :])


# --- egress through the firewall (issue 13, PCI DSS 1.3.2) ------------------------------------

FIREWALL_POLICY = "aws:networkfirewall/firewallPolicy:FirewallPolicy"
RULE_GROUP = "aws:networkfirewall/ruleGroup:RuleGroup"
LOGGING = "aws:networkfirewall/loggingConfiguration:LoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def test_each_nat_subnet_sends_its_azs_answers_back_through_the_same_firewall_endpoint(
    prod: Plan,
) -> None:
    """The NAT gateway forwards the answers by its subnet's table: without a route for the
    app subnet to the endpoint they would bypass it, and the firewall would see one
    direction only. The load balancer nodes of that public subnet are routed the same way
    both ways (AWS supports no asymmetric routing through an endpoint)."""
    cidrs = {s.name: s.inputs["cidrBlock"] for s in prod.every(SUBNET)}
    for az in "abc":
        endpoint = prod.named(f"net-app-{az}-default", ROUTE).inputs["vpcEndpointId"]
        back = prod.named(f"net-public-{az}-to-app-{az}", ROUTE).inputs
        table = prod.named(f"net-public-{az}", "aws:ec2/routeTable:RouteTable")
        assert back["routeTableId"] == table.outputs["id"]
        assert (back["destinationCidrBlock"], back["vpcEndpointId"]) == (
            cidrs[f"net-app-{az}"],
            endpoint,
        )
        there = prod.named(f"net-app-{az}-to-public-{az}", ROUTE).inputs
        assert (there["destinationCidrBlock"], there["vpcEndpointId"]) == (
            cidrs[f"net-public-{az}"],
            endpoint,
        )


def test_a_single_nat_carries_every_azs_egress_through_the_endpoint_of_its_own_az() -> None:
    plan = plan_vpc(
        "nonprod", availability_zones=["a", "b"], nat_gateways="Single", egress_firewall=EGRESS
    )
    (firewall,) = plan.every(FIREWALL)
    assert len(firewall.inputs["subnetMappings"]) == 1
    endpoints = {plan.named(f"net-app-{az}-default", ROUTE).inputs["vpcEndpointId"] for az in "ab"}
    assert len(endpoints) == 1 and endpoint_subnet(plan, endpoints.pop()) == "net-firewall-a"
    assert plan.named("net-public-a-to-app-b", ROUTE).inputs["destinationCidrBlock"] == (
        "10.10.36.0/22"
    )
    assert not [r for r in plan.every(ROUTE) if r.name.startswith("net-public-b-to-")]


def test_the_firewall_lets_out_only_tls_and_http_to_the_listed_domains(prod: Plan) -> None:
    (firewall,) = prod.every(FIREWALL)
    policy = prod.named("net-egress", FIREWALL_POLICY)
    assert firewall.inputs["firewallPolicyArn"] == policy.outputs["arn"]
    assert firewall.inputs["deleteProtection"] is True
    doc = policy.inputs["firewallPolicy"]
    assert doc["statefulEngineOptions"] == {"ruleOrder": "STRICT_ORDER"}
    # what no rule passes is dropped (and logged) once the handshake is done
    assert doc["statefulDefaultActions"] == ["aws:drop_established", "aws:alert_established"]
    groups = {g.outputs["arn"]: g.inputs for g in prod.every(RULE_GROUP)}
    (stateful,) = doc["statefulRuleGroupReferences"]
    domains = groups[stateful["resourceArn"]]["ruleGroup"]
    assert domains["rulesSource"]["rulesSourceList"] == {
        "generatedRulesType": "ALLOWLIST",
        "targetTypes": ["TLS_SNI", "HTTP_HOST"],
        "targets": EGRESS["allowed_domains"],
    }
    assert domains["statefulRuleOptions"] == {"ruleOrder": "STRICT_ORDER"}
    # the stateless engine passes only traffic between the VPC's own subnets
    (stateless,) = doc["statefulRuleGroupReferences"] and doc["statelessRuleGroupReferences"]
    rules = groups[stateless["resourceArn"]]["ruleGroup"]["rulesSource"]
    (rule,) = rules["statelessRulesAndCustomActions"]["statelessRules"]
    match = rule["ruleDefinition"]["matchAttributes"]
    assert rule["ruleDefinition"]["actions"] == ["aws:pass"]
    assert match["sources"] == match["destinations"] == [{"addressDefinition": "10.10.0.0/16"}]
    assert doc["statelessDefaultActions"] == ["aws:forward_to_sfe"]


def test_the_firewall_logs_alerts_and_flows_to_groups_encrypted_and_kept_a_year(
    prod: Plan,
) -> None:
    (logging,) = prod.every(LOGGING)
    key = prod.named("net-flow-logs", "aws:kms/key:Key")
    destinations = logging.inputs["loggingConfiguration"]["logDestinationConfigs"]
    assert sorted(d["logType"] for d in destinations) == ["ALERT", "FLOW"]
    for destination in destinations:
        assert destination["logDestinationType"] == "CloudWatchLogs"
        (group,) = [
            g
            for g in prod.every(LOG_GROUP)
            if g.outputs["name"] == destination["logDestination"]["logGroup"]
        ]
        assert group.inputs["kmsKeyId"] == key.outputs["arn"]
        assert group.inputs["retentionInDays"] == 365
        assert group.protect is True


def test_nonprod_may_send_plain_nat_egress_prod_may_not() -> None:
    plain = plan_vpc("nonprod", nat_gateways="Single", egress_firewall={"enabled": False})
    assert plain.of_type(FIREWALL) == []
    assert plain.named("net-app-b-default", ROUTE).inputs["natGatewayId"]
    message = problems_of(nat_gateways="OnePerAz", egress_firewall={"enabled": False})
    assert "settings.egress_firewall.enabled: prod reaches the internet only through" in message


# --- NACLs that say what they mean -----------------------------------------------------------


def test_no_nacl_entry_admits_an_administrative_port_from_outside_the_vpc(prod: Plan) -> None:
    """PCI DSS 1.3.1 and Security Hub EC2.21 (no NACL ingress from 0.0.0.0/0 to 22 or 3389):
    the answers from the internet and on-prem ranges arrive on the ephemeral ports around
    3389, never on it."""
    import ipaddress

    vpc = ipaddress.ip_network("10.10.0.0/16")
    inbound = [
        r.inputs
        for r in prod.every(NACL_RULE)
        if not r.inputs["egress"] and not ipaddress.ip_network(r.inputs["cidrBlock"]).subnet_of(vpc)  # type: ignore[arg-type]
    ]
    assert inbound
    for entry in inbound:
        assert entry["protocol"] != "-1", entry
        for port in (22, 3389):
            assert not entry["fromPort"] <= port <= entry["toPort"], entry
    # ... and the answers still cover the rest of the ephemeral range
    answers = {(e["fromPort"], e["toPort"]) for e in inbound if e["cidrBlock"] == ANY}
    assert {(1024, 3388), (3390, 65535)} <= answers


def test_landing_on_a_vpc_deployed_before_issue_13_replaces_no_nacl_entry(prod: Plan) -> None:
    """The NACLs as the release before deployed them (each ephemeral answer from outside the
    VPC one 1024-65535 entry under x04; the data tier's every-protocol entries under 405; no
    firewall tier), read back at the next deployment: every entry that stays keeps its
    number and content (nothing replaced), every new one takes its table number (no
    collision with the old entries, which go only after the new exist)."""
    old: list[Registered] = []
    for rule in prod.every(NACL_RULE):
        if "-firewall-" in rule.name or (
            rule.name.startswith("net-data-") and rule.name.endswith("-data")
        ):
            continue  # a new NACL; the data tier's DMS entries are new
        if rule.name == "net-public-in-ephemeral-app":
            continue
        if "-ephemeral-high-" in rule.name:
            continue
        if "-ephemeral-low-" in rule.name:
            number = rule.inputs["ruleNumber"] - 3  # x07 -> x04
            inputs = {**rule.inputs, "toPort": 65535, "ruleNumber": number}
            old.append(dataclasses.replace(rule, name=rule.name.replace("-low", ""), inputs=inputs))
            continue
        old.append(rule)
    data_acl = prod.named("net-data", NACL).outputs["id"]
    every = {"protocol": "-1", "cidrBlock": "10.10.64.0/19", "fromPort": 0, "toPort": 0}
    for egress in (False, True):
        template = old[0]
        inputs = {**template.inputs, **every, "networkAclId": data_acl, "ruleNumber": 405}
        name = f"net-data-{'out' if egress else 'in'}-all-data"
        old.append(dataclasses.replace(template, name=name, inputs={**inputs, "egress": egress}))
    before = Plan([r for r in prod.resources if r.type != NACL_RULE] + old, {})

    again = redeploy(before, **PROD_VPC)
    kept = {r.name: r.inputs for r in old}
    for rule in again.every(NACL_RULE):
        if rule.name in kept:
            assert rule.inputs == kept[rule.name], f"{rule.name} would be replaced"
        else:
            assert rule.inputs["ruleNumber"] < 10_000, f"{rule.name} collides with an old entry"
    gone = sorted(set(kept) - {r.name for r in again.every(NACL_RULE)})
    assert gone == [
        "net-app-in-ephemeral-internet",
        "net-data-in-all-data",
        "net-data-in-ephemeral-onprem-hcm-dc-apps",
        "net-data-in-ephemeral-onprem-hcm-dc-db",
        "net-data-out-all-data",
        "net-public-in-ephemeral-internet",
    ]


# --- endpoint policies ------------------------------------------------------------------------


def endpoint_policy(plan: Plan, service: str) -> dict[str, Any]:
    import json

    (endpoint,) = [
        e for e in plan.every(ENDPOINT) if e.inputs["serviceName"].endswith(f".{service}")
    ]
    return dict(json.loads(endpoint.inputs["policy"]))


def request(action: str, resource: str, principal_account: str, resource_account: str) -> Request:
    return Request(
        action,
        resource=resource,
        principal={"AWS": f"arn:aws:iam::{principal_account}:role/x"},
        context={
            "aws:PrincipalAccount": principal_account,
            "aws:ResourceAccount": resource_account,
        },
    )


def test_every_endpoint_admits_only_the_accounts_principals_on_its_resources(prod: Plan) -> None:
    """Without an organization id (StackContext.organization_id), the stack's own account:
    stolen credentials of another account cannot use our endpoints, nor our roles reach
    another account's resources through them."""
    own, other = "111122223333", "999999999999"
    endpoints = prod.every(ENDPOINT)
    assert len(endpoints) == 9 and all(e.inputs.get("policy") for e in endpoints)
    for service in ("kms", "logs", "secretsmanager", "monitoring", "ssmmessages", "dynamodb"):
        policy = endpoint_policy(prod, service)
        assert allows(policy, request(f"{service}:Any", "*", own, own)), service
        assert not allows(policy, request(f"{service}:Any", "*", other, other)), service
        assert not allows(policy, request(f"{service}:Any", "*", own, other)), service
        assert not allows(policy, request(f"{service}:Any", "*", other, own)), service


def test_with_an_organization_id_the_endpoints_admit_the_organization() -> None:
    plan = plan_vpc(organization_id="o-a1b2c3d4e5")
    policy = endpoint_policy(plan, "secretsmanager")
    ours = {"aws:PrincipalOrgID": "o-a1b2c3d4e5", "aws:ResourceOrgID": "o-a1b2c3d4e5"}
    theirs = {"aws:PrincipalOrgID": "o-zzzzzzzzzz", "aws:ResourceOrgID": "o-a1b2c3d4e5"}
    assert allows(policy, Request("secretsmanager:GetSecretValue", context=ours))
    assert not allows(policy, Request("secretsmanager:GetSecretValue", context=theirs))
    assert not allows(
        policy,
        Request(
            "secretsmanager:GetSecretValue",
            context={"aws:PrincipalOrgID": "o-a1b2c3d4e5", "aws:ResourceOrgID": "o-zzzzzzzzzz"},
        ),
    )


def test_the_s3_endpoint_reaches_the_stacks_buckets_and_the_aws_repositories_only(
    prod: Plan,
) -> None:
    own, other = "111122223333", "999999999999"
    policy = endpoint_policy(prod, "s3")
    assert allows(policy, request("s3:PutObject", "arn:aws:s3:::logs/x", own, own))
    assert not allows(policy, request("s3:PutObject", "arn:aws:s3:::exfil/x", own, other))
    # dnf reads Amazon Linux 2023 packages from AWS's bucket, unauthenticated
    repo = "arn:aws:s3:::al2023-repos-ap-southeast-1-de612dc2/core/mirrors/latest/mirror.list"
    assert allows(policy, Request("s3:GetObject", resource=repo))
    assert not allows(policy, Request("s3:PutObject", resource=repo))
    other_repo = "arn:aws:s3:::al2023-repos-us-east-1-de612dc2/x"
    assert not allows(policy, Request("s3:GetObject", resource=other_repo))


def test_the_ssm_endpoint_lets_the_agent_read_amazons_documents() -> None:
    policy = endpoint_policy(plan_vpc(), "ssm")
    document = "arn:aws:ssm:ap-southeast-1::document/AWS-RunPatchBaseline"
    assert allows(policy, request("ssm:GetDocument", document, "111122223333", "aws"))
    assert not allows(policy, request("ssm:GetDocument", document, "999999999999", "aws"))
    assert not allows(policy, request("ssm:SendCommand", document, "111122223333", "aws"))


@pytest.mark.parametrize("value", ["o-short", "O-A1B2C3D4E5", "123456789012", "o-a1b2c3d4e5 "])
def test_an_organization_id_is_checked_where_it_is_given(value: str) -> None:
    """The id the endpoint policies name: a wrong one would deny every host's call through
    every endpoint, so it is refused in the component's context and in the stack file."""
    from stacks.settings import ConfigError, settings_from_config

    with pytest.raises(ValidationError) as error:
        StackContext(organization_id=value)
    assert str(error.value).splitlines()[1] == "organization_id"
    with pytest.raises(ConfigError) as refused:
        settings_from_config(
            {
                "payments-platform:environment": "nonprod",
                "payments-platform:organizationId": value,
            }
        )
    assert refused.value.problems[0].startswith("payments-platform:organizationId: ")


def test_the_public_tier_keeps_its_deployed_route_table_as_its_first_azs(prod: Plan) -> None:
    """One public table per AZ now (each NAT subnet routes its own AZ's answers); the table
    the tier shared before (`<name>-public`) and its IGW route live on as the first AZ's by
    alias, so a deployed stack creates the other AZs' tables and deletes none."""
    table = prod.named("net-public-a", "aws:ec2/routeTable:RouteTable")
    route = prod.named("net-public-a-default", ROUTE)
    assert any('name: "net-public"' in a for a in table.aliases), table.aliases
    assert any('name: "net-public-default"' in a for a in route.aliases), route.aliases
    for az in "bc":
        assert prod.named(f"net-public-{az}", "aws:ec2/routeTable:RouteTable").aliases == ()
