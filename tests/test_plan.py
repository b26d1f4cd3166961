"""The offline plan: what reviewers read before a stack exists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.plan import (
    CONFIG_SECRET_STANDIN,
    SECRET_PLACEHOLDER,
    main,
    plan_stack,
    read_stack_config,
    render_json,
    render_tree,
)
from components.testing import Plan, run_offline

ROOT = Path(__file__).resolve().parents[1]


def test_the_cli_prints_the_tree_of_a_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["management", "--project-dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "+ management (payments:index:LandingZone," in out
    assert "+ management (payments:index:StackDashboard," in out
    assert "- management-ou-workloads (OrganizationalUnit)  [protected]" in out
    assert "resources to create:" in out


def test_tree_shows_components_resources_and_settings(nonprod_plan: Plan) -> None:
    out = render_tree(nonprod_plan)
    for component in ("SecureVpc", "LandingZone", "HybridConnectivity", "ManagedDataTier"):
        assert f"+ nonprod (payments:index:{component}," in out
    assert "+ loyalty (payments:index:HaAppTier," in out
    assert "- nonprod-data-a (Subnet) cidrBlock=10.20.64.0/22" in out
    assert "gatewayId=<nonprod-igw>" in out  # references shown by name
    assert "resources to create:" in out


def test_json_lists_every_resource_with_parent_inputs_and_options(prod_plan: Plan) -> None:
    doc = json.loads(render_json(prod_plan))
    by_name = {(r["type"], r["name"]): r for r in doc["resources"]}
    key = by_name[("aws:kms/key:Key", "prod-flow-logs")]
    assert key["options"]["protect"] is True
    assert key["parent"].endswith("payments:index:SecureVpc::prod")
    assert "pulumi:providers:aws::prod-aws::" in key["provider"]
    assert by_name[("aws:ec2/vpc:Vpc", "prod")]["inputs"]["cidrBlock"] == "10.10.0.0/16"
    assert doc["outputs"]["vpcCidr"] == "10.10.0.0/16"
    assert len(doc["resources"]) == len(prod_plan)


def test_json_hides_secret_inputs(prod_plan: Plan) -> None:
    doc = json.loads(render_json(prod_plan))
    secret = [r for r in doc["resources"] if r["secretInputs"]]
    assert secret, "the prod stack has secret inputs (generated passwords)"
    for r in secret:
        for key in r["secretInputs"]:
            assert r["inputs"][key] == SECRET_PLACEHOLDER, (r["name"], key)


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
    assert "stacks here: management, nonprod, prod" in capsys.readouterr().err


def test_secure_values_are_placeholders_and_marked_secret(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  region: x\n  demo:token:\n    secure: AAABAFakeCipherText\n"
        "  demo:nested:\n    a: 1\n    b:\n      secure: AAAB\n"
    )
    project, config, secret_keys = read_stack_config(tmp_path, "dev")
    assert project == "demo"
    assert config["demo:region"] == "x"  # no namespace: the project's
    assert config["demo:token"] == CONFIG_SECRET_STANDIN
    assert json.loads(config["demo:nested"]) == {"a": 1, "b": CONFIG_SECRET_STANDIN}
    assert sorted(secret_keys) == ["demo:nested", "demo:token"]


def test_the_benchmark_finds_the_class_of_every_resource_type_the_stacks_register(
    prod_plan: Plan, nonprod_plan: Plan
) -> None:
    """benchmarks/plan_bench.py re-registers each resource with its pulumi-aws class: a type
    it cannot map (aws:lambda is the module lambda_) would stop the benchmark."""
    from benchmarks.plan_bench import _resource_class

    types = {r.type for plan in (prod_plan, nonprod_plan) for r in plan if r.custom}
    assert "aws:lambda/function:Function" in types
    assert sorted(t for t in types if _resource_class(t) is None) == []


def test_the_benchmark_re_registers_a_stack_as_the_bare_baselines(prod_plan: Plan) -> None:
    """The baselines of benchmarks/plan_bench.py register every resource of a stack again
    (assets such as a Lambda function's code included): the benchmark must run to the end."""
    from benchmarks.plan_bench import typed_program

    again = run_offline(typed_program(prod_plan, with_dependencies=True))
    assert len(again) == len([r for r in prod_plan if r.custom]) > 600


def test_the_benchmarks_sweep_plans_a_stack_with_one_app() -> None:
    """The sweep over the number of apps drops what names a missing app (store clients, the
    rehost waves): a stack of one app plans."""
    from benchmarks.plan_bench import ROOT, apps_override

    one = plan_stack("prod", ROOT, config_overrides=apps_override(1))
    assert [r.name for r in one if r.type == "payments:index:HaAppTier"] == ["loyalty"]
