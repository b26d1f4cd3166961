"""The AWS Config conformance pack: AWS's PCI DSS rules for every service the stacks run,
within AWS Config's limits and the region's offer."""

from __future__ import annotations

import itertools
import json

import pytest

from components.landing_zone.conformance import (
    AWS_PCI_DSS_RULES,
    CONFORMANCE_PACK_MAX_RULES,
    CONFORMANCE_TEMPLATE_MAX_BYTES,
    NOT_DEPLOYED,
    PCI_CONFORMANCE_RULES,
    PLATFORM_RULES,
    PLATFORM_SERVICES,
    REGION_ONLY,
    ManagedRule,
    available,
    conformance_templates,
    pack_rules,
    render,
    split,
)
from components.testing import Plan

from conftest import StackPlanner

PACK = "aws:cfg/conformancePack:ConformancePack"

#: The services (as the pack's rules name them) a Pulumi module's resources belong to.
SERVICES_OF_MODULE: dict[str, set[str]] = {
    "accessanalyzer": {"account"},
    "acm": {"acm"},
    "autoscaling": {"autoscaling"},
    "budgets": set(),
    "cfg": {"account"},
    # AWS::MGN::* templates through Cloud Control (the migration's): AWS Config records no
    # MGN type and the PCI DSS pack has no MGN rule
    "cloudcontrol": set(),
    "cloudtrail": {"account"},
    "cloudwatch": {"cloudwatch", "logs"},
    "directconnect": set(),
    "dms": {"dms"},
    "docdb": {"docdb"},
    "ebs": {"ec2"},
    "ec2": {"ec2", "vpc"},
    "elasticache": {"elasticache"},
    "guardduty": {"account"},
    "iam": {"iam"},
    "inspector2": {"account"},
    "kms": {"kms"},
    "lambda": {"lambda"},
    "lb": {"elbv2"},
    "mq": {"mq"},
    "networkfirewall": {"networkfirewall"},
    "opensearch": {"opensearch"},
    "organizations": set(),
    "rds": {"rds"},
    "s3": {"s3"},
    "secretsmanager": {"secretsmanager"},
    "securityhub": {"account"},
    # AWS's rotation templates come from the Serverless Application Repository as a
    # CloudFormation stack
    "serverlessrepository": {"cloudformation"},
    "sns": {"sns"},
    "ssm": {"ssm"},
    "ssoadmin": set(),
    "vpc": {"vpc"},
    "wafv2": {"wafv2"},
}


@pytest.mark.parametrize("stack", ["prod", "nonprod", "management"])
def test_the_pack_covers_every_service_the_stack_runs(stack: str, stack_plan: StackPlanner) -> None:
    """AWS's PCI DSS rules of a service the stack runs are in the pack: a new service (a
    Lambda rotation function, a Network Firewall) fails here until its module is mapped and
    its service is one of PLATFORM_SERVICES."""
    modules = {
        r.type.split(":")[1].split("/")[0]
        for r in stack_plan(stack)
        if r.custom and r.type.startswith("aws:")
    }
    assert modules <= set(SERVICES_OF_MODULE), sorted(modules - set(SERVICES_OF_MODULE))
    used = set().union(*(SERVICES_OF_MODULE[m] for m in modules))
    assert used <= PLATFORM_SERVICES, sorted(used - PLATFORM_SERVICES)


def test_every_aws_pci_rule_of_a_platform_service_is_deployed_or_left_out_with_a_reason() -> None:
    deployed = {r.identifier for r in PCI_CONFORMANCE_RULES}
    for rule in AWS_PCI_DSS_RULES:
        if rule.service in PLATFORM_SERVICES and rule.identifier not in NOT_DEPLOYED:
            assert rule.identifier in deployed, rule.identifier
        elif rule.service not in PLATFORM_SERVICES:
            assert rule.identifier not in deployed, rule.identifier
    assert all(len(reason) > 40 for reason in NOT_DEPLOYED.values())
    assert {r.identifier for r in PLATFORM_RULES} <= deployed
    # both of AWS's samples: the 4.0 pack runs "in parallel with" the 3.2.1 one
    assert {r.source for r in PCI_CONFORMANCE_RULES} == {"pci-dss-4.0", "pci-dss-3.2.1", "platform"}


