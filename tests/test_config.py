"""Stack settings: bad config fails before anything is registered, naming the key and the fix."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.plan import PlanError, plan_stack, read_stack_config
from components.testing import PlatformMocks, RecordingMonitor
from stacks import ConfigError, settings_from_config
from stacks.loader import preflight
from stacks.schema import stack_config_schema

ROOT = Path(__file__).resolve().parents[1]


def prod_config() -> dict[str, Any]:
    _, config, _ = read_stack_config(ROOT, "prod")
    return {k: json.loads(v) if v[:1] in "{[" else v for k, v in config.items()}


NULL = object()  # with_change: set the key to an explicit null


def with_change(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the prod config with one key (`section.a.b`) set (None removes it, NULL
    sets it to null)."""
    config = copy.deepcopy(base or prod_config())
    section, *rest = path.split(".")
    key = section if ":" in section else f"payments-platform:{section}"
    if not rest:
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
        return config
    node = config.setdefault(key, {})
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(rest[-1], None)
    else:
        node[rest[-1]] = None if value is NULL else value
    return config


def problems_for(config: dict[str, Any]) -> str:
    """Every problem the stack layer finds: the stack-file model, then each component's own
    checks against the stack it will be part of (what load_stack runs)."""
    with pytest.raises(ConfigError) as error:
        settings = settings_from_config(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
        )
        preflight(settings, {})
    return str(error.value)


def test_both_real_stack_files_are_valid() -> None:
    for stack in ("prod", "nonprod"):
        _, config, _ = read_stack_config(ROOT, stack)
        settings = settings_from_config(config)
        assert settings.environment == stack


def test_nonprod_gets_cheaper_defaults_and_prod_the_secure_ones() -> None:
    _, nonprod_config, _ = read_stack_config(ROOT, "nonprod")
    nonprod = settings_from_config(nonprod_config).network
    assert (nonprod.availability_zones, nonprod.nat_gateways, nonprod.flow_log_retention_days) == (
        ["a", "b"],
        "None",
        90,
    )
    assert nonprod.egress_firewall.log_retention_days == 90
    bare_prod = settings_from_config(
        {
            "payments-platform:environment": "prod",
            "payments-platform:account": '{"id": "210987654321"}',
            "payments-platform:network": "{}",
            "payments-platform:landingZone": json.dumps(
                {
                    "notifications": {
                        "securitySubscriptions": {
                            "secops": {"protocol": "email", "endpoint": "secops@example.com"}
                        }
                    }
                }
            ),
        }
    ).network
    # no internet egress unless asked for (then through the egress firewall)
    assert (bare_prod.availability_zones, bare_prod.nat_gateways) == (["a", "b", "c"], "None")
    assert bare_prod.flow_log_retention_days == 365
    assert bare_prod.egress_firewall.enabled is True
    assert bare_prod.egress_firewall.log_retention_days == 365


