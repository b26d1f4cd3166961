"""The Terraform-plan rendering of the real stacks, as checkov's terraform_plan framework
reads it: Terraform types, Terraform argument names, blocks as lists, references named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.compliance.tfplan import (
    TERRAFORM_TYPES,
    render_tfplan,
    snake,
    terraform_type,
    unmapped_types,
)
from components.plan import main
from components.testing import Plan

from conftest import ROOT, StackPlanner


@pytest.fixture(scope="module")
def prod_doc(stack_plan: StackPlanner) -> dict[str, Any]:
    return render_tfplan(stack_plan("prod"), stack="prod")


def resource(doc: dict[str, Any], address: str) -> dict[str, Any]:
    found = [
        r for r in doc["planned_values"]["root_module"]["resources"] if r["address"] == address
    ]
    assert len(found) == 1, address
    return found[0]


def config_of(doc: dict[str, Any], address: str) -> dict[str, Any]:
    found = [r for r in doc["configuration"]["root_module"]["resources"] if r["address"] == address]
    assert len(found) == 1, address
    return found[0]


@pytest.mark.parametrize("stack", ["prod", "nonprod", "management"])
def test_every_type_of_the_real_stacks_has_its_terraform_type(
    stack: str, stack_plan: StackPlanner
) -> None:
    """A new resource type needs its Terraform name looked up (pulumi-aws's
    provider/resources.go) and added to TERRAFORM_TYPES; a guessed name would let checkov skip
    the resource silently."""
    assert unmapped_types(stack_plan(stack)) == []


def test_the_token_table_matches_the_provider_where_names_differ() -> None:
    assert terraform_type("aws:ec2/vpc:Vpc") == "aws_vpc"
    assert terraform_type("aws:rds/instance:Instance") == "aws_db_instance"
    assert terraform_type("aws:lb/loadBalancer:LoadBalancer") == "aws_lb"
    assert terraform_type("aws:cloudtrail/trail:Trail") == "aws_cloudtrail"
    assert terraform_type("aws:cfg/recorder:Recorder") == "aws_config_configuration_recorder"
    assert terraform_type("aws:directconnect/gateway:Gateway") == "aws_dx_gateway"
    assert terraform_type("aws:s3/bucket:Bucket") == "aws_s3_bucket"  # v7: no more BucketV2
    assert len(set(TERRAFORM_TYPES.values())) == len(TERRAFORM_TYPES)
    # unknown tokens get the common aws_<module>_<name> form (and are listed as unmapped)
    assert terraform_type("aws:inspector2/filter:Filter") == "aws_inspector2_filter"


def test_it_is_a_create_plan_in_terraform_show_json_form(
    prod_doc: dict[str, Any], prod_plan: Plan
) -> None:
    assert prod_doc["format_version"] == "1.2" and prod_doc["terraform_version"]
    planned = prod_doc["planned_values"]["root_module"]["resources"]
    changes = prod_doc["resource_changes"]
    providers = prod_plan.of_type("pulumi:providers:aws")
    assert len(planned) == len(changes) == len([r for r in prod_plan if r.custom]) - len(providers)
    assert len({r["address"] for r in planned}) == len(planned)
    for r, c in zip(planned, changes, strict=True):
        assert r["address"] == c["address"] == f"{r['type']}.{r['name']}"
        assert r["mode"] == "managed" and c["change"]["actions"] == ["create"]
        assert c["change"]["after"] == r["values"] and c["change"]["before"] is None


def test_arguments_take_terraform_names_and_blocks_are_lists(prod_doc: dict[str, Any]) -> None:
    lb = resource(prod_doc, "aws_lb.loyalty-alb")["values"]
    assert lb["enable_deletion_protection"] is True and lb["drop_invalid_header_fields"] is True
    assert lb["access_logs"][0]["enabled"] is True  # a block of one: a list of one object
    assert lb["tags"]["data-classification"] == "cde"  # a map: keys kept as written
    listener = resource(prod_doc, "aws_lb_listener.loyalty-http")["values"]
    assert (
        listener["default_action"][0]["redirect"][0]["protocol"] == "HTTPS"
    )  # not default_actions
    lifecycle = resource(prod_doc, "aws_s3_bucket_lifecycle_configuration.prod-trail")["values"]
    assert lifecycle["rule"][0]["transition"][0]["storage_class"] == "GLACIER"
    assert lifecycle["rule"][0]["filter"] == [{}]
    vpn = resource(prod_doc, "aws_vpn_connection.prod-hcm-dc-fw1")["values"]
    assert "tunnel1_ike_versions" in vpn and "tunnel1_phase1_dh_group_numbers" in vpn
    alarm = next(
        r["values"]
        for r in prod_doc["planned_values"]["root_module"]["resources"]
        if r["type"] == "aws_cloudwatch_metric_alarm" and "metric_query" in r["values"]
    )
    assert alarm["metric_query"][0]["id"]
    db = resource(prod_doc, "aws_db_instance.prod-rds-loyalty")["values"]
    assert db["port"] == 5432 and isinstance(db["port"], int)  # whole numbers as integers
    asg = resource(prod_doc, "aws_autoscaling_group.loyalty-asg")
    assert {t["key"] for t in asg["values"]["tag"]} >= {"environment", "owner"}
    assert "vpc_zone_identifier" not in asg["values"]  # subnet ids: computed, so references


def test_snake_case_keeps_digits_with_their_word() -> None:
    assert snake("enableKeyRotation") == "enable_key_rotation"
    assert snake("tunnel1Phase2DhGroupNumbers") == "tunnel1_phase2_dh_group_numbers"
    assert snake("cidrIpv4") == "cidr_ipv4"


def test_references_to_computed_ids_are_unknown_and_named_in_the_configuration(
    prod_doc: dict[str, Any],
) -> None:
    """As Terraform plans `bucket = aws_s3_bucket.x.id`: unknown until apply, named in the
    configuration (checkov links resources through it)."""
    block = "aws_s3_bucket_public_access_block.prod-trail"
    assert "bucket" not in resource(prod_doc, block)["values"]
    change = next(c for c in prod_doc["resource_changes"] if c["address"] == block)
    assert change["change"]["after_unknown"]["bucket"] is True
    assert config_of(prod_doc, block)["expressions"]["bucket"]["references"] == [
        "aws_s3_bucket.prod-trail.id",
        "aws_s3_bucket.prod-trail",
    ]
    # a value the referenced resource was given is known at plan time, and still named
    db = resource(prod_doc, "aws_db_instance.prod-rds-loyalty")["values"]
    assert db["db_subnet_group_name"] == "prod-db"
    assert (
        config_of(prod_doc, "aws_db_instance.prod-rds-loyalty")["expressions"][
            "db_subnet_group_name"
        ]["references"][0]
        == "aws_db_subnet_group.prod-db.id"
    )
    # inside a block, and an ARN with the ':*' CloudTrail appends
    ingress = config_of(prod_doc, "aws_lb.loyalty-alb")["expressions"]["access_logs"][0]
    assert ingress["bucket"]["references"][0] == "aws_s3_bucket.loyalty-alb-logs.id"
    trail = config_of(prod_doc, "aws_cloudtrail.prod-trail")["expressions"]
    assert trail["cloud_watch_logs_group_arn"]["references"][0].startswith(
        "aws_cloudwatch_log_group.prod-trail."
    )


def test_secret_inputs_are_masked_and_marked_sensitive(
    prod_doc: dict[str, Any], prod_plan: Plan
) -> None:
    secret = [r for r in prod_plan if r.custom and r.secret_paths]
    assert secret
    text = json.dumps(prod_doc)
    for r in secret:
        for key in r.secret_paths:
            value = r.inputs[key]
            if isinstance(value, str) and len(value) > 6:
                assert value not in text
    broker = next(
        c
        for c in prod_doc["resource_changes"]
        if c["address"] == "aws_mq_broker.prod-rabbitmq-broker"
    )
    assert broker["change"]["after_sensitive"] == {"users": True}
    assert {u["password"] for u in broker["change"]["after"]["user"]} == {"[secret]"}


def test_addresses_map_back_to_pulumi_urns(prod_doc: dict[str, Any], prod_plan: Plan) -> None:
    back = prod_doc["pulumi"]["resources"]["aws_mq_broker.prod-rabbitmq-broker"]
    assert back == {
        "urn": prod_plan.named("prod-rabbitmq-broker").urn,
        "name": "prod-rabbitmq-broker",
        "type": "aws:mq/broker:Broker",
    }
    providers = prod_doc["configuration"]["provider_config"]
    assert providers["aws"]["expressions"]["region"]["constant_value"] == "ap-southeast-1"
    assert providers["aws.us_east_1"]["alias"] == "us_east_1"


def test_the_plan_tool_prints_the_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["management", "--format", "tfplan", "--project-dir", str(ROOT)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pulumi"]["stack"] == "management"
    assert any(r["type"] == "aws_organizations_policy" for r in doc["resource_changes"])
