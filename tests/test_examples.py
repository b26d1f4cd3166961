"""What another team gets: the example programs plan offline, their bad wiring is refused
with one line per problem, and the package stands apart from this platform's stack layer."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.plan import main, plan_stack
from components.testing import Plan

from conftest import parse_python

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def vpc_only() -> Plan:
    return plan_stack("dev", EXAMPLES / "vpc-only")


@pytest.fixture(scope="module")
def app_with_store() -> Plan:
    return plan_stack("dev", EXAMPLES / "app-with-store")


def test_every_example_has_a_project_a_stack_and_a_pinned_requirement() -> None:
    examples = sorted(p for p in EXAMPLES.iterdir() if p.is_dir())
    assert [p.name for p in examples] == ["app-with-store", "vpc-only"]
    for example in examples:
        assert (example / "Pulumi.yaml").is_file() and (example / "Pulumi.dev.yaml").is_file()
        assert "payments-platform>=0.2,<0.3" in (example / "requirements.txt").read_text()


def test_the_vpc_example_gets_the_nonprod_network_by_itself(vpc_only: Plan) -> None:
    subnets = vpc_only.of_type("aws:ec2/subnet:Subnet")
    assert {s.name for s in subnets} == {
        f"cards-{tier}-{az}" for tier in ("public", "app", "data") for az in "ab"
    }
    # no internet egress unless the program asks for NAT (VPC endpoints only)
    assert vpc_only.of_type("aws:ec2/natGateway:NatGateway") == []
    tags = vpc_only.named("cards", "aws:ec2/vpc:Vpc").inputs["tags"]
    assert tags["project"] == "cards-network" and tags["owner"] == "cards-team"


def test_the_app_reaches_its_store_through_every_layer(app_with_store: Plan) -> None:
    """Redis (6379) is open on the data tier's NACL from the app tier, in the app's egress
    and in the store's ingress from the app's security group: no silent wiring gap."""
    nacl = [
        r.inputs
        for r in app_with_store.of_type(NACL_RULE)
        if r.inputs["fromPort"] == 6379 and not r.inputs["egress"]
    ]
    assert nacl and all(n["cidrBlock"] == "10.40.32.0/19" for n in nacl)
    egress = [r for r in app_with_store.of_type(EGRESS) if r.inputs.get("fromPort") == 6379]
    assert [r.name for r in egress] == ["orders-instances-out-redis-data-tier"]
    app_sg = app_with_store.named("orders-instances", "aws:ec2/securityGroup:SecurityGroup")
    ingress = [r for r in app_with_store.of_type(INGRESS) if r.inputs.get("fromPort") == 6379]
    assert [r.inputs["referencedSecurityGroupId"] for r in ingress] == [app_sg.outputs["id"]]


def test_a_certificate_created_in_the_program_is_used_as_is(app_with_store: Plan) -> None:
    cert = app_with_store.named("orders", "aws:acm/certificate:Certificate")
    https = app_with_store.named("orders-https", "aws:lb/listener:Listener")
    assert https.inputs["certificateArn"] == cert.outputs["arn"]


def _project(tmp_path: Path, program: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: team\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: ap-southeast-1\n")
    (tmp_path / "__main__.py").write_text(program)
    return tmp_path


def test_a_wiring_gap_in_a_team_program_exits_2_naming_the_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: a Redis admitting the app over a network that does not admit 6379."""
    program = (EXAMPLES / "app-with-store" / "__main__.py").read_text()
    program = program.replace("    data_services=data.data_services(),\n", "", 1)
    shutil.copy(EXAMPLES / "app-with-store" / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    (tmp_path / "Pulumi.yaml").write_text("name: orders\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(program)
    assert main(["dev", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "HaAppTier('orders')" in err
    assert "data_services: the network's data-tier NACLs do not admit ['redis']" in err
    assert "Traceback" not in err


def test_bad_settings_in_a_team_program_exit_2_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(
        tmp_path,
        "from components import SecureVpc, SecureVpcSettings, StackContext\n"
        "SecureVpc('team', SecureVpcSettings(availability_zones=['a'], nat_gateways='Single'),\n"
        "          context=StackContext(environment='prod'))\n",
    )
    assert main(["dev", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: dev: SecureVpc('team'): invalid configuration"
    assert err[1].startswith("  - settings.egress_firewall.allowed_domains: is empty")
    assert err[2].startswith("  - settings.availability_zones: prod spans at least 2 AZs")
    assert err[3].startswith("  - settings.nat_gateways: prod uses OnePerAz")
    assert len(err) == 4


def test_a_bad_value_in_a_team_program_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(
        tmp_path,
        "from components import SecureVpcSettings\nSecureVpcSettings(vpc_cidr='10.0.0.0/8')\n",
    )
    assert main(["dev", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "SecureVpcSettings.vpc_cidr: 10.0.0.0/8: AWS allows VPC CIDRs from /16" in err
    assert "Traceback" not in err


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(parse_python(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_the_package_never_imports_the_platforms_stack_layer() -> None:
    files = sorted((ROOT / "components").rglob("*.py"))
    assert len(files) > 20
    for path in files:
        leaked = {m for m in _imports(path) if m.split(".")[0] in ("stacks", "__main__")}
        assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_importing_the_package_warns_nothing_and_loads_no_stack_layer() -> None:
    code = (
        "import sys, components, components.testing, components.plan\n"
        "assert 'stacks' not in sys.modules, 'the stack layer was imported'\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT / "examples",  # outside the project: only the installed package is importable
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_every_pulumi_aws_module_the_package_uses_is_loaded_quietly() -> None:
    """A pulumi-aws module first loaded while a program runs warns the program about the
    deprecated classes it defines (lambda_ about MicrovmsImage): the package loads each one it
    uses at import, under a filter. A module used but not in the list would leak again."""
    import components

    used = {
        node.value.attr  # aws.<module>.<name>
        for path in (ROOT / "components").rglob("*.py")
        for node in ast.walk(parse_python(path.read_text()))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "aws"
    }
    assert {"ec2", "lambda_", "networkfirewall"} <= used  # the scan finds what it should
    assert used - set(components.PULUMI_AWS_MODULES) == set()


def test_star_import_of_every_component_package_works() -> None:
    code = "\n".join(
        f"from components.{pkg} import *"
        for pkg in (
            "secure_vpc",
            "ha_app_tier",
            "managed_data_tier",
            "hybrid_connectivity",
            "landing_zone",
        )
    )
    exec(compile(code + "\nfrom components import *\n", "star", "exec"), {})