def test_an_explicit_nonprod_value_wins_over_the_nonprod_default() -> None:
    config = {
        "payments-platform:environment": "nonprod",
        "payments-platform:network": json.dumps({"natGateways": "OnePerAz"}),
    }
    assert settings_from_config(config).network.nat_gateways == "OnePerAz"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("networkk", {}, "payments-platform:networkk: unknown key"),
        ("network.vpcCidrr", "10.0.0.0/16", "payments-platform:network.vpcCidrr: unknown key"),
        ("network.availabilityZones", "abc", "payments-platform:network.availabilityZones"),
        ("network.natGateways", 3, "payments-platform:network.natGateways"),
        ("network.vpcCidr", "10.10.0.0/33", "payments-platform:network.vpcCidr"),
        ("network.vpcCidr", "10.10.0.0/24", "too small for the subnet plan"),
        (
            "network.vpcCidr",
            "172.16.0.0/16",
            "payments-platform:network.vpcCidr: 172.16.0.0/16 overlaps the on-prem range hcm-dc-apps",
        ),
        ("network.vpcCidr", "10.20.0.0/16", "overlaps otherEnvironmentCidrs.nonprod"),
        (
            "network.availabilityZones",
            ["a"],
            "payments-platform:network.availabilityZones: prod spans at least 2 AZs",
        ),
        (
            "network.availabilityZones",
            ["a", "b", "d"],
            "payments-platform:network.availabilityZones: ap-southeast-1 has AZs a, b, c; d does not exist",
        ),
        (
            "network.natGateways",
            "Single",
            "payments-platform:network.natGateways: prod uses OnePerAz",
        ),
        (
            "network.flowLogRetentionDays",
            90,
            "payments-platform:network.flowLogRetentionDays: prod keeps flow logs",
        ),
        ("network.flowLogRetentionDays", 100, "is not a CloudWatch Logs retention"),
        ("environment", None, "payments-platform:environment: required"),
        ("environment", "staging", "payments-platform:environment"),
        ("hybrid.onPremNetworks.hcm-dc-db.naclSlot", 1, "already used by hcm-dc-apps"),
        ("hybrid.onPremNetworks.hcm-dc-db.cidr", "172.16.8.0/22", "overlaps hcm-dc-db"),
        ("hybrid.onPremNetworks.hcm-dc-db.cidr", "172.16.32.1/22", "host bits zero"),
        ("otherEnvironmentCidrs.nonprod", "10.20.0.0/33", "otherEnvironmentCidrs"),
        ("dataClassification", "secret", "payments-platform:dataClassification"),
        ("account.id", "12345", "payments-platform:account.id"),
        (
            "account.deployRoleArn",
            "arn:aws:iam::999999999999:role/x",
            "must be an IAM role ARN in account 210987654321",
        ),
        ("account", None, "payments-platform:account: prod names its AWS account"),
        # wiring between sections
        (
            "dataTier.rds.loyalty.clients",
            ["rewards"],
            "payments-platform:dataTier.rds.loyalty.clients: names unknown app(s) ['rewards']",
        ),
        (
            "dataTier.redis.clients",
            ["loyalty", "ghost"],
            "payments-platform:dataTier.redis.clients: names unknown app(s) ['ghost']",
        ),
        (
            "apps.loyalty.appPort",
            9090,
            "payments-platform:apps.loyalty.appPort: 9090 is outside the network's app ports 8080-8080",
        ),
        (
            "apps.mmf.certificateArn",
            "arn:aws:acm:us-east-1:210987654321:certificate/8e2c7f3a-1b4d-4e5f-8a9b-3c6d0e1f2a03",
            "payments-platform:apps.mmf.certificateArn: must be an ACM certificate in ap-southeast-1",
        ),
        (
            "dataTier.dms.sources.mmf-pg.onPremNetwork",
            "hanoi-dr",
            "payments-platform:dataTier.dms.sources.mmf-pg.onPremNetwork: unknown on-prem range 'hanoi-dr'",
        ),
        # prod rules
        (
            "apps.loyalty.minSize",
            1,
            "payments-platform:apps.loyalty.minSize: prod runs >= 2 instances per app",
        ),
        (
            "apps.loyalty.waf",
            {"enabled": False},
            "payments-platform:apps.loyalty.waf.enabled: internet-facing prod ALBs have AWS WAF",
        ),
        (
            "dataTier.rds.mmf.multiAz",
            False,
            "payments-platform:dataTier.rds.mmf.multiAz: prod databases are Multi-AZ",
        ),
        (
            "dataTier.rabbitmq.deploymentMode",
            "SINGLE_INSTANCE",
            "payments-platform:dataTier.rabbitmq.deploymentMode: prod RabbitMQ is CLUSTER_MULTI_AZ",
        ),
        (
            "dataTier.redis",
            {
                "clients": ["loyalty"],
                "replicasPerShard": 0,
                "automaticFailover": False,
                "multiAz": False,
            },
            "payments-platform:dataTier.redis.replicasPerShard: prod Redis has >= 1 replica",
        ),
        (
            "dataTier.opensearch.zoneAwareness",
            1,
            "payments-platform:dataTier.opensearch.zoneAwareness: prod OpenSearch spans >= 2 AZs",
        ),
        (
            "dataTier.documentdb.mmf.instanceCount",
            1,
            "payments-platform:dataTier.documentdb.mmf.instanceCount: prod clusters have >= 2 instances",
        ),
        (
            "hybrid.directConnect",
            {"enabled": False},
            "payments-platform:hybrid.directConnect.enabled: prod reaches on-prem over Direct Connect or two VPN connections",
        ),
        (
            "hybrid.tunnelLogRetentionDays",
            90,
            "payments-platform:hybrid.tunnelLogRetentionDays: prod keeps VPN tunnel logs >= 365 days",
        ),
        (
            "landingZone.securityHub.pciDssVersion",
            NULL,
            "payments-platform:landingZone.securityHub.pciDssVersion: prod subscribes the Security Hub PCI DSS standard",
        ),
        (
            "landingZone.organization",
            {"enabled": True},
            "payments-platform:landingZone.organization.enabled: a workload stack never manages the organization",
        ),
        (
            "stackRole",
            "management",
            "payments-platform:apps: a management stack builds only the LandingZone; move apps, dataTier, hybrid, network",
        ),
        ("stackRole", "sandbox", "payments-platform:stackRole"),
    ],
)
def test_bad_config_names_the_key(path: str, value: Any, expected: str) -> None:
    assert expected in problems_for(with_change(path, value))


