"""The offline plan: what reviewers read before a stack exists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.plan import SECRET_PLACEHOLDER, main, plan_stack, read_stack_config

ROOT = Path(__file__).resolve().parents[1]


def test_tree_shows_components_resources_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nonprod", "--project-dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "+ nonprod (payments:index:SecureVpc," in out
    assert "- nonprod-data-a (Subnet) cidrBlock=10.20.64.0/22" in out
    assert "natGatewayId=<nonprod-nat-a>" in out  # references shown by name
    assert "resources to create:" in out


def test_json_lists_every_resource_with_parent_inputs_and_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["prod", "--json", "--project-dir", str(ROOT)]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_name = {(r["type"], r["name"]): r for r in doc["resources"]}
    key = by_name[("aws:kms/key:Key", "prod-flow-logs")]
    assert key["options"]["protect"] is True
    assert key["parent"].endswith("payments:index:SecureVpc::prod")
    assert by_name[("aws:ec2/vpc:Vpc", "prod")]["inputs"]["cidrBlock"] == "10.10.0.0/16"
    assert doc["outputs"]["vpcCidr"] == "10.10.0.0/16"


def test_invalid_config_exits_2_with_the_key_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    text = (ROOT / "Pulumi.prod.yaml").read_text().replace("10.10.0.0/16", "10.10.0.0/26")
    (tmp_path / "Pulumi.prod.yaml").write_text(text)
    assert main(["prod", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "payments-platform:network.vpcCidr" in err
    assert "Traceback" not in err


def test_unknown_stack_exits_2_listing_the_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staging", "--project-dir", str(ROOT)]) == 2
    assert "stacks here: nonprod, prod" in capsys.readouterr().err


def test_secure_values_are_placeholders_and_marked_secret(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  region: x\n  demo:token:\n    secure: AAABAFakeCipherText\n"
        "  demo:nested:\n    a: 1\n    b:\n      secure: AAAB\n"
    )
    project, config, secret_keys = read_stack_config(tmp_path, "dev")
    assert project == "demo"
    assert config["demo:region"] == "x"  # no namespace: the project's
    assert config["demo:token"] == SECRET_PLACEHOLDER
    assert json.loads(config["demo:nested"]) == {"a": 1, "b": SECRET_PLACEHOLDER}
    assert sorted(secret_keys) == ["demo:nested", "demo:token"]


def test_plan_is_deterministic() -> None:
    def canonical(stack: str) -> list[tuple[str, str, str]]:
        return sorted(
            (r.type, r.name, json.dumps(r.inputs, sort_keys=True, default=str))
            for r in plan_stack(stack, ROOT)
        )

    assert canonical("nonprod") == canonical("nonprod")
