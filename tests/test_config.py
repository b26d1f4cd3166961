"""Stack settings: bad config fails before anything is registered, naming the key and the fix."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import ConfigError, settings_from_config
from components.plan import PlanError, plan_stack, read_stack_config
from components.schema import stack_config_schema
from components.testing import PlatformMocks, RecordingMonitor

ROOT = Path(__file__).resolve().parents[1]


def prod_config() -> dict[str, Any]:
    _, config, _ = read_stack_config(ROOT, "prod")
    return {k: json.loads(v) if v[:1] in "{[" else v for k, v in config.items()}


def with_change(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the prod config with one key (`section.a.b`) set (None removes it)."""
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
        node[rest[-1]] = value
    return config


def problems_for(config: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        settings_from_config(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
        )
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
        "Single",
        90,
    )
    bare_prod = settings_from_config(
        {
            "payments-platform:environment": "prod",
            "payments-platform:account": '{"id": "210987654321"}',
            "payments-platform:network": "{}",
        }
    ).network
    assert (bare_prod.availability_zones, bare_prod.nat_gateways) == (["a", "b", "c"], "OnePerAz")
    assert bare_prod.flow_log_retention_days == 365


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
            "network.vpcCidr 172.16.0.0/16 overlaps hybrid.onPremNetworks.hcm-dc-apps",
        ),
        ("network.vpcCidr", "10.20.0.0/16", "overlaps otherEnvironmentCidrs.nonprod"),
        (
            "network.availabilityZones",
            ["a"],
            "network.availabilityZones: prod spans at least 2 AZs",
        ),
        (
            "network.availabilityZones",
            ["a", "b", "d"],
            "ap-southeast-1 has AZs a, b, c; d does not exist",
        ),
        ("network.natGateways", "Single", "network.natGateways: prod uses OnePerAz"),
        ("network.flowLogRetentionDays", 90, "network.flowLogRetentionDays: prod keeps flow logs"),
        ("network.flowLogRetentionDays", 100, "is not a CloudWatch Logs retention"),
        ("environment", None, "payments-platform:environment: required"),
        ("environment", "staging", "payments-platform:environment"),
        ("hybrid.onPremNetworks.hcm-dc-db.naclSlot", 1, "already used by hcm-dc-apps"),
        ("hybrid.onPremNetworks.hcm-dc-db.cidr", "172.16.8.0/22", "overlaps hcm-dc-db"),
        ("hybrid.onPremNetworks.hcm-dc-db.cidr", "172.16.32.1/22", "host bits zero"),
        ("otherEnvironmentCidrs.nonprod", "10.20.0.0/33", "otherEnvironmentCidrs"),
        ("dataClassification", "secret", "payments-platform:dataClassification"),
        ("account.id", "12345", "payments-platform:account.id"),
        ("account.deployRoleArn", "arn:aws:iam::999999999999:role/x", "must be an IAM role ARN in account 210987654321"),
        ("account", None, "payments-platform:account: prod names its AWS account"),
    ],
)
def test_bad_config_names_the_key(path: str, value: Any, expected: str) -> None:
    assert expected in problems_for(with_change(path, value))


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


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads((ROOT / "schema" / "stack-config.schema.json").read_text())
    assert committed == stack_config_schema(), (
        "schema drifted: run `python -m components.schema > schema/stack-config.schema.json`"
    )


def test_schema_rejects_unknown_keys_and_covers_every_stack_file_key() -> None:
    schema = stack_config_schema()
    config_schema = schema["properties"]["config"]
    assert config_schema["additionalProperties"] is False
    for stack in ("prod", "nonprod"):
        doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        for key in doc["config"]:
            assert key in config_schema["properties"] or not key.startswith("payments-platform:")