def test_a_prod_rule_survives_removing_the_key_that_sets_it() -> None:
    """Dropping an explicit secure value falls back to the secure default, not a cheap one."""
    text = settings_from_config(
        {
            k: v if isinstance(v, str) else json.dumps(v)
            for k, v in with_change("dataTier.rabbitmq.deploymentMode", None).items()
        }
    )
    assert text.data_tier.rabbitmq is not None
    assert text.data_tier.rabbitmq.deployment_mode == "CLUSTER_MULTI_AZ"


def test_nonprod_defaults_never_create_a_store() -> None:
    _, config, _ = read_stack_config(ROOT, "nonprod")
    data = json.loads(config["payments-platform:dataTier"])
    data.pop("redis")
    config["payments-platform:dataTier"] = json.dumps(data)
    assert settings_from_config(config).data_tier.redis is None


def test_every_problem_is_reported_at_once() -> None:
    config = with_change(
        "network.natGateways", "Single", with_change("network.availabilityZones", ["a"])
    )
    text = problems_for(config)
    assert "network.availabilityZones" in text and "network.natGateways" in text


def test_bad_stack_config_registers_nothing() -> None:
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(PlanError, match=r"network\.vpcCidr"):
        plan_stack(
            "prod",
            ROOT,
            config_overrides={"network": {"vpcCidr": "172.16.0.0/16"}},
            monitor=monitor,
        )
    assert monitor.registered == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # component wiring, checked by load_stack's preflight against the planned network
        (
            {
                "dataTier": {
                    **prod_config()["payments-platform:dataTier"],
                    "documentdb": {"mmf": {"clients": ["mmf"], "instanceCount": 2}},
                    "opensearch": {
                        "clients": ["loyalty"],
                        "zoneAwareness": 3,
                        "instanceCount": 3,
                        "masterUserArn": "arn:aws:iam::210987654321:role/search",
                    },
                },
                "network": {
                    **prod_config()["payments-platform:network"],
                    "availabilityZones": ["a", "b"],
                },
            },
            "payments-platform:dataTier.opensearch.zoneAwareness",
        ),
        (
            {
                "hybrid": {
                    **prod_config()["payments-platform:hybrid"],
                    "routePropagationTiers": ["app", "public"],
                }
            },
            "payments-platform:hybrid.routePropagationTiers",
        ),
        # a VPN key in plain text
        (
            {
                "vpnPresharedKeys": {
                    "hcm-dc-fw1": {"tunnel1": "Abcdefgh12", "tunnel2": "Abcdefgh34"}
                }
            },
            "payments-platform:vpnPresharedKeys must be a secret",
        ),
    ],
)
def test_wiring_and_secret_problems_fail_the_stack_before_anything_is_registered(
    overrides: dict[str, Any], expected: str
) -> None:
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(PlanError) as error:
        plan_stack("prod", ROOT, config_overrides=overrides, monitor=monitor)
    assert expected in str(error.value)
    assert monitor.registered == []


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads((ROOT / "schema" / "stack-config.schema.json").read_text())
    assert committed == stack_config_schema(), (
        "schema drifted: run `python -m stacks.schema > schema/stack-config.schema.json`"
    )


def test_schema_rejects_unknown_keys_and_covers_every_stack_file_key() -> None:
    schema = stack_config_schema()
    config_schema = schema["properties"]["config"]
    assert config_schema["additionalProperties"] is False
    for stack in ("prod", "nonprod"):
        doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        for key in doc["config"]:
            assert key in config_schema["properties"] or not key.startswith("payments-platform:")


def test_vpn_keys_from_secure_config_reach_the_program_only_as_secrets() -> None:
    import pulumi

    from components.testing import run_offline
    from stacks import load_stack

    _, config, _ = read_stack_config(ROOT, "prod")
    key = "payments-platform:vpnPresharedKeys"
    config[key] = json.dumps({"hcm-dc-fw1": {"tunnel1": "Abcdefgh12", "tunnel2": "Abcdefgh34"}})

    def program() -> None:
        tunnel1, tunnel2 = load_stack().pre_shared_keys["hcm-dc-fw1"]
        pulumi.CustomResource("test:index:Sink", "sink", {"one": tunnel1, "two": tunnel2})

    (sink,) = run_offline(program, config=config, secret_keys=[key])
    assert sink.secret_paths == {"one", "two"}
    assert sink.inputs["one"] == "Abcdefgh12"


def test_readme_reference_matches_the_models() -> None:
    from stacks.reference import readme_section, render

    readme = (ROOT / "README.md").read_text()
    assert readme_section(readme) == render(), (
        "README's configuration reference drifted: run `python -m stacks.reference --write`"
    )
    for key in (
        "network.vpcCidr",
        "apps.<name>.minSize",
        "dataTier.rds.<name>.multiAz",
        "hybrid.customerGateways.<name>.tunnel1InsideCidr",
        "landingZone.trail.logRetentionDays",
    ):
        assert f"`{key}`" in readme, key
