"""HybridConnectivity: what the network team, the on-prem team and a PCI assessor rely on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from fidelity import alarm_fires
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from components.core.onprem import OnPremNetwork
from components.core.problems import ComponentConfigError, config_line
from components.core.settings import StackContext
from components.hybrid_connectivity import (
    CustomerGatewaySettings,
    HybridConnectivity,
    HybridConnectivitySettings,
    check,
    preshared_keys_from_config,
)
from components.hybrid_connectivity.checks import check_gateways
from components.secure_vpc import NetworkRef, SecureVpc, SecureVpcSettings, plan_network
from components.testing import Plan, PlatformMocks, RecordingMonitor, Registered, run_offline

TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:platform-alarms"
HYBRID = "payments:index:HybridConnectivity"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
PSK_FW1 = ("Tunnel1.secret_key_fw1", "Tunnel2.secret_key_fw1")
PSK_FW2 = ("Tunnel1.secret_key_fw2", "Tunnel2.secret_key_fw2")

ON_PREM = {
    "hcm-dc-apps": {"cidr": "172.16.0.0/20", "naclSlot": 1},
    "hcm-dc-db": {"cidr": "172.16.32.0/22", "naclSlot": 2},
}
FW1 = {
    "publicIp": "1.52.10.10",
    "bgpAsn": 65010,
    "tunnel1InsideCidr": "169.254.10.0/30",
    "tunnel2InsideCidr": "169.254.10.4/30",
}
FW2 = {
    "publicIp": "1.52.20.10",
    "bgpAsn": 65020,
    "routing": "static",
    "tunnel1InsideCidr": "169.254.20.0/30",
    "tunnel2InsideCidr": "169.254.20.4/30",
}
DX = {"connectionId": "dxcon-fgab1234", "vlan": 101, "customerBgpAsn": 65100}


def hybrid(**overrides: Any) -> dict[str, Any]:
    return {
        "onPremNetworks": ON_PREM,
        "customerGateways": {"hcm-dc-fw1": FW1},
        "directConnect": DX,
        **overrides,
    }


def build(
    raw: Mapping[str, Any],
    *,
    environment: str = "prod",
    keys: Mapping[str, tuple[Any, Any]] | None = None,
) -> Plan:
    """One stack: a SecureVpc and a HybridConnectivity wired as __main__ wires them."""

    def program() -> None:
        settings = HybridConnectivitySettings.model_validate(raw)
        context = StackContext(environment=environment)  # type: ignore[arg-type]
        vpc = SecureVpc(
            "t",
            SecureVpcSettings(availability_zones=["a", "b", "c"]),
            context=context,
            on_prem=settings.on_prem_networks,
        )
        component = HybridConnectivity(
            "hybrid",
            settings,
            context=context,
            network=vpc.ref,
            alarm_topic_arn=TOPIC,
            pre_shared_keys=keys,
        )
        pulumi.export("tunnels", component.tunnels)
        pulumi.export("vpnConnectionIds", component.vpn_connection_ids)
        pulumi.export("dxGatewayId", component.dx_gateway_id)
        pulumi.export("widgets", component.dashboard_widgets)

    return run_offline(program)


def secret_keys() -> dict[str, tuple[Any, Any]]:
    # one pair as plain strings, one as a non-secret Output: both must end up secret
    return {
        "hcm-dc-fw1": PSK_FW1,
        "hcm-dc-fw2": (pulumi.Output.from_input(PSK_FW2[0]), PSK_FW2[1]),
    }


@pytest.fixture(scope="module")
def prod() -> Plan:
    gateways = {"hcm-dc-fw1": FW1, "hcm-dc-fw2": FW2}
    return build(hybrid(customerGateways=gateways), keys=secret_keys())


@pytest.fixture(scope="module")
def prod_before_fw1() -> Plan:
    """Prod before hcm-dc-fw1 was added (it now comes first in the config)."""
    keys = {"hcm-dc-fw2": secret_keys()["hcm-dc-fw2"]}
    return build(hybrid(customerGateways={"hcm-dc-fw2": FW2}), keys=keys)


@pytest.fixture(scope="module")
def nonprod() -> Plan:
    """Silent on Direct Connect and log retention: the nonprod defaults apply."""
    raw = hybrid(customerGateways={"hcm-dc-fw2": FW2})
    del raw["directConnect"]
    return build(raw, environment="nonprod")


def ours(plan: Plan) -> list[Registered]:
    return plan.descendants_of(plan.of_type(HYBRID)[0])


def vpns(plan: Plan) -> list[Registered]:
    return plan.of_type("aws:ec2/vpnConnection:VpnConnection")


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return []


# --- VPN tunnels ---------------------------------------------------------------------------


def test_both_tunnels_of_every_vpn_pin_ikev2_and_strong_algorithms(prod: Plan) -> None:
    assert len(vpns(prod)) == 2
    for vpn in vpns(prod):
        i = vpn.inputs
        assert i["type"] == "ipsec.1"
        for t in ("tunnel1", "tunnel2"):
            assert i[f"{t}IkeVersions"] == ["ikev2"], (vpn.name, t)
            for phase in ("phase1", "phase2"):
                enc = i[f"{t}{phase.title()}EncryptionAlgorithms"]
                integ = i[f"{t}{phase.title()}IntegrityAlgorithms"]
                dh = i[f"{t}{phase.title()}DhGroupNumbers"]
                assert enc and set(enc) <= {"AES256", "AES256-GCM-16"}, (vpn.name, t, enc)
                assert integ and set(integ) <= {"SHA2-256", "SHA2-384", "SHA2-512"}, integ
                assert dh and min(dh) >= 14 and not set(dh) & {22, 23, 24}, dh
            assert i[f"{t}DpdTimeoutAction"] == "restart"
            assert i[f"{t}StartupAction"] == "start"


def test_tunnel_inside_cidrs_come_from_config(prod: Plan) -> None:
    (vpn,) = [v for v in vpns(prod) if v.name == "hybrid-hcm-dc-fw2"]
    assert vpn.inputs["tunnel1InsideCidr"] == "169.254.20.0/30"
    assert vpn.inputs["tunnel2InsideCidr"] == "169.254.20.4/30"


def test_tunnel_activity_is_logged_to_a_kms_encrypted_group_kept_a_year(prod: Plan) -> None:
    assert len(vpns(prod)) == 2
    groups = [r for r in ours(prod) if r.type == LOG_GROUP]
    assert len(groups) == 1
    group = groups[0]
    assert group.inputs["retentionInDays"] >= 365
    key = prod.by_id(group.inputs["kmsKeyId"].split("/")[-1])
    assert key is not None and key.type == "aws:kms/key:Key"
    assert key.inputs["enableKeyRotation"] is True
    assert "logs.ap-southeast-1.amazonaws.com" in key.inputs["policy"]
    for vpn in vpns(prod):
        for t in ("tunnel1", "tunnel2"):
            options = vpn.inputs[f"{t}LogOptions"]["cloudwatchLogOptions"]
            assert options["logEnabled"] is True
            assert options["logGroupArn"] == group.outputs["arn"]


def test_no_pre_shared_key_appears_in_plain_text(prod: Plan) -> None:
    assert len(vpns(prod)) == 2
    for resource in prod:
        for key, value in resource.inputs.items():
            if key in resource.secret_paths:
                continue
            leaked = {s for s in strings_in(value) for k in PSK_FW1 + PSK_FW2 if k in s}
            assert not leaked, f"{resource.name}.{key} holds a pre-shared key in plain text"
    for vpn in vpns(prod):
        for t in ("tunnel1", "tunnel2"):
            assert f"{t}PresharedKey" in vpn.secret_paths, (vpn.name, t)
    assert not any(k in json.dumps(prod.stack_outputs) for k in PSK_FW1 + PSK_FW2)


def test_without_keys_aws_generates_them(nonprod: Plan) -> None:
    (vpn,) = vpns(nonprod)
    assert "tunnel1PresharedKey" not in vpn.inputs
    assert "tunnel2PresharedKey" not in vpn.inputs


def test_static_vpn_routes_are_the_declared_on_prem_ranges(prod: Plan, nonprod: Plan) -> None:
    for plan in (prod, nonprod):
        routes = plan.of_type("aws:ec2/vpnConnectionRoute:VpnConnectionRoute")
        assert {r.inputs["destinationCidrBlock"] for r in routes} == {
            n["cidr"] for n in ON_PREM.values()
        }
        assert {r.name for r in routes} == {
            "hybrid-hcm-dc-fw2-hcm-dc-apps",
            "hybrid-hcm-dc-fw2-hcm-dc-db",
        }
    static = [v for v in vpns(prod) if v.inputs["staticRoutesOnly"]]
    assert [v.inputs["tags"]["Name"] for v in static] == ["hybrid-hcm-dc-fw2"]


def test_customer_gateways_carry_the_devices_ip_and_asn(prod: Plan) -> None:
    cgws = {r.name: r.inputs for r in prod.of_type("aws:ec2/customerGateway:CustomerGateway")}
    assert cgws["hybrid-hcm-dc-fw1"]["ipAddress"] == "1.52.10.10"
    assert cgws["hybrid-hcm-dc-fw1"]["bgpAsn"] == "65010"
    assert cgws["hybrid-hcm-dc-fw2"]["type"] == "ipsec.1"


# --- Routing ------------------------------------------------------------------------------


def test_vgw_is_attached_to_the_vpc_with_the_configured_asn(prod: Plan) -> None:
    (vgw,) = prod.of_type("aws:ec2/vpnGateway:VpnGateway")
    assert vgw.inputs["amazonSideAsn"] == "64512"
    (attachment,) = prod.of_type("aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment")
    assert attachment.inputs["vpnGatewayId"] == vgw.outputs["id"]
    assert attachment.inputs["vpcId"] == prod.named("t", "aws:ec2/vpc:Vpc").outputs["id"]


def test_vgw_routes_propagate_to_app_and_data_route_tables_only(prod: Plan) -> None:
    props = prod.of_type("aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation")
    assert props
    targets = [prod.by_id(p.inputs["routeTableId"]) for p in props]
    assert all(t is not None and t.type == "aws:ec2/routeTable:RouteTable" for t in targets)
    tables = prod.of_type("aws:ec2/routeTable:RouteTable")
    expected = {t.outputs["id"] for t in tables if t.inputs["tags"]["tier"] in ("app", "data")}
    assert {p.inputs["routeTableId"] for p in props} == expected
    assert len(props) == len(expected)  # one per table, none twice
    # named by tier/AZ, never by position
    assert {p.name for p in props} == {
        "hybrid-app-a",
        "hybrid-app-b",
        "hybrid-app-c",
        "hybrid-data",
    }
    attachment = prod.of_type("aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment")[0]
    assert all(attachment.urn in p.dependencies for p in props)


# --- Direct Connect ------------------------------------------------------------------------


def test_prod_has_a_dx_gateway_associated_with_the_vgw(prod: Plan) -> None:
    (gateway,) = prod.of_type("aws:directconnect/gateway:Gateway")
    assert gateway.inputs["amazonSideAsn"] == "64513"
    (assoc,) = prod.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")
    (vgw,) = prod.of_type("aws:ec2/vpnGateway:VpnGateway")
    assert assoc.inputs["dxGatewayId"] == gateway.outputs["id"]
    assert assoc.inputs["associatedGatewayId"] == vgw.outputs["id"]
    assert assoc.inputs["allowedPrefixes"] == ["10.10.0.0/16"]
    assert prod.stack_outputs["dxGatewayId"] == gateway.outputs["id"]


def test_a_config_without_dx_has_no_dx_resources(nonprod: Plan) -> None:
    assert not [r for r in nonprod if r.type.startswith("aws:directconnect/")]
    assert not [r for r in nonprod if r.inputs.get("namespace") == "AWS/DX"]


def test_private_vif_sits_on_the_configured_circuit_and_dx_gateway(prod: Plan) -> None:
    (vif,) = prod.of_type("aws:directconnect/privateVirtualInterface:PrivateVirtualInterface")
    gateway = prod.of_type("aws:directconnect/gateway:Gateway")[0]
    assert vif.inputs["connectionId"] == "dxcon-fgab1234"
    assert vif.inputs["vlan"] == 101
    assert vif.inputs["addressFamily"] == "ipv4"
    assert vif.inputs["bgpAsn"] == 65100
    assert vif.inputs["dxGatewayId"] == gateway.outputs["id"]
    assert "vpnGatewayId" not in vif.inputs  # through the DX gateway, not straight to the VGW


def test_without_a_connection_id_only_the_gateway_and_association_are_built() -> None:
    plan = build(hybrid(directConnect={"enabled": True}), keys=None)
    assert len(plan.of_type("aws:directconnect/gateway:Gateway")) == 1
    assert len(plan.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")) == 1
    assert not plan.of_type("aws:directconnect/privateVirtualInterface:PrivateVirtualInterface")


# --- Monitoring ----------------------------------------------------------------------------


def test_each_vpn_alarms_on_one_tunnel_down_and_on_both_down(prod: Plan) -> None:
    alarms = [r for r in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if r in ours(prod)]
    assert len(vpns(prod)) == 2
    # named after the gateway, so the runbook (and the alarm history) survives a refactor
    assert sorted(a.name for a in alarms) == [
        "hybrid-dx-down",
        "hybrid-hcm-dc-fw1-tunnel-down",
        "hybrid-hcm-dc-fw1-vpn-down",
        "hybrid-hcm-dc-fw2-tunnel-down",
        "hybrid-hcm-dc-fw2-vpn-down",
    ]
    # a VPN or a circuit that stops reporting is not healthy
    assert all(a.inputs["treatMissingData"] == "breaching" for a in alarms)
    for vpn in vpns(prod):
        mine = [a for a in alarms if a.inputs["dimensions"] == {"VpnId": vpn.outputs["id"]}]
        stats = {a.inputs["statistic"]: a for a in mine}
        assert set(stats) == {"Minimum", "Maximum"}, vpn.name
        for alarm in mine:
            assert alarm.inputs["namespace"] == "AWS/VPN"
            assert alarm.inputs["metricName"] == "TunnelState"
            assert alarm.inputs["alarmActions"] == [TOPIC]
            assert alarm.inputs["okActions"] == [TOPIC]
        assert "WARNING" in stats["Minimum"].inputs["alarmDescription"]
        assert "CRITICAL" in stats["Maximum"].inputs["alarmDescription"]
    dx = [a for a in alarms if a.inputs["namespace"] == "AWS/DX"]
    assert [a.inputs["dimensions"] for a in dx] == [{"ConnectionId": "dxcon-fgab1234"}]
    assert dx[0].inputs["metricName"] == "ConnectionState"


def test_the_critical_vpn_alarm_fires_only_when_no_tunnel_is_up(prod: Plan) -> None:
    """At the VpnId dimension TunnelState is the share of the connection's two tunnels that
    are up (0.5: one of two; AWS Site-to-Site VPN User Guide, "Monitor ... using Amazon
    CloudWatch"). The warning fires as soon as one tunnel is down, the critical alarm only
    when neither is up; a connection that stops reporting pages both."""
    for vpn in vpns(prod):
        mine = [
            a
            for a in prod.every("aws:cloudwatch/metricAlarm:MetricAlarm")
            if a.inputs.get("dimensions") == {"VpnId": vpn.outputs["id"]}
        ]
        (warning,) = [a for a in mine if a.name.endswith("-tunnel-down")]
        (critical,) = [a for a in mine if a.name.endswith("-vpn-down")]
        both_up, one_up, none_up = 1.0, 0.5, 0.0
        assert [alarm_fires(warning, v) for v in (both_up, one_up, none_up)] == [
            False,
            True,
            True,
        ]
        assert [alarm_fires(critical, v) for v in (both_up, one_up, none_up)] == [
            False,
            False,
            True,
        ], "the both-tunnels-down alarm fires while one tunnel still carries traffic"
        assert alarm_fires(warning, None) and alarm_fires(critical, None)


def test_dashboard_widgets_show_tunnel_and_dx_state(prod: Plan) -> None:
    widgets = prod.stack_outputs["widgets"]
    metrics = [m for w in widgets for m in w["properties"]["metrics"]]
    vpn_ids = set(prod.stack_outputs["vpnConnectionIds"].values())
    assert {m[3] for m in metrics if m[0] == "AWS/VPN"} == vpn_ids
    assert ["AWS/DX", "ConnectionState", "ConnectionId", "dxcon-fgab1234"] in metrics


# --- Outputs, identity, protection, tags ----------------------------------------------------


def test_on_prem_side_gets_tunnel_addresses_and_asns(prod: Plan) -> None:
    fw1 = prod.stack_outputs["tunnels"]["hcm-dc-fw1"]
    assert fw1["customerAsn"] == 65010 and fw1["amazonAsn"] == 64512
    assert fw1["tunnel1"]["insideCidr"] == "169.254.10.0/30"
    assert fw1["tunnel1"]["awsInsideIp"] == "169.254.10.1"
    assert fw1["tunnel1"]["customerInsideIp"] == "169.254.10.2"
    assert fw1["tunnel2"]["outsideIp"] and fw1["tunnel2"]["insideCidr"] == "169.254.10.4/30"


def test_adding_a_customer_gateway_changes_none_of_the_existing_vpns_resources(
    prod_before_fw1: Plan, prod: Plan
) -> None:
    after = {r.urn: r for r in prod}
    for before in prod_before_fw1:
        assert before.urn in after, f"{before.name} would be deleted"
        assert dict(before.inputs) == dict(after[before.urn].inputs), f"{before.name} changes"
    assert len(prod) > len(prod_before_fw1)


def test_prod_protects_what_the_data_centre_depends_on(prod: Plan, nonprod: Plan) -> None:
    kinds = (
        "aws:ec2/vpnConnection:VpnConnection",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:directconnect/gateway:Gateway",
        "aws:directconnect/privateVirtualInterface:PrivateVirtualInterface",
    )
    kept = [r for r in ours(prod) if r.type in kinds]
    assert {r.type for r in kept} == set(kinds)
    assert all(r.protect for r in kept), [r.name for r in kept if not r.protect]
    assert ours(nonprod)
    assert not any(r.protect for r in ours(nonprod))


def test_every_taggable_resource_has_the_standard_tags(prod: Plan) -> None:
    taggable = [r for r in ours(prod) if r.custom and "tags" in r.inputs]
    assert len(taggable) >= 8
    for r in taggable:
        assert r.inputs["tags"]["component"] == "hybrid-connectivity", r.name
        assert r.inputs["tags"]["environment"] == "prod"
    untagged_types = {
        "aws:ec2/customerGateway:CustomerGateway",
        "aws:ec2/vpnGateway:VpnGateway",
        "aws:ec2/vpnConnection:VpnConnection",
        "aws:directconnect/gateway:Gateway",
    } - {r.type for r in taggable}
    assert not untagged_types


def test_every_child_is_parented_and_named_after_the_component(prod: Plan) -> None:
    component = prod.of_type(HYBRID)[0]
    children = ours(prod)
    assert {r.urn for r in children} == {
        r.urn for r in prod if r.name.startswith("hybrid-") and r.type != HYBRID
    }
    for r in children:
        assert r.name.startswith(f"{component.name}-"), r.name


# --- Settings: the format of each field ------------------------------------------------------

GATEWAY_FIELD = "customer_gateways.fw.{}"
TUNNEL2 = "tunnel2_inside_cidr"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (hybrid(customerGateways={"fw": {**FW1, "tunnel2InsideCidr": "169.254.1.0/30"}}), TUNNEL2),
        (
            hybrid(customerGateways={"fw": {**FW1, "tunnel2InsideCidr": "169.254.169.252/30"}}),
            TUNNEL2,
        ),
        (hybrid(customerGateways={"fw": {**FW1, "tunnel2InsideCidr": "169.254.10.0/29"}}), TUNNEL2),
        (hybrid(customerGateways={"fw": {**FW1, "tunnel2InsideCidr": "10.0.0.0/30"}}), TUNNEL2),
        (hybrid(customerGateways={"fw": {**FW1, "tunnel2InsideCidr": "169.254.10.1/30"}}), TUNNEL2),
        (hybrid(customerGateways={"fw": {**FW1, "publicIp": "10.1.2.3"}}), "public_ip"),
        (hybrid(customerGateways={"fw": {**FW1, "publicIp": "100.64.0.1"}}), "public_ip"),
        (hybrid(customerGateways={"fw": {**FW1, "publicIp": "203.0.113.10"}}), "public_ip"),
        (hybrid(customerGateways={"fw": {**FW1, "publicIp": "not-an-ip"}}), "public_ip"),
        (hybrid(customerGateways={"fw": {**FW1, "bgpAsn": 3356}}), "bgp_asn"),
        (hybrid(customerGateways={"fw": {**FW1, "routing": "ospf"}}), "routing"),
        (hybrid(amazonSideAsn=7224), "amazon_side_asn"),
        (hybrid(directConnect={**DX, "amazonSideAsn": 65535}), "direct_connect.amazon_side_asn"),
        (hybrid(directConnect={**DX, "customerBgpAsn": 1}), "direct_connect.customer_bgp_asn"),
        (hybrid(directConnect={**DX, "connectionId": "dx-123"}), "direct_connect.connection_id"),
        (hybrid(directConnect={**DX, "vlan": 4095}), "direct_connect.vlan"),
        (
            hybrid(directConnect={**DX, "amazonAddress": "169.254.255.300/30"}),
            "direct_connect.amazon_address",
        ),
        (hybrid(directConnect={**DX, "mtu": 9000}), "direct_connect.mtu"),
        (
            hybrid(onPremNetworks={"dc": {"cidr": "0.0.0.0/0", "naclSlot": 1}}),
            "on_prem_networks.dc.cidr",
        ),
        (hybrid(routePropagationTiers=["app", "public"]), "route_propagation_tiers"),
        (hybrid(routePropagationTiers=["app", "firewall"]), "route_propagation_tiers"),
        (hybrid(routePropagationTiers=["app", "app"]), "route_propagation_tiers"),
        (hybrid(tunnelLogRetentionDays=100), "tunnel_log_retention_days"),
        (hybrid(customer_gatewayz={}), "customer_gatewayz"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_python_field(raw: dict[str, Any], key: str) -> None:
    expected = GATEWAY_FIELD.format(key) if key in CustomerGatewaySettings.model_fields else key
    with pytest.raises(ValidationError) as error:
        HybridConnectivitySettings.model_validate(raw)
    lines = str(error.value).splitlines()
    assert lines[1] == expected, lines
    # pydantic's location names the field: the message does not repeat it
    field = expected.split(".")[-1]
    assert field not in lines[2] and to_camel(field) not in lines[2], lines[2]


def test_the_defaults_are_the_prod_ones() -> None:
    settings = HybridConnectivitySettings()
    assert settings.direct_connect.enabled is True
    assert settings.route_propagation_tiers == ["app", "data"]
    assert settings.tunnel_log_retention_days == 365
    assert settings.customer_gateways == {} and settings.on_prem_networks == {}


# --- Checks: each rule refuses the component before anything is registered ------------------


def fake_network(on_prem: Mapping[str, Any]) -> NetworkRef:
    """The reference of a VPC planned with ``on_prem`` (ids are placeholders: only the plan
    is read before the component registers)."""
    ranges = {name: OnPremNetwork.model_validate(net) for name, net in on_prem.items()}
    plan = plan_network(
        SecureVpcSettings(), on_prem=ranges, data_services=(), dms_source_engines=()
    )
    name = pulumi.Output.from_input("t-db")
    return NetworkRef(
        plan=plan,
        vpc_id=pulumi.Output.from_input("vpc-0a1b2c3d4e5f67890"),
        subnet_ids={},
        route_table_ids={},
        endpoint_security_group_id=pulumi.Output.from_input("sg-0a1b2c3d4e5f67890"),
        db_subnet_group_name=name,
        docdb_subnet_group_name=name,
        cache_subnet_group_name=name,
    )


def problems_of(
    raw: Mapping[str, Any],
    *,
    environment: str = "prod",
    keys: Any = None,
    network_on_prem: Mapping[str, Any] | None = None,
) -> str:
    """The ComponentConfigError message of a HybridConnectivity on a network planned with
    the same on-prem ranges (or ``network_on_prem``); asserts nothing was registered."""
    monitor = RecordingMonitor(PlatformMocks())
    errors: list[ComponentConfigError] = []

    def program() -> None:
        on_prem = raw.get("onPremNetworks", {}) if network_on_prem is None else network_on_prem
        try:
            HybridConnectivity(
                "hybrid",
                HybridConnectivitySettings.model_validate(raw),
                context=StackContext(environment=environment),  # type: ignore[arg-type]
                network=fake_network(on_prem),
                alarm_topic_arn=TOPIC,
                pre_shared_keys=keys,
            )
        except ComponentConfigError as error:
            errors.append(error)  # caught, so the run completes every registration it began

    run_offline(program, monitor=monitor)
    assert len(errors) == 1, "the component was built"
    assert monitor.registered == []
    message = str(errors[0])
    assert message.startswith("HybridConnectivity('hybrid'): invalid configuration")
    return message


def test_the_valid_configuration_the_rule_tests_start_from_has_no_problem() -> None:
    """So each rule test below fails for its own reason."""
    settings = HybridConnectivitySettings.model_validate(hybrid())
    ranges = {n: OnPremNetwork.model_validate(v) for n, v in ON_PREM.items()}
    plan = plan_network(
        SecureVpcSettings(), on_prem=ranges, data_services=(), dms_source_engines=()
    )
    assert check("hybrid", settings, context=StackContext(), network=plan, pre_shared_keys={}) == []


FW1_TWIN = {**FW2, "routing": "bgp"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # on-prem ranges (core.onprem: the same rule SecureVpc applies to its on_prem)
        (
            hybrid(onPremNetworks={"HCM_DC": {"cidr": "172.16.0.0/20", "naclSlot": 1}}),
            "settings.on_prem_networks['HCM_DC']: on-prem range name 'HCM_DC' must be",
        ),
        (
            hybrid(
                onPremNetworks={
                    "a": {"cidr": "172.16.0.0/20", "naclSlot": 1},
                    "b": {"cidr": "172.17.0.0/20", "naclSlot": 1},
                }
            ),
            "settings.on_prem_networks['b']: naclSlot 1 is already used by a",
        ),
        (
            hybrid(
                onPremNetworks={
                    "a": {"cidr": "172.16.0.0/20", "naclSlot": 1},
                    "b": {"cidr": "172.16.8.0/24", "naclSlot": 2},
                }
            ),
            "settings.on_prem_networks['a']: 172.16.0.0/20 overlaps b (172.16.8.0/24)",
        ),
        # customer gateways
        (
            hybrid(customerGateways={"FW_1": FW1}),
            "settings.customer_gateways['FW_1']: the name must be 1-31 lowercase letters",
        ),
        (
            hybrid(customerGateways={"fw": {**FW1, "bgpAsn": 64512}}),
            "settings.customer_gateways['fw'].bgp_asn: 64512 equals `amazon_side_asn`",
        ),
        (
            hybrid(customerGateways={"fw1": FW1, "fw2": {**FW1_TWIN, "publicIp": "1.52.10.10"}}),
            "settings.customer_gateways['fw2'].public_ip: 1.52.10.10 is already used by "
            "`customer_gateways.fw1.public_ip`",
        ),
        (
            hybrid(onPremNetworks={}, customerGateways={"fw2": FW2}),
            "settings.customer_gateways['fw2'].routing: is static but `on_prem_networks` is empty",
        ),
        (
            hybrid(
                customerGateways={
                    "fw1": FW1,
                    "fw2": {**FW1_TWIN, "tunnel2InsideCidr": FW1["tunnel1InsideCidr"]},
                }
            ),
            "settings.customer_gateways['fw2'].tunnel2_inside_cidr: 169.254.10.0/30 is already "
            "used by `customer_gateways.fw1.tunnel1_inside_cidr`",
        ),
        # Direct Connect
        (
            hybrid(directConnect={**DX, "customerBgpAsn": 64513}),
            "settings.direct_connect.customer_bgp_asn: 64513 equals "
            "`direct_connect.amazon_side_asn`",
        ),
        (
            hybrid(directConnect={**DX, "enabled": False}, customerGateways={"a": FW1, "b": FW2}),
            "settings.direct_connect.connection_id: is set but `direct_connect.enabled` is false",
        ),
        (
            hybrid(directConnect={"connectionId": "dxcon-ab12cd34"}),
            "settings.direct_connect.vlan: is required with `direct_connect.connection_id`",
        ),
        (
            hybrid(directConnect={**DX, "amazonAddress": "169.254.255.1/30"}),
            "settings.direct_connect.customer_address: is required with "
            "`direct_connect.amazon_address`",
        ),
        (
            hybrid(directConnect={**DX, "customerAddress": "169.254.255.2/30"}),
            "settings.direct_connect.amazon_address: is required with "
            "`direct_connect.customer_address`",
        ),
        (
            hybrid(
                directConnect={
                    **DX,
                    "amazonAddress": "169.254.255.1/30",
                    "customerAddress": "169.254.9.2/30",
                }
            ),
            "settings.direct_connect.customer_address: 169.254.9.2/30 must be another address "
            "of the subnet of `direct_connect.amazon_address` (169.254.255.1/30)",
        ),
        # wiring: the network the component is given
        (
            hybrid(routePropagationTiers=["app", "integration"]),
            "settings.route_propagation_tiers: the network has no tier 'integration'; use one "
            "of app, data",
        ),
        # prod rules (one each)
        (
            hybrid(directConnect={"enabled": False}),
            "settings.direct_connect.enabled: prod reaches on-prem over Direct Connect or two "
            "VPN connections",
        ),
        (
            hybrid(customerGateways={}),
            "settings.customer_gateways: prod with on-prem ranges keeps at least one "
            "Site-to-Site VPN",
        ),
        (
            hybrid(tunnelLogRetentionDays=90),
            "settings.tunnel_log_retention_days: prod keeps VPN tunnel logs >= 365 days",
        ),
    ],
)
def test_a_broken_rule_is_refused_naming_the_python_key(raw: dict[str, Any], expected: str) -> None:
    assert expected in problems_of(raw)


def test_a_network_built_with_other_on_prem_ranges_is_refused() -> None:
    """NACLs admit one list and VPN routes use another: the component refuses the pair."""
    other = {"hcm-dc-apps": {"cidr": "172.16.0.0/20", "naclSlot": 1}}
    message = problems_of(hybrid(), network_on_prem=other)
    assert "settings.on_prem_networks: differs from the ranges the network was built with" in (
        message
    )
    assert "pass the same `on_prem_networks` to SecureVpc(on_prem=...)" in message


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"fw9": PSK_FW1}, "pre_shared_keys['fw9']: there is no customer gateway 'fw9'"),
        (
            {"hcm-dc-fw1": ("0short", PSK_FW1[1])},
            "pre_shared_keys['hcm-dc-fw1']: tunnel1: a VPN pre-shared key must be 8-64",
        ),
        (
            {"hcm-dc-fw1": (PSK_FW1[0], "has-a-dash-0123")},
            "pre_shared_keys['hcm-dc-fw1']: tunnel2: a VPN pre-shared key must be 8-64",
        ),
        ({"hcm-dc-fw1": PSK_FW1[0]}, "pre_shared_keys['hcm-dc-fw1']: must be a pair"),
        ([PSK_FW1], "pre_shared_keys: expected a mapping of customer gateway name"),
    ],
)
def test_a_bad_pre_shared_key_is_refused_without_showing_it(keys: Any, expected: str) -> None:
    message = problems_of(hybrid(), keys=keys)
    assert expected in message
    for value in ("0short", "has-a-dash-0123", *PSK_FW1):
        assert value not in message


def test_a_malformed_key_given_as_an_output_fails_the_deploy_without_showing_it() -> None:
    keys = {"hcm-dc-fw1": (pulumi.Output.from_input("0short"), PSK_FW1[1])}
    with pytest.raises(ValueError, match=r"pre_shared_keys\['hcm-dc-fw1'\] tunnel1: a VPN") as err:
        build(hybrid(), keys=keys)
    assert "0short" not in str(err.value)


def test_passing_the_securevpc_instead_of_its_ref_is_refused_with_every_other_problem() -> None:
    monitor = RecordingMonitor(PlatformMocks())
    errors: list[ComponentConfigError] = []

    def program() -> None:
        context = StackContext()
        vpc = SecureVpc("t", SecureVpcSettings(), context=context)
        try:
            HybridConnectivity(
                "hybrid",
                HybridConnectivitySettings.model_validate(hybrid(tunnelLogRetentionDays=90)),
                context=context,
                network=vpc,  # type: ignore[arg-type]
                alarm_topic_arn=TOPIC,
            )
        except ComponentConfigError as error:
            errors.append(error)

    run_offline(program, monitor=monitor)
    (error,) = errors
    assert "network: expected the SecureVpc's reference: pass network=vpc.ref" in str(error)
    assert "settings.tunnel_log_retention_days: prod keeps VPN tunnel logs" in str(error)
    assert monitor.registered, "the SecureVpc itself is registered"
    assert not [r for r in monitor.registered if r.type == HYBRID or r.name.startswith("hybrid")]


def test_every_problem_is_reported_at_once() -> None:
    message = problems_of(
        hybrid(
            tunnelLogRetentionDays=90,
            customerGateways={"fw": {**FW1, "bgpAsn": 64512}},
            routePropagationTiers=["integration"],
        ),
        keys={"fw9": PSK_FW1},
    )
    for key in (
        "settings.tunnel_log_retention_days",
        "settings.customer_gateways['fw'].bgp_asn",
        "settings.route_propagation_tiers",
        "pre_shared_keys['fw9']",
    ):
        assert f"  - {key}: " in message, key


def test_a_stack_file_sees_the_same_problem_under_its_camel_case_key() -> None:
    settings = HybridConnectivitySettings.model_validate(
        hybrid(customerGateways={"fw1": FW1, "fw2": {**FW1_TWIN, "publicIp": "1.52.10.10"}})
    )
    problems = check_gateways(settings)
    assert [
        config_line(p, HybridConnectivitySettings, "payments-platform:hybrid") for p in problems
    ] == [
        "payments-platform:hybrid.customerGateways.fw2.publicIp: 1.52.10.10 is already used "
        "by `customerGateways.fw1.publicIp`; each device has its own IP"
    ]


# --- The environment -------------------------------------------------------------------------


def test_nonprod_gets_vpn_only_and_90_days_of_logs_where_the_caller_is_silent(
    nonprod: Plan,
) -> None:
    assert not [r for r in nonprod if r.type.startswith("aws:directconnect/")]
    assert nonprod.named("hybrid-vpn-logs", LOG_GROUP).inputs["retentionInDays"] == 90


def test_in_nonprod_an_explicit_value_wins_over_the_nonprod_default() -> None:
    raw = hybrid(directConnect={"enabled": True}, tunnelLogRetentionDays=365)
    plan = build(raw, environment="nonprod")
    assert len(plan.of_type("aws:directconnect/gateway:Gateway")) == 1
    assert plan.named("hybrid-vpn-logs", LOG_GROUP).inputs["retentionInDays"] == 365


def test_a_nonprod_link_may_break_the_prod_rules() -> None:
    raw = hybrid(customerGateways={}, directConnect={"enabled": False}, tunnelLogRetentionDays=30)
    plan = build(raw, environment="nonprod")
    assert len(plan.of_type(HYBRID)) == 1


# --- Pre-shared keys from stack config ------------------------------------------------------


def config_keys(settings: HybridConnectivitySettings) -> dict[str, tuple[Any, Any]]:
    """What the stack loader does: the keys under the platform's namespace."""
    return preshared_keys_from_config(settings, config=pulumi.Config("payments-platform"))


def test_keys_from_secret_config_stay_secret() -> None:
    settings = HybridConnectivitySettings.model_validate(hybrid())

    def program() -> None:
        keys = config_keys(settings)
        for index, psk in enumerate(keys["hcm-dc-fw1"]):
            # a resource whose input the provider does not mark secret by itself
            aws.ec2.Tag(f"probe-{index}", resource_id="vpn-probe", key="psk", value=psk)

    value = {"hcm-dc-fw1": {"tunnel1": PSK_FW1[0], "tunnel2": PSK_FW1[1]}}
    plan = run_offline(
        program,
        config={"payments-platform:vpnPresharedKeys": value},
        secret_keys=["payments-platform:vpnPresharedKeys"],
    )
    probes = sorted(plan.of_type("aws:ec2/tag:Tag"), key=lambda p: p.name)  # async order
    assert [p.inputs["value"] for p in probes] == list(PSK_FW1)
    assert all("value" in p.secret_paths for p in probes)


@pytest.mark.parametrize(
    ("value", "secret", "problem"),
    [
        (
            {"hcm-dc-fw1": {"tunnel1": PSK_FW1[0], "tunnel2": PSK_FW1[1]}},
            False,
            "payments-platform:vpnPresharedKeys must be a secret",
        ),
        (
            {"fw9": {"tunnel1": PSK_FW1[0], "tunnel2": PSK_FW1[1]}},
            True,
            "payments-platform:vpnPresharedKeys.fw9: there is no customer gateway 'fw9'",
        ),
        (
            {"hcm-dc-fw1": {"tunnel1": PSK_FW1[0]}},
            True,
            "payments-platform:vpnPresharedKeys.hcm-dc-fw1 must have exactly tunnel1 and tunnel2",
        ),
        (
            {"hcm-dc-fw1": {"tunnel1": PSK_FW1[0], "tunnel2": "0" + PSK_FW1[0]}},
            True,
            "payments-platform:vpnPresharedKeys.hcm-dc-fw1: tunnel2: a VPN pre-shared key must",
        ),
    ],
)
def test_keys_in_config_are_checked(value: Any, secret: bool, problem: str) -> None:
    settings = HybridConnectivitySettings.model_validate(hybrid())
    key = "payments-platform:vpnPresharedKeys"
    with pytest.raises(ValueError) as err:
        run_offline(
            lambda: config_keys(settings),
            config={key: value},
            secret_keys=[key] if secret else [],
        )
    assert problem in str(err.value)
    assert PSK_FW1[0] not in str(err.value)