def test_rules_a_stack_would_fail_are_in_the_pack_not_left_out() -> None:
    """The old pack left these out; each is a finding the stacks have today (see
    compliance/waivers.yaml) or a control a reviewer asks for."""
    deployed = {r.identifier for r in PCI_CONFORMANCE_RULES}
    assert {
        "NACL_NO_UNRESTRICTED_SSH_RDP",
        "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
        "WAFV2_LOGGING_ENABLED",
        "S3_BUCKET_LOGGING_ENABLED",
        "MQ_CLOUDWATCH_AUDIT_LOGGING_ENABLED",
        "CLOUDTRAIL_S3_DATAEVENTS_ENABLED",
        "CW_LOGGROUP_RETENTION_PERIOD_CHECK",
        "VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS",
        "MACIE_STATUS_CHECK",
    } <= deployed


def test_each_pack_fits_aws_configs_limits_and_names_its_rules_once() -> None:
    for rules in conformance_templates():
        assert 0 < len(rules) <= CONFORMANCE_PACK_MAX_RULES
        assert len(render(rules).encode()) <= CONFORMANCE_TEMPLATE_MAX_BYTES
    names = [r.name for r in PCI_CONFORMANCE_RULES]
    assert len(names) == len(set(names))


def test_more_rules_than_a_pack_holds_are_split_into_packs_in_order() -> None:
    many = [ManagedRule(f"RULE_{i}", f"rule-{i}", "s3") for i in range(300)]
    packs = split(many)
    assert [len(p) for p in packs] == [130, 130, 40]
    assert [r for p in packs for r in p] == many
    wide = [
        ManagedRule(f"RULE_{i}", f"rule-{i}", "s3", parameters={"p": "x" * 2000}) for i in range(60)
    ]
    assert all(len(render(p).encode()) <= CONFORMANCE_TEMPLATE_MAX_BYTES for p in split(wide))
    assert len(split(wide)) > 1
    # each pack is as full as it can be: the next pack's first rule would not have fitted
    packs = split(wide)
    for full, following in itertools.pairwise(packs):
        assert len(render([*full, following[0]]).encode()) > CONFORMANCE_TEMPLATE_MAX_BYTES


def test_a_rule_aws_offers_only_in_us_east_1_is_left_out_elsewhere() -> None:
    identifier = "CLOUDFRONT_VIEWER_POLICY_HTTPS"
    assert REGION_ONLY[identifier] == {"us-east-1"}
    rule = next(r for r in AWS_PCI_DSS_RULES if r.identifier == identifier)
    assert available([rule], "ap-southeast-1") == []
    assert available([rule], "us-east-1") == [rule]
    with_extra = pack_rules(extra=[identifier])
    assert identifier in {r.identifier for r in with_extra}
    assert identifier not in json.dumps(render(available(with_extra, "ap-southeast-1")))


def test_parameters_meet_pci_dss_4_where_the_samples_predate_it() -> None:
    by_id = {r.identifier: r for r in PCI_CONFORMANCE_RULES}
    password = by_id["IAM_PASSWORD_POLICY"].parameters
    assert int(password["MinimumPasswordLength"]) >= 12  # 8.3.6
    assert int(password["PasswordReusePrevention"]) >= 4  # 8.3.7
    assert int(password["MaxPasswordAge"]) <= 90  # 8.3.9
    assert by_id["VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS"].parameters == {"authorizedTcpPorts": "443"}


def test_extra_and_excluded_rules_of_the_settings_apply() -> None:
    rules = pack_rules(extra=["RDS_MULTI_AZ_SUPPORT"], excluded=["MACIE_STATUS_CHECK"])
    ids = {r.identifier for r in rules}
    assert "RDS_MULTI_AZ_SUPPORT" in ids and "MACIE_STATUS_CHECK" not in ids


def test_the_stacks_deploy_the_rendered_pack_once_each(prod_plan: Plan, nonprod_plan: Plan) -> None:
    for plan, name in ((prod_plan, "prod-pci-dss"), (nonprod_plan, "nonprod-pci-dss")):
        packs = plan.every(PACK)
        assert [p.inputs["name"] for p in packs] == [name]
        body = packs[0].inputs["templateBody"]
        assert body == render(available(conformance_templates()[0], "ap-southeast-1"))
        resources = json.loads(body)["Resources"]
        assert len(resources) == len(PCI_CONFORMANCE_RULES)
        scoped = resources["RdsStorageEncrypted"]["Properties"]
        assert scoped["Scope"] == {"ComplianceResourceTypes": ["AWS::RDS::DBInstance"]}
        assert scoped["Source"] == {"Owner": "AWS", "SourceIdentifier": "RDS_STORAGE_ENCRYPTED"}
