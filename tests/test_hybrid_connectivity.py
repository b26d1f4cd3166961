"""HybridConnectivity: what the network team, the on-prem team and a PCI assessor rely on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pydantic import ValidationError

from components.core.settings import StackContext
from components.hybrid_connectivity import (
    HybridConnectivity,
    HybridConnectivitySettings,
    preshared_keys_from_config,
)
from components.secure_vpc import SecureVpc, SecureVpcSettings
from components.testing import Plan, Registered, run_offline

TOPIC = "arn:aws:sns:ap-southeast-1:111122223333:platform-alarms"
HYBRID = "payments:index:HybridConnectivity"
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
    errors: list[Exception] | None = None,
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
        try:
            component = HybridConnectivity(
                "hybrid",
                settings,
                context=context,
                network=vpc.ref,
                alarm_topic_arn=TOPIC,
                pre_shared_keys=keys,
            )
        except ValueError as exc:
            if errors is None:
                raise
            errors.append(exc)
            return
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
    raw = hybrid(customerGateways={"hcm-dc-fw2": FW2}, directConnect={"enabled": False})
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
    groups = [r for r in ours(prod) if r.type == "aws:cloudwatch/logGroup:LogGroup"]
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
    for vpn in vpns(prod):
        mine = [a for a in alarms if a.inputs["dimensions"] == {"VpnId": vpn.outputs["id"]}]
        stats = {a.inputs["statistic"]: a for a in mine}
        assert set(stats) == {"Minimum", "Maximum"}, vpn.name
        for alarm in mine:
            assert alarm.inputs["namespace"] == "AWS/VPN"
            assert alarm.inputs["metricName"] == "TunnelState"
            assert alarm.inputs["comparisonOperator"] == "LessThanThreshold"
            assert alarm.inputs["threshold"] == 1
            assert alarm.inputs["alarmActions"] == [TOPIC]
            assert alarm.inputs["okActions"] == [TOPIC]
        assert "WARNING" in stats["Minimum"].inputs["alarmDescription"]
        assert "CRITICAL" in stats["Maximum"].inputs["alarmDescription"]
    dx = [a for a in alarms if a.inputs["namespace"] == "AWS/DX"]
    assert [a.inputs["dimensions"] for a in dx] == [{"ConnectionId": "dxcon-fgab1234"}]
    assert dx[0].inputs["metricName"] == "ConnectionState"


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
    for r in ours(prod):
        if r.type in kinds:
            assert r.protect, r.name
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


# --- Validation: settings --------------------------------------------------------------------


def invalid(raw: Mapping[str, Any]) -> str:
    with pytest.raises(ValidationError) as err:
        HybridConnectivitySettings.model_validate(raw)
    return str(err.value)


@pytest.mark.parametrize(
    ("cidr", "problem"),
    [
        ("169.254.1.0/30", "reserved by AWS"),
        ("169.254.169.252/30", "reserved by AWS"),
        ("169.254.10.0/29", "must be a /30"),
        ("10.0.0.0/30", "inside 169.254.0.0/16"),
        ("169.254.10.1/30", "host bits zero"),
    ],
)
def test_tunnel_inside_cidr_is_validated(cidr: str, problem: str) -> None:
    message = invalid(hybrid(customerGateways={"fw": {**FW1, "tunnel2InsideCidr": cidr}}))
    assert "tunnel2InsideCidr" in message and problem in message


def test_tunnel_inside_cidrs_are_distinct_across_the_vgw() -> None:
    clash = {**FW2, "tunnel2InsideCidr": FW1["tunnel1InsideCidr"]}
    message = invalid(hybrid(customerGateways={"fw1": FW1, "fw2": clash}))
    assert "customerGateways.fw2.tunnel2InsideCidr" in message
    assert "customerGateways.fw1.tunnel1InsideCidr" in message


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (hybrid(amazonSideAsn=7224), "amazonSideAsn"),
        (hybrid(customerGateways={"fw": {**FW1, "bgpAsn": 3356}}), "bgpAsn"),
        (hybrid(customerGateways={"fw": {**FW1, "bgpAsn": 64512}}), "customerGateways.fw.bgpAsn"),
        (hybrid(directConnect={**DX, "amazonSideAsn": 65535}), "directConnect.amazonSideAsn"),
        (hybrid(directConnect={**DX, "customerBgpAsn": 64513}), "directConnect.customerBgpAsn"),
    ],
)
def test_asns_are_private_and_the_peers_differ(raw: dict[str, Any], key: str) -> None:
    assert key in invalid(raw)


def test_public_tier_propagation_is_rejected() -> None:
    message = invalid(hybrid(routePropagationTiers=["app", "public"]))
    assert "routePropagationTiers" in message and "public" in message


@pytest.mark.parametrize("ip", ["10.1.2.3", "100.64.0.1", "203.0.113.10", "not-an-ip"])
def test_customer_gateway_ip_must_be_public(ip: str) -> None:
    assert "publicIp" in invalid(hybrid(customerGateways={"fw": {**FW1, "publicIp": ip}}))


def test_customer_gateway_ips_are_distinct() -> None:
    twin = {**FW2, "publicIp": FW1["publicIp"]}
    assert "customerGateways.fw2.publicIp" in invalid(
        hybrid(customerGateways={"fw1": FW1, "fw2": twin})
    )


def test_dx_circuit_needs_a_vlan_and_a_real_connection_id() -> None:
    assert "directConnect.vlan" in invalid(hybrid(directConnect={"connectionId": "dxcon-ab12cd34"}))
    assert "directConnect.connectionId" in invalid(
        hybrid(directConnect={**DX, "connectionId": "dx-123"})
    )


def test_static_routing_needs_on_prem_networks() -> None:
    message = invalid(hybrid(onPremNetworks={}, customerGateways={"fw2": FW2}))
    assert "customerGateways.fw2.routing" in message and "onPremNetworks" in message


def test_defaults_are_the_prod_ones() -> None:
    settings = HybridConnectivitySettings()
    assert settings.direct_connect.enabled is True
    assert settings.route_propagation_tiers == ["app", "data"]
    assert settings.tunnel_log_retention_days == 365


# --- Validation: component inputs (nothing registered) ------------------------------------


def rejected(raw: Mapping[str, Any], keys: Mapping[str, tuple[Any, Any]] | None = None) -> str:
    errors: list[Exception] = []
    plan = build(raw, keys=keys, errors=errors)
    assert len(errors) == 1
    assert not plan.of_type(HYBRID), "the component registered before validating"
    assert not [r for r in plan if r.name.startswith("hybrid")]
    return str(errors[0])


def test_propagation_to_a_tier_the_network_lacks_is_rejected() -> None:
    assert "routePropagationTiers" in rejected(hybrid(routePropagationTiers=["integration"]))


def test_keys_for_an_unknown_gateway_are_rejected() -> None:
    assert "customerGateways.fw9" in rejected(hybrid(), keys={"fw9": PSK_FW1})


def test_a_malformed_plain_key_is_rejected_without_showing_it() -> None:
    bad = "0short"
    message = rejected(hybrid(), keys={"hcm-dc-fw1": (bad, PSK_FW1[1])})
    assert "hcm-dc-fw1" in message and "tunnel1" in message and bad not in message


# --- Pre-shared keys from stack config ------------------------------------------------------


def test_keys_from_secret_config_stay_secret() -> None:
    settings = HybridConnectivitySettings.model_validate(hybrid())

    def program() -> None:
        keys = preshared_keys_from_config(settings)
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
        ({"hcm-dc-fw1": {"tunnel1": PSK_FW1[0], "tunnel2": PSK_FW1[1]}}, False, "must be a secret"),
        ({"fw9": {"tunnel1": PSK_FW1[0], "tunnel2": PSK_FW1[1]}}, True, "customerGateways.fw9"),
        ({"hcm-dc-fw1": {"tunnel1": PSK_FW1[0]}}, True, "tunnel1 and tunnel2"),
    ],
)
def test_keys_in_config_are_checked(value: Any, secret: bool, problem: str) -> None:
    settings = HybridConnectivitySettings.model_validate(hybrid())
    key = "payments-platform:vpnPresharedKeys"
    with pytest.raises(ValueError, match=problem) as err:
        run_offline(
            lambda: preshared_keys_from_config(settings),
            config={key: value},
            secret_keys=[key] if secret else [],
        )
    assert PSK_FW1[0] not in str(err.value)
