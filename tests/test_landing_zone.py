"""LandingZone: the audit trail, detection, guardrails and access model an assessor reviews."""

from __future__ import annotations

import copy
import functools
import json
import typing
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pydantic import BaseModel, ValidationError

import components.plan as offline_plan
from components import ComponentConfigError
from components.core.problems import config_line
from components.core.settings import StackContext
from components.iam_check import Request, decide
from components.landing_zone import PROD_RULES, LandingZone, LandingZoneSettings, check
from components.landing_zone.baseline import CONFORMANCE_TEMPLATE_MAX_BYTES
from components.landing_zone.checks import check_global_events_route
from components.landing_zone.organization import (
    GLOBAL_EVENT_RULE_ACTIONS,
    GLOBAL_SERVICE_ACTIONS,
    SCP_MAX_CHARS,
    SCP_MAX_PER_TARGET,
    render_scp,
    service_control_policies,
)
from components.landing_zone.settings import ServiceControlPolicySettings
from components.testing import Plan, PlatformMocks, RecordingMonitor, Registered, run_offline
from tests.fidelity import role_allows, role_of

BUCKET = "aws:s3/bucket:Bucket"
PROVIDER = "pulumi:providers:aws"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
STANDARD = "aws:securityhub/standardsSubscription:StandardsSubscription"
PCI_DSS = "arn:aws:securityhub:ap-southeast-1::standards/pci-dss/v/4.0.1"

ROOT = Path(__file__).resolve().parents[1]

#: What every prod LandingZone needs: someone who hears about security findings.
SECOPS = {"secops": {"protocol": "email", "endpoint": "secops@example.com"}}

#: A management account's landing zone, in the settings' Python names.
MANAGEMENT: dict[str, Any] = {
    "organization": {
        "enabled": True,
        "organizational_units": {
            "infrastructure": {"name": "Infrastructure", "environment": "shared"},
            "workloads": {"name": "Workloads", "environment": "shared"},
            "workloads-prod": {"name": "Prod", "parent": "workloads", "environment": "prod"},
            "workloads-nonprod": {
                "name": "NonProd",
                "parent": "workloads",
                "environment": "nonprod",
            },
        },
        "accounts": {
            "log-archive": {"name": "Log Archive", "email": "aws-log-archive@example.com"},
            "audit": {"name": "Audit", "email": "aws-audit@example.com"},
            "prod": {
                "name": "Payments Prod",
                "email": "aws-prod@example.com",
                "ou": "workloads-prod",
            },
            "nonprod": {
                "name": "Payments NonProd",
                "email": "aws-nonprod@example.com",
                "ou": "workloads-nonprod",
            },
        },
        # Control Tower's own organization trail logs into the log archive here
        "log_archive": {"enabled": False},
        "control_tower": {
            "enabled": True,
            "governed_regions": ["ap-southeast-1"],
            "controls": {
                "deny-public-rds": {
                    "control_identifier": "arn:aws:controlcatalog:::control/abc123def456",
                    "ou": "workloads-prod",
                }
            },
        },
        "identity_center": {
            "assignments": {
                "developers-prod": {
                    "group_name": "Developers",
                    "account": "prod",
                    "role": "Developer",
                },
                "developers-nonprod": {
                    "group_name": "Developers",
                    "account": "nonprod",
                    "role": "Developer",
                },
                "auditors-prod": {
                    "group_id": "0a1b2c3d4e-12345678-1234-1234-1234-123456789012",
                    "account": "prod",
                    "role": "Auditor",
                },
            }
        },
    },
    "notifications": {
        "alarm_subscriptions": {"on-call": {"protocol": "email", "endpoint": "oncall@example.com"}},
        "security_subscriptions": {
            "secops": {"protocol": "https", "endpoint": "https://siem.example.com/hook"}
        },
    },
    "budget": {"monthly_limit_usd": 12000, "emails": ["finops@example.com"]},
}

#: A workload account's landing zone: the defaults, plus the security subscriber prod needs.
WORKLOAD: dict[str, Any] = {"notifications": {"security_subscriptions": SECOPS}}


def member_provider(key: str, account_id: pulumi.Output[str], role: str) -> aws.Provider:
    """What a management program passes as member_account_provider: a provider of the member
    account that assumes ``role`` there and refuses any other account."""
    return aws.Provider(
        f"member-{key}",
        region="ap-southeast-1",
        allowed_account_ids=[account_id],  # type: ignore[list-item]
        assume_roles=[
            aws.ProviderAssumeRoleArgs(
                role_arn=account_id.apply(lambda a: f"arn:aws:iam::{a}:role/{role}")
            )
        ],
    )


def _run(
    data: dict[str, Any], environment: str = "prod", mocks: PlatformMocks | None = None
) -> tuple[Plan, dict[str, Any]]:
    settings = LandingZoneSettings.model_validate(data)

    def program() -> None:
        context = StackContext(environment=environment)  # type: ignore[arg-type]
        us_east_1 = aws.Provider("us-east-1", region="us-east-1")
        lz = LandingZone(
            environment,
            settings,
            context=context,
            us_east_1_provider=us_east_1,
            member_account_provider=member_provider,
        )
        pulumi.export("alarmTopicArn", lz.alarm_topic_arn)
        pulumi.export("securityTopicArn", lz.security_topic_arn)
        pulumi.export("trailArn", lz.trail_arn)
        pulumi.export("permissionSetArns", lz.permission_set_arns)
        pulumi.export("accountIds", lz.account_ids)

    plan = run_offline(program, mocks=mocks)
    return plan, plan.stack_outputs


@pytest.fixture(scope="module")
def management() -> tuple[Plan, dict[str, Any]]:
    return _run(MANAGEMENT)


@pytest.fixture(scope="module")
def workload() -> Plan:
    return _run(WORKLOAD)[0]


@pytest.fixture(scope="module")
def nonprod() -> Plan:
    """A nonprod account enrolled in Control Tower, otherwise silent: the nonprod defaults."""
    return _run({"aws_config": {"manage_recorder": False}}, environment="nonprod")[0]


def one(plan: Plan, type_: str) -> Registered:
    found = plan.of_type(type_)
    assert len(found) == 1, f"{len(found)} of {type_}"
    return found[0]


def doc(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def statements(policy: Any) -> list[dict[str, Any]]:
    return list(doc(policy)["Statement"])


# --- audit trail ------------------------------------------------------------------------------


def test_the_trail_is_multi_region_validated_and_kms_encrypted(workload: Plan) -> None:
    trail = one(workload, "aws:cloudtrail/trail:Trail").inputs
    key = workload.named("prod-logs")
    assert trail["isMultiRegionTrail"] is True
    assert trail["includeGlobalServiceEvents"] is True
    assert trail["enableLogFileValidation"] is True
    assert trail["enableLogging"] is True
    assert trail["kmsKeyId"] == key.outputs["arn"]
    group = workload.named("prod-trail", LOG_GROUP)
    assert trail["cloudWatchLogsGroupArn"] == f"{group.outputs['arn']}:*"
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True


def test_the_logs_key_lets_cloudtrail_encrypt_only_for_this_trail(workload: Plan) -> None:
    trail = one(workload, "aws:cloudtrail/trail:Trail")
    by_sid = {s["Sid"]: s for s in statements(workload.named("prod-logs").inputs["policy"])}
    encrypt = by_sid["CloudTrailEncryptsLogs"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Condition"]["StringEquals"]["aws:SourceArn"] == trail.outputs["arn"]
    assert encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == (
        "arn:aws:cloudtrail:*:111122223333:trail/*"
    )
    logs = by_sid["LogsEncryptLogGroups"]
    assert logs["Principal"] == {"Service": "logs.ap-southeast-1.amazonaws.com"}


def test_the_trail_bucket_denies_non_tls_requests_and_blocks_public_access(workload: Plan) -> None:
    bucket = workload.named("prod-trail", BUCKET)
    assert bucket.type == "aws:s3/bucket:Bucket"
    bucket_id = bucket.outputs["id"]
    pab = [
        r
        for r in workload.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if r.inputs["bucket"] == bucket_id
    ]
    assert len(pab) == 1
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert pab[0].inputs[flag] is True
    policy = next(
        r
        for r in workload.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if r.inputs["bucket"] == bucket_id
    )
    deny_tls = [
        s
        for s in statements(policy.inputs["policy"])
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert deny_tls and deny_tls[0]["Action"] == "s3:*" and deny_tls[0]["Principal"] == "*"
    assert bucket.outputs["arn"] in deny_tls[0]["Resource"]
    account_block = one(workload, "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock").inputs
    assert all(
        account_block[f] is True
        for f in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )


def test_the_trail_bucket_is_private_versioned_and_encrypted_with_the_logs_key(
    workload: Plan,
) -> None:
    bucket_id = workload.named("prod-trail", BUCKET).outputs["id"]

    def for_bucket(type_: str) -> dict[str, Any]:
        return next(r.inputs for r in workload.of_type(type_) if r.inputs["bucket"] == bucket_id)

    assert for_bucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls")["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    assert (
        for_bucket("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"]
        == "Enabled"
    )
    sse = for_bucket(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    default = sse["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": workload.named("prod-logs").outputs["arn"],
    }
    logging = for_bucket("aws:s3/bucketLogging:BucketLogging")
    assert logging["targetBucket"] == workload.named("prod-access-logs", BUCKET).outputs["id"]
    lifecycle = for_bucket("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[
        "rules"
    ][0]
    assert lifecycle["expiration"]["days"] >= 365
    assert lifecycle["transitions"][0]["days"] >= 90


def test_cloudtrail_may_write_to_the_bucket_only_for_this_trail(workload: Plan) -> None:
    trail_arn = one(workload, "aws:cloudtrail/trail:Trail").outputs["arn"]
    bucket_id = workload.named("prod-trail", BUCKET).outputs["id"]
    policy = next(
        r
        for r in workload.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if r.inputs["bucket"] == bucket_id
    )
    allows = [s for s in statements(policy.inputs["policy"]) if s["Effect"] == "Allow"]
    trail_allows = [s for s in allows if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}]
    assert {s["Action"] for s in trail_allows} == {"s3:GetBucketAcl", "s3:PutObject"}
    for s in trail_allows:
        assert s["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert all("Principal" in s and s["Principal"] != "*" for s in allows)


def test_prod_trail_log_retention_is_at_least_365_days_and_audit_data_is_protected(
    workload: Plan,
) -> None:
    group = workload.named("prod-trail", LOG_GROUP)
    assert group.inputs["retentionInDays"] >= 365
    for name in ("prod-trail", "prod-access-logs"):
        assert workload.named(name, BUCKET).protect, name
    assert workload.named("prod-logs").protect
    assert group.protect
    assert workload.named("prod-trail", BUCKET).inputs["forceDestroy"] is False


def test_nonprod_audit_data_is_not_protected_from_teardown(nonprod: Plan) -> None:
    assert not nonprod.named("nonprod-trail", BUCKET).protect
    assert nonprod.named("nonprod-trail", LOG_GROUP).inputs["retentionInDays"] == 90


# --- detection --------------------------------------------------------------------------------


def test_security_hub_subscribes_the_pci_dss_standard(workload: Plan) -> None:
    arns = {
        r.inputs["standardsArn"]
        for r in workload.of_type("aws:securityhub/standardsSubscription:StandardsSubscription")
    }
    assert "arn:aws:securityhub:ap-southeast-1::standards/pci-dss/v/4.0.1" in arns
    assert (
        "arn:aws:securityhub:ap-southeast-1::standards/aws-foundational-security-best-practices/v/1.0.0"
        in arns
    )
    hub = one(workload, "aws:securityhub/account:Account")
    for sub in workload.every("aws:securityhub/standardsSubscription:StandardsSubscription"):
        assert hub.urn in sub.dependencies


def test_guardduty_protects_s3_and_scans_ebs_for_malware(workload: Plan) -> None:
    detector = one(workload, "aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    features = {
        r.inputs["name"]: r.inputs
        for r in workload.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    assert {"S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"} <= set(features)
    assert all(
        f["status"] == "ENABLED" and f["detectorId"] == detector.outputs["id"]
        for f in features.values()
    )


def test_config_records_everything_and_runs_the_pci_conformance_pack(workload: Plan) -> None:
    recorder = one(workload, "aws:cfg/recorder:Recorder").inputs
    assert recorder["recordingGroup"]["allSupported"] is True
    status = one(workload, "aws:cfg/recorderStatus:RecorderStatus").inputs
    assert status["isEnabled"] is True and status["name"] == recorder["name"]
    channel = one(workload, "aws:cfg/deliveryChannel:DeliveryChannel").inputs
    assert channel["s3BucketName"] == workload.named("prod-trail", BUCKET).outputs["id"]
    assert channel["s3KmsKeyArn"] == workload.named("prod-logs").outputs["arn"]
    pack = one(workload, "aws:cfg/conformancePack:ConformancePack").inputs
    body = json.loads(pack["templateBody"])
    identifiers = {
        r["Properties"]["Source"]["SourceIdentifier"] for r in body["Resources"].values()
    }
    assert {
        "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "RDS_STORAGE_ENCRYPTED",
        "EC2_IMDSV2_CHECK",
        "IAM_PASSWORD_POLICY",
    } <= identifiers
    assert len(pack["templateBody"].encode()) <= CONFORMANCE_TEMPLATE_MAX_BYTES


def test_config_delivers_as_its_own_role_which_may_write_its_prefix_and_use_the_key(
    workload: Plan,
) -> None:
    """AWS Config delivers to a bucket of its own account as the recorder's role, whose
    AWS_ConfigRole policy cannot write to S3 or use a key: the role's own policy grants the
    bucket check, the writes under config/AWSLogs/<account>/Config/ with the
    bucket-owner-full-control ACL, and the logs key through S3; nothing more. No
    service-linked role is created (one per account: it may exist already)."""
    recorder = one(workload, "aws:cfg/recorder:Recorder")
    role = role_of(workload, recorder.inputs["roleArn"])
    bucket = workload.named("prod-trail", BUCKET).outputs["arn"]
    key = workload.named("prod-logs").outputs["arn"]
    config_object = f"{bucket}/config/AWSLogs/111122223333/Config/ConfigWritabilityCheckFile"
    acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
    via_s3 = {"kms:ViaService": "s3.ap-southeast-1.amazonaws.com"}
    assert role_allows(workload, role, Request("s3:GetBucketAcl", bucket))
    assert role_allows(workload, role, Request("s3:ListBucket", bucket))
    assert role_allows(workload, role, Request("s3:PutObject", config_object, context=acl))
    assert role_allows(workload, role, Request("kms:GenerateDataKey", key, context=via_s3))
    # and nothing more: another ACL, another prefix, the key outside S3
    assert not role_allows(workload, role, Request("s3:PutObject", config_object))
    trail_object = f"{bucket}/cloudtrail/AWSLogs/111122223333/CloudTrail/x.json.gz"
    assert not role_allows(workload, role, Request("s3:PutObject", trail_object, context=acl))
    assert not role_allows(workload, role, Request("s3:DeleteObject", config_object))
    assert not role_allows(workload, role, Request("kms:GenerateDataKey", key))
    assert not workload.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    # PutDeliveryChannel writes its test object at once: the policy exists before
    channel = one(workload, "aws:cfg/deliveryChannel:DeliveryChannel")
    policy = workload.named("prod-config-delivery", "aws:iam/rolePolicy:RolePolicy")
    assert policy.urn in channel.dependencies


def test_the_conformance_pack_starts_after_the_recorder(workload: Plan) -> None:
    pack = one(workload, "aws:cfg/conformancePack:ConformancePack")
    assert one(workload, "aws:cfg/recorderStatus:RecorderStatus").urn in pack.dependencies


def test_a_control_tower_account_keeps_its_recorder_but_still_runs_the_pack(nonprod: Plan) -> None:
    assert not nonprod.of_type("aws:cfg/recorder:Recorder")
    assert not nonprod.of_type("aws:cfg/deliveryChannel:DeliveryChannel")
    assert len(nonprod.of_type("aws:cfg/conformancePack:ConformancePack")) == 1


def test_high_severity_findings_reach_the_encrypted_security_topic(workload: Plan) -> None:
    topic = workload.named("prod-security", TOPIC)
    assert topic.inputs["kmsMasterKeyId"] == workload.named("prod-notifications").outputs["arn"]
    rules = {
        r.name: r for r in workload.of_type("aws:cloudwatch/eventRule:EventRule") if not r.provider
    }
    assert set(rules) == {
        "prod-guardduty",
        "prod-securityhub",
        "prod-root-activity",
        "prod-inspector",
        "prod-access-analyzer",
        "prod-tampering",
    }
    guardduty = json.loads(rules["prod-guardduty"].inputs["eventPattern"])
    assert guardduty["detail"]["severity"] == [{"numeric": [">=", 7]}]
    hub = json.loads(rules["prod-securityhub"].inputs["eventPattern"])
    assert set(hub["detail"]["findings"]["Severity"]["Label"]) == {"CRITICAL", "HIGH"}
    assert hub["detail"]["findings"]["Workflow"]["Status"] == ["NEW"]
    targets = {
        t.inputs["rule"]: t.inputs["arn"]
        for t in workload.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if not t.provider
    }
    assert set(targets) == {r.outputs["name"] for r in rules.values()}
    assert set(targets.values()) == {topic.outputs["arn"]}
    policy = next(
        r
        for r in workload.of_type("aws:sns/topicPolicy:TopicPolicy")
        if r.inputs["arn"] == topic.outputs["arn"]
    )
    events = next(
        s
        for s in statements(policy.inputs["policy"])
        if s.get("Sid") == "EventBridgePublishesFindings"
    )
    assert sorted(events["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        r.outputs["arn"] for r in rules.values()
    )
    key_policy = statements(workload.named("prod-notifications").inputs["policy"])
    publishers = next(s for s in key_policy if s["Sid"] == "PublishersUseKey")
    assert "events.amazonaws.com" in publishers["Principal"]["Service"]


def test_the_alarm_topic_is_encrypted_and_cloudwatch_may_use_its_key(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan, outputs = management
    topic = plan.named("prod-alarms", TOPIC)
    assert outputs["alarmTopicArn"] == topic.outputs["arn"]
    assert topic.inputs["kmsMasterKeyId"] == plan.named("prod-notifications").outputs["arn"]
    publishers = next(
        s
        for s in statements(plan.named("prod-notifications").inputs["policy"])
        if s["Sid"] == "PublishersUseKey"
    )
    assert "cloudwatch.amazonaws.com" in publishers["Principal"]["Service"]
    subs = [s.inputs for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription")]
    assert {
        "topic": topic.outputs["arn"],
        "protocol": "email",
        "endpoint": "oncall@example.com",
    } in [{k: s[k] for k in ("topic", "protocol", "endpoint")} for s in subs]


def test_the_password_policy_meets_pci_dss_8_3_6(workload: Plan) -> None:
    policy = one(workload, "aws:iam/accountPasswordPolicy:AccountPasswordPolicy").inputs
    assert policy["minimumPasswordLength"] >= 12
    assert policy["passwordReusePrevention"] >= 4
    assert 0 < policy["maxPasswordAge"] <= 90
    for cls in ("Lowercase", "Uppercase"):
        assert policy[f"require{cls}Characters"] is True
    assert policy["requireNumbers"] is True and policy["requireSymbols"] is True


def test_account_guardrails_encrypt_ebs_and_analyze_access(workload: Plan) -> None:
    assert (
        one(workload, "aws:ebs/encryptionByDefault:EncryptionByDefault").inputs["enabled"] is True
    )
    assert one(workload, "aws:accessanalyzer/analyzer:Analyzer").inputs["type"] == "ACCOUNT"


def test_the_budget_notifies_the_alarm_topic_at_each_threshold(workload: Plan) -> None:
    budget = one(workload, "aws:budgets/budget:Budget").inputs
    assert budget["budgetType"] == "COST" and budget["timeUnit"] == "MONTHLY"
    kinds = {(n["threshold"], n["notificationType"]) for n in budget["notifications"]}
    assert kinds == {(80, "ACTUAL"), (100, "FORECASTED")}
    topic_arn = workload.named("prod-alarms", TOPIC).outputs["arn"]
    assert all(n["subscriberSnsTopicArns"] == [topic_arn] for n in budget["notifications"])


def test_every_resource_is_parented_and_tagged(
    workload: Plan, management: tuple[Plan, dict[str, Any]]
) -> None:
    for plan in (workload, management[0]):
        component = one(plan, "payments:index:LandingZone")
        descendants = {r.urn for r in plan.descendants_of(component)}
        assert descendants == {r.urn for r in plan if r.urn != component.urn and r.type != PROVIDER}
        must_tag = {
            "aws:s3/bucket:Bucket",
            "aws:kms/key:Key",
            "aws:cloudtrail/trail:Trail",
            "aws:cloudwatch/logGroup:LogGroup",
            "aws:sns/topic:Topic",
            "aws:guardduty/detector:Detector",
            "aws:iam/role:Role",
            "aws:cloudwatch/eventRule:EventRule",
            "aws:budgets/budget:Budget",
            "aws:accessanalyzer/analyzer:Analyzer",
            "aws:organizations/account:Account",
            "aws:organizations/organizationalUnit:OrganizationalUnit",
            "aws:organizations/policy:Policy",
            "aws:ssoadmin/permissionSet:PermissionSet",
            "aws:controltower/landingZone:LandingZone",
        }
        for r in plan:
            if r.type in must_tag:
                assert r.inputs.get("tags", {}).get("component") == "landing-zone", r.name
                assert r.inputs["tags"]["environment"] == "prod", r.name


# --- organization ----------------------------------------------------------------------------


def test_the_organization_part_is_absent_unless_enabled(workload: Plan) -> None:
    org_modules = ("aws:organizations/", "aws:ssoadmin/", "aws:controltower/", "aws:identitystore/")
    assert not [r.name for r in workload if r.type.startswith(org_modules)]


def test_every_scp_statement_is_a_deny_and_the_region_scp_exempts_global_services(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    policies = plan.of_type("aws:organizations/policy:Policy")
    assert len(policies) == 3
    for policy in policies:
        assert policy.inputs["type"] == "SERVICE_CONTROL_POLICY"
        for s in statements(policy.inputs["content"]):
            assert s["Effect"] == "Deny", (policy.name, s["Sid"])
    region = doc(plan.named("prod-scp-region-allow-list").inputs["content"])["Statement"][0]
    assert region["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == [
        "ap-southeast-1",
        "us-east-1",  # only the root-activity forwarder: see the test of the second statement
    ]
    for action in (
        "iam:*",
        "organizations:*",
        "route53:*",
        "cloudfront:*",
        "sts:*",
        "support:*",
        "budgets:*",
        "waf:*",
    ):
        assert action in region["NotAction"], action
    baseline = {s["Sid"]: s for s in statements(plan.named("prod-scp-baseline").inputs["content"])}
    assert (
        baseline["DenyRootUser"]["Condition"]["StringLike"]["aws:PrincipalArn"]
        == "arn:aws:iam::*:root"
    )
    assert "organizations:LeaveOrganization" in baseline["DenyLeaveOrganization"]["Action"]
    tamper = set(baseline["DenyAuditTampering"]["Action"])
    assert {
        "cloudtrail:StopLogging",
        "config:StopConfigurationRecorder",
        "guardduty:DeleteDetector",
        "securityhub:DisableSecurityHub",
        "ec2:DeleteFlowLogs",
    } <= tamper
    data = {
        s["Sid"]: s for s in statements(plan.named("prod-scp-data-protection").inputs["content"])
    }
    assert data["DenyRunInstancesWithoutImdsV2"]["Condition"] == {
        "StringNotEquals": {"ec2:MetadataHttpTokens": "required"}
    }
    assert data["DenyUnencryptedRds"]["Condition"] == {"Bool": {"rds:StorageEncrypted": "false"}}
    assert data["DenyUnencryptedEbs"]["Condition"] == {"Bool": {"ec2:Encrypted": "false"}}


def test_every_scp_fits_the_5120_character_limit(management: tuple[Plan, dict[str, Any]]) -> None:
    policies = management[0].of_type("aws:organizations/policy:Policy")
    assert policies
    for policy in policies:
        assert len(policy.inputs["content"]) <= SCP_MAX_CHARS, policy.name
    # and with a long region allow-list too
    many = ServiceControlPolicySettings(
        allowed_regions=[
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-northeast-1",
            "eu-west-1",
            "us-east-1",
        ]
    )
    for name, document in service_control_policies(many).items():
        assert len(render_scp(document)) <= SCP_MAX_CHARS, name
    assert len(GLOBAL_SERVICE_ACTIONS) == len(set(GLOBAL_SERVICE_ACTIONS))


def test_each_workload_ou_keeps_scp_attachments_within_the_aws_limit(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    per_target: dict[str, int] = {}
    for attachment in plan.every("aws:organizations/policyAttachment:PolicyAttachment"):
        per_target[attachment.inputs["targetId"]] = (
            per_target.get(attachment.inputs["targetId"], 0) + 1
        )
    ous = {
        plan.named(f"prod-ou-{k}").outputs["id"] for k in ("workloads-prod", "workloads-nonprod")
    }
    assert set(per_target) == ous
    # FullAWSAccess stays attached and counts too
    assert all(n + 1 <= SCP_MAX_PER_TARGET for n in per_target.values())


def test_ous_nest_by_parent_and_accounts_are_never_closed(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    workloads = plan.named("prod-ou-workloads")
    (org,) = plan.every("aws:organizations/organization:Organization")
    assert workloads.inputs["parentId"] == org.outputs["roots"][0]["id"]
    assert plan.named("prod-ou-workloads-prod").inputs["parentId"] == workloads.outputs["id"]
    accounts = plan.of_type("aws:organizations/account:Account")
    assert len(accounts) == 4
    for account in accounts:
        assert account.inputs["closeOnDeletion"] is False
        assert account.protect
    assert (
        plan.named("prod-account-prod").inputs["parentId"]
        == plan.named("prod-ou-workloads-prod").outputs["id"]
    )


def test_control_tower_manifest_points_at_the_shared_accounts(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    lz = one(plan, "aws:controltower/landingZone:LandingZone")
    manifest = json.loads(lz.inputs["manifestJson"])
    assert lz.inputs["version"] == "3.3"
    assert manifest["governedRegions"] == ["ap-southeast-1"]
    assert (
        manifest["centralizedLogging"]["accountId"]
        == plan.named("prod-account-log-archive").outputs["id"]
    )
    assert manifest["centralizedLogging"]["configurations"]["loggingBucket"]["retentionDays"] >= 365
    assert manifest["securityRoles"]["accountId"] == plan.named("prod-account-audit").outputs["id"]
    assert manifest["accessManagement"] == {"enabled": True}
    assert set(manifest["organizationStructure"]) == {"security", "sandbox"}
    control = one(plan, "aws:controltower/controlTowerControl:ControlTowerControl")
    assert control.inputs["targetIdentifier"] == plan.named("prod-ou-workloads-prod").outputs["arn"]
    assert lz.urn in control.dependencies


def _policies_of(plan: Plan, permission_set_arn: str) -> set[str]:
    attached = {
        r.inputs["managedPolicyArn"].split(":policy/")[-1]
        for r in plan.of_type("aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment")
        if r.inputs["permissionSetArn"] == permission_set_arn
    }
    inline = [
        r
        for r in plan.of_type("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy")
        if r.inputs["permissionSetArn"] == permission_set_arn
    ]
    return attached | ({"<inline>"} if inline else set())


def test_no_permission_set_grants_write_to_prod_for_the_developer_role(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    prod_account = plan.named("prod-account-prod").outputs["id"]
    nonprod_account = plan.named("prod-account-nonprod").outputs["id"]
    dev_prod = plan.named("prod-assign-developers-prod").inputs
    dev_nonprod = plan.named("prod-assign-developers-nonprod").inputs
    assert dev_prod["targetId"] == prod_account and dev_nonprod["targetId"] == nonprod_account
    # view only (no data or log reads: the inline policy denies them)
    assert _policies_of(plan, dev_prod["permissionSetArn"]) == {
        "job-function/ViewOnlyAccess",
        "<inline>",
    }
    assert _policies_of(plan, dev_nonprod["permissionSetArn"]) == {"PowerUserAccess"}
    assert dev_prod["principalType"] == "GROUP" and dev_prod["targetType"] == "AWS_ACCOUNT"


def test_permission_sets_have_short_admin_sessions_and_auditors_read_only(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    sets = {r.inputs["name"]: r for r in plan.of_type("aws:ssoadmin/permissionSet:PermissionSet")}
    assert set(sets) == {
        "PlatformAdmin",
        "Operator",
        "Developer",
        "DeveloperProd",
        "Auditor",
        "SecurityOperations",
        "BreakGlass",
    }
    assert sets["PlatformAdmin"].inputs["sessionDuration"] == "PT1H"
    assert sets["BreakGlass"].inputs["sessionDuration"] == "PT1H"
    assert sets["Developer"].inputs["sessionDuration"] == "PT8H"
    assert all(
        s.inputs["instanceArn"] == "arn:aws:sso:::instance/ssoins-72231a8f5d2c6e8b"
        for s in sets.values()
    )
    assert _policies_of(plan, sets["Auditor"].outputs["arn"]) == {
        "SecurityAudit",
        "job-function/ViewOnlyAccess",
        "<inline>",
    }
    assert _policies_of(plan, sets["BreakGlass"].outputs["arn"]) == {"AdministratorAccess"}
    outputs = management[1]["permissionSetArns"]
    assert outputs["DeveloperProd"] == sets["DeveloperProd"].outputs["arn"]


def test_adding_an_account_replaces_nothing(management: tuple[Plan, dict[str, Any]]) -> None:
    data = json.loads(json.dumps(MANAGEMENT))
    data["organization"]["accounts"] = {
        "aaa-first": {
            "name": "Sandbox",
            "email": "aws-sandbox@example.com",
            "ou": "workloads-nonprod",
        },
        **data["organization"]["accounts"],
    }
    bigger = _run(data)[0]
    before = management[0].identity()
    after = bigger.identity()
    assert all(after.get(urn) == identity for urn, identity in before.items())
    assert len(after) == len(before) + 1
    # and every existing resource keeps exactly its inputs (no account changes its email)
    for r in management[0]:
        assert bigger.by_urn(r.urn).inputs == r.inputs, r.name


# --- environment ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nonprod_explicit() -> Plan:
    """A nonprod landing zone whose caller asked for prod-grade trail logs and PCI DSS."""
    data = {
        "trail": {"log_retention_days": 365},
        "security_hub": {"pci_dss_version": "4.0.1"},
    }
    return _run(data, environment="nonprod")[0]


def _trail_lifecycle(plan: Plan, bucket: str) -> dict[str, Any]:
    bucket_id = plan.named(bucket, BUCKET).outputs["id"]
    (rule,) = next(r for r in plan.of_type(LIFECYCLE) if r.inputs["bucket"] == bucket_id).inputs[
        "rules"
    ]
    return dict(rule)


def test_a_nonprod_landing_zone_gets_90_days_of_trail_logs_and_no_pci_dss_standard(
    nonprod: Plan,
) -> None:
    assert nonprod.named("nonprod-trail", LOG_GROUP).inputs["retentionInDays"] == 90
    lifecycle = _trail_lifecycle(nonprod, "nonprod-trail")
    assert lifecycle["transitions"][0]["days"] == 30
    assert lifecycle["expiration"]["days"] == 365
    standards = {r.inputs["standardsArn"] for r in nonprod.of_type(STANDARD)}
    assert standards == {
        "arn:aws:securityhub:ap-southeast-1::standards/aws-foundational-security-best-practices/v/1.0.0"
    }
    features = {
        r.inputs["name"] for r in nonprod.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    assert features == {"S3_DATA_EVENTS"}
    assert one(nonprod, "aws:budgets/budget:Budget").inputs["limitAmount"] == "1500.00"


def test_in_nonprod_what_the_caller_sets_wins_over_the_nonprod_default(
    nonprod_explicit: Plan,
) -> None:
    assert nonprod_explicit.named("nonprod-trail", LOG_GROUP).inputs["retentionInDays"] == 365
    assert PCI_DSS in {r.inputs["standardsArn"] for r in nonprod_explicit.of_type(STANDARD)}
    # where the caller stays silent, the nonprod default still applies
    assert _trail_lifecycle(nonprod_explicit, "nonprod-trail")["transitions"][0]["days"] == 30


def test_a_nonprod_landing_zone_may_break_the_prod_rules(nonprod: Plan) -> None:
    # no security subscriber, 90-day logs, no PCI DSS standard: refused in prod, built here
    assert not nonprod.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert len(nonprod.of_type("aws:cloudtrail/trail:Trail")) == 1


PROD_BREAKS: dict[str, dict[str, Any]] = {
    "trail.log_retention_days": {"trail": {"log_retention_days": 90}},
    "trail.expiration_days": {
        "trail": {"expiration_days": 180, "object_lock": {"retention_days": 90}}
    },
    "trail.transition_days": {"trail": {"transition_days": 30}},
    "security_hub.pci_dss_version": {"security_hub": {"pci_dss_version": None}},
    "guard_duty.features": {"guard_duty": {"features": ["S3_DATA_EVENTS"]}},
    "aws_config.conformance_pack": {"aws_config": {"conformance_pack": False}},
    "notifications.security_subscriptions": {"notifications": {"security_subscriptions": {}}},
    "trail.object_lock": {"trail": {"object_lock": {"mode": "GOVERNANCE"}}},
    "trail.s3_data_events": {"trail": {"s3_data_events": False}},
    "inspector.enabled": {"inspector": {"enabled": False}},
    "alerts.tampering": {"alerts": {"tampering": False}},
    "session_manager.enabled": {"session_manager": {"enabled": False}},
    "session_manager.log_retention_days": {"session_manager": {"log_retention_days": 90}},
    "data_protection.enabled": {"data_protection": {"enabled": False}},
    "support_role": {"support_role": False},
}


def test_every_prod_rule_has_a_test() -> None:
    assert {rule.key for rule in PROD_RULES} == set(PROD_BREAKS)


@pytest.mark.parametrize("key", sorted(PROD_BREAKS))
def test_prod_refuses_a_landing_zone_that_breaks_a_prod_rule(key: str) -> None:
    data = _merged(WORKLOAD, PROD_BREAKS[key])
    message = refused(data)
    assert f"settings.{key}: prod " in message
    assert message.count("\n  - ") == 1, message
    # the same settings build in nonprod
    assert _run(data, environment="nonprod")[0].of_type("aws:cloudtrail/trail:Trail")


# --- rules between settings (checks.py) ----------------------------------------------------------


def _merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``change`` merged in at any depth (a None or a list replaces)."""
    merged = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and value:
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def refused(data: dict[str, Any], environment: str = "prod", name: str = "prod") -> str:
    """The ComponentConfigError of a LandingZone built from ``data``; asserts that nothing
    was registered (not even the component)."""
    settings = LandingZoneSettings.model_validate(data)
    monitor = RecordingMonitor(PlatformMocks())

    def program() -> None:
        context = StackContext(environment=environment)  # type: ignore[arg-type]
        LandingZone(name, settings, context=context)

    # run_offline settles every registration it started before it re-raises, so an empty
    # record proves the component refused before registering even itself
    with pytest.raises(ComponentConfigError) as error:
        run_offline(program, monitor=monitor)
    assert monitor.registered == []
    message = str(error.value)
    assert message.startswith(f"LandingZone({name!r}): invalid configuration")
    return message


def _org(change: dict[str, Any]) -> dict[str, Any]:
    return _merged(MANAGEMENT, {"organization": change})


LONG_PATTERNS = [f"arn:aws:iam::*:role/pipeline-role-with-a-long-name-{i:03d}" for i in range(120)]

RULES: dict[str, tuple[dict[str, Any], str]] = {
    "assignment-unknown-account": (
        _org(
            {
                "identity_center": {
                    "assignments": {
                        "x": {"group_name": "Ops", "account": "staging", "role": "Operator"}
                    }
                }
            }
        ),
        "settings.organization.identity_center.assignments['x'].account: 'staging' is not in "
        "`organization.accounts`",
    ),
    "assignment-without-one-group": (
        _org({"identity_center": {"assignments": {"x": {"account": "prod", "role": "Operator"}}}}),
        "settings.organization.identity_center.assignments['x']: name the group by exactly one "
        "of `organization.identity_center.assignments.x.group_id`",
    ),
    "assignment-with-two-groups": (
        _org(
            {
                "identity_center": {
                    "assignments": {
                        "x": {
                            "group_id": "0a1b2c3d4e-12345678-1234-1234-1234-123456789012",
                            "group_name": "Ops",
                            "account": "prod",
                            "role": "Operator",
                        }
                    }
                }
            }
        ),
        "settings.organization.identity_center.assignments['x']: name the group by exactly one",
    ),
    "session-outside-aws-range": (
        _org({"identity_center": {"session_durations": {"Operator": "PT13H"}}}),
        "settings.organization.identity_center.session_durations['Operator']: PT13H is outside "
        "PT1H..PT12H",
    ),
    "long-admin-session": (
        _org({"identity_center": {"session_durations": {"BreakGlass": "PT4H"}}}),
        "settings.organization.identity_center.session_durations['BreakGlass']: PT4H is too "
        "long: admin sessions last at most PT1H",
    ),
    "ou-unknown-parent": (
        _org({"organizational_units": {"extra": {"name": "Extra", "parent": "zzz"}}}),
        "settings.organization.organizational_units['extra'].parent: 'zzz' is not an OU key",
    ),
    "ou-cycle": (
        _org(
            {
                "organizational_units": {
                    "loop-a": {"name": "A", "parent": "loop-b"},
                    "loop-b": {"name": "B", "parent": "loop-a"},
                }
            }
        ),
        "settings.organization.organizational_units['loop-a'].parent: the OU tree has a cycle "
        "(loop-a -> loop-b -> loop-a)",
    ),
    "ou-too-deep": (
        _org(
            {
                "organizational_units": {
                    f"level-{i}": {"name": f"L{i}", "parent": f"level-{i - 1}" if i > 1 else None}
                    for i in range(1, 7)
                }
            }
        ),
        "settings.organization.organizational_units['level-6'].parent: the OU is 6 levels deep",
    ),
    "account-unknown-ou": (
        _org({"accounts": {"prod": {"ou": "workload-prod"}}}),
        "settings.organization.accounts['prod'].ou: 'workload-prod' is not an OU key",
    ),
    "duplicate-account-email": (
        _org({"accounts": {"nonprod": {"email": "AWS-PROD@example.com"}}}),
        "settings.organization.accounts['nonprod'].email: AWS-PROD@example.com is already the "
        "email of account 'prod'",
    ),
    "scp-unknown-target-ou": (
        _org({"service_control_policies": {"target_ous": ["workloads-prod", "staging"]}}),
        "settings.organization.service_control_policies.target_ous[1]: 'staging' is not an OU key",
    ),
    "oversized-scp": (
        _org({"service_control_policies": {"exempt_role_patterns": LONG_PATTERNS}}),
        "settings.organization.service_control_policies: the baseline SCP is",
    ),
    "control-tower-without-log-archive": (
        _org({"control_tower": {"log_archive_account": "logs"}}),
        "settings.organization.control_tower.log_archive_account: 'logs' is not in "
        "`organization.accounts`; Control Tower needs the shared accounts created first",
    ),
    "control-tower-ou-name-taken": (
        _org({"organizational_units": {"security": {"name": "Security"}}}),
        "settings.organization.control_tower.security_ou_name: Control Tower creates the "
        "'Security' OU itself",
    ),
    "control-unknown-ou": (
        _org({"control_tower": {"controls": {"deny-public-rds": {"ou": "workloads-staging"}}}}),
        "settings.organization.control_tower.controls['deny-public-rds'].ou: "
        "'workloads-staging' is not an OU key",
    ),
    "expiration-not-after-transition": (
        _merged(WORKLOAD, {"trail": {"transition_days": 400, "expiration_days": 400}}),
        "settings.trail.expiration_days: 400 days must be more than `trail.transition_days` (400)",
    ),
    "expiration-before-object-lock": (
        _merged(
            WORKLOAD,
            {
                "trail": {
                    "expiration_days": 400,
                    "object_lock": {"enabled": True, "retention_days": 730},
                }
            },
        ),
        "settings.trail.expiration_days: 400 days is shorter than "
        "`trail.object_lock.retention_days` (730)",
    ),
    "email-subscription-to-a-url": (
        _merged(
            WORKLOAD,
            {
                "notifications": {
                    "alarm_subscriptions": {
                        "on-call": {"protocol": "email", "endpoint": "https://pager.example.com"}
                    }
                }
            },
        ),
        "settings.notifications.alarm_subscriptions['on-call'].endpoint: "
        "'https://pager.example.com' is not an email address",
    ),
    "https-subscription-to-an-email": (
        _merged(
            WORKLOAD,
            {
                "notifications": {
                    "security_subscriptions": {
                        "siem": {"protocol": "https", "endpoint": "siem@example.com"}
                    }
                }
            },
        ),
        "settings.notifications.security_subscriptions['siem'].endpoint: 'siem@example.com' is "
        "not an https:// URL",
    ),
    "plain-http-subscription": (
        _merged(
            WORKLOAD,
            {
                "notifications": {
                    "security_subscriptions": {
                        "siem": {"protocol": "https", "endpoint": "http://siem.example.com"}
                    }
                }
            },
        ),
        "settings.notifications.security_subscriptions['siem'].endpoint: "
        "'http://siem.example.com' is not an https:// URL",
    ),
    "repeated-budget-threshold": (
        _merged(
            WORKLOAD,
            {
                "budget": {
                    "thresholds": [
                        {"percent": 80, "type": "ACTUAL"},
                        {"percent": 100, "type": "ACTUAL"},
                        {"percent": 80, "type": "ACTUAL"},
                    ]
                }
            },
        ),
        "settings.budget.thresholds[2]: 80% ACTUAL is already a threshold",
    ),
    "operator-runs-any-command": (
        _org(
            {
                "identity_center": {
                    "operator_documents": ["AWS-RunPatchBaseline", "AWS-RunShellScript"]
                }
            }
        ),
        "settings.organization.identity_center.operator_documents[1]: AWS-RunShellScript runs "
        "whatever command it is given",
    ),
    "alarm-subscription-chooses-alerts": (
        _merged(
            WORKLOAD,
            {
                "notifications": {
                    "alarm_subscriptions": {
                        "ops": {
                            "protocol": "email",
                            "endpoint": "ops@example.com",
                            "alerts": ["tampering"],
                        }
                    }
                }
            },
        ),
        "settings.notifications.alarm_subscriptions['ops'].alerts: only security subscriptions "
        "choose alerts",
    ),
    "log-archive-without-its-account": (
        _org(
            {
                "log_archive": {"enabled": True, "account": "archive"},
                "control_tower": {"enabled": False},
            }
        ),
        "settings.organization.log_archive.account: 'archive' is not in `organization.accounts`",
    ),
    "log-archive-beside-control-tower": (
        _org({"log_archive": {"enabled": True}}),
        "settings.organization.log_archive.enabled: Control Tower's centralized logging already "
        "creates an organization trail",
    ),
    "log-archive-expires-locked-objects": (
        _org(
            {
                "log_archive": {"enabled": True, "expiration_days": 200, "object_lock_days": 365},
                "control_tower": {"enabled": False},
            }
        ),
        "settings.organization.log_archive.expiration_days: 200 days is shorter than "
        "`organization.log_archive.object_lock_days` (365)",
    ),
    "log-archive-unreachable": (
        _org({"log_archive": {"enabled": True}, "control_tower": {"enabled": False}}),
        "member_account_provider: the organization trail's bucket and key are built in the "
        "log-archive account",
    ),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_broken_rule_is_refused_naming_the_python_key_before_anything_is_registered(
    rule: str,
) -> None:
    data, expected = RULES[rule]
    message = refused(data)
    assert expected in message, message


def test_control_tower_is_refused_without_its_shared_accounts() -> None:
    data = copy.deepcopy(MANAGEMENT)
    data["organization"]["accounts"] = {
        key: account
        for key, account in data["organization"]["accounts"].items()
        if key not in ("log-archive", "audit")
    }
    data["organization"]["identity_center"] = {}
    message = refused(data)
    for field, key in (("log_archive_account", "log-archive"), ("audit_account", "audit")):
        assert (
            f"settings.organization.control_tower.{field}: {key!r} is not in "
            "`organization.accounts`; Control Tower needs the shared accounts created first"
        ) in message
    assert message.count("\n  - ") == 2, message


def test_a_bad_name_is_refused() -> None:
    assert "name: 'Prod_1' must be 1-32 lowercase" in refused(WORKLOAD, name="Prod_1")


def test_every_problem_is_reported_at_once() -> None:
    data = _org(
        {
            "accounts": {"prod": {"ou": "workload-prod"}},
            "identity_center": {
                "assignments": {
                    "x": {"group_name": "Ops", "account": "staging", "role": "Operator"}
                }
            },
        }
    )
    data = _merged(data, {"trail": {"transition_days": 400, "expiration_days": 400}})
    data["notifications"]["security_subscriptions"] = {}
    message = refused(data)
    for key in (
        "settings.organization.accounts['prod'].ou",
        "settings.organization.identity_center.assignments['x'].account",
        "settings.trail.expiration_days",
        "settings.notifications.security_subscriptions: prod routes",
    ):
        assert key in message, (key, message)


def test_a_stack_file_sees_the_same_problem_under_its_camel_case_key() -> None:
    data = _org(
        {
            "identity_center": {
                "assignments": {
                    "x": {"group_name": "Ops", "account": "staging", "role": "Operator"}
                }
            }
        }
    )
    settings = LandingZoneSettings.model_validate(data)
    lines = [
        config_line(p, LandingZoneSettings, "payments-platform:landingZone")
        for p in check("management", settings, context=StackContext())
    ]
    assert lines == [
        "payments-platform:landingZone.organization.identityCenter.assignments.x.account: "
        "'staging' is not in `organization.accounts`; use one of "
        "['audit', 'log-archive', 'nonprod', 'prod']"
    ]


# --- the format of each field (settings.py) ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (
            _org({"accounts": {"prod": {"email": "not-an-email"}}}),
            "organization.accounts.prod.email",
        ),
        (_org({"accounts": {"prod": {"name": "Prod/1"}}}), "organization.accounts.prod.name"),
        (
            _org({"accounts": {"Prod": {"name": "P", "email": "p@example.com"}}}),
            "organization.accounts",
        ),
        (
            _org({"organizational_units": {"Workloads": {"name": "W"}}}),
            "organization.organizational_units",
        ),
        (
            _org(
                {
                    "control_tower": {
                        "controls": {"c": {"control_identifier": "AWS-GR_X", "ou": "workloads"}}
                    }
                }
            ),
            "organization.control_tower.controls.c.control_identifier",
        ),
        (_org({"control_tower": {"version": "latest"}}), "organization.control_tower.version"),
        (
            _org({"control_tower": {"governed_regions": ["singapore"]}}),
            "organization.control_tower.governed_regions",
        ),
        (
            _org({"service_control_policies": {"allowed_regions": ["singapore"]}}),
            "organization.service_control_policies.allowed_regions",
        ),
        (
            _org({"service_control_policies": {"exempt_role_patterns": ["admin"]}}),
            "organization.service_control_policies.exempt_role_patterns",
        ),
        (
            _org(
                {
                    "identity_center": {
                        "assignments": {
                            "x": {"group_id": "ops", "account": "prod", "role": "Operator"}
                        }
                    }
                }
            ),
            "organization.identity_center.assignments.x.group_id",
        ),
        (
            _org({"identity_center": {"session_durations": {"Auditor": "8 hours"}}}),
            "organization.identity_center.session_durations",
        ),
        ({"trail": {"log_retention_days": 366}}, "trail.log_retention_days"),
        ({"trail": {"transition_days": 7}}, "trail.transition_days"),
        ({"aws_config": {"extra_rules": ["s3-bucket-ssl"]}}, "aws_config.extra_rules"),
        ({"guard_duty": {"min_alert_severity": 11}}, "guard_duty.min_alert_severity"),
        ({"guard_duty": {"features": ["MALWARE"]}}, "guard_duty.features.0"),
        ({"security_hub": {"pci_dss_version": "4.0"}}, "security_hub.pci_dss_version"),
        ({"password_policy": {"minimum_length": 8}}, "password_policy.minimum_length"),
        ({"password_policy": {"reuse_prevention": 2}}, "password_policy.reuse_prevention"),
        ({"password_policy": {"max_age_days": 365}}, "password_policy.max_age_days"),
        (
            {
                "notifications": {
                    "alarm_subscriptions": {
                        "On Call": {"protocol": "email", "endpoint": "o@example.com"}
                    }
                }
            },
            "notifications.alarm_subscriptions",
        ),
        (
            {
                "notifications": {
                    "alarm_subscriptions": {
                        "on-call": {"protocol": "sms", "endpoint": "+6512345678"}
                    }
                }
            },
            "notifications.alarm_subscriptions.on-call.protocol",
        ),
        ({"budget": {"thresholds": [{"percent": 0}]}}, "budget.thresholds.0.percent"),
        # PCI DSS 8.2.8: idle sessions end within 15 minutes
        ({"session_manager": {"idle_timeout_minutes": 30}}, "session_manager.idle_timeout_minutes"),
        ({"session_manager": {"log_retention_days": 366}}, "session_manager.log_retention_days"),
        (
            {"data_protection": {"data_identifiers": ["Card Number"]}},
            "data_protection.data_identifiers",
        ),
        ({"inspector": {"resource_types": ["EKS"]}}, "inspector.resource_types.0"),
        (
            {
                "notifications": {
                    "security_subscriptions": {
                        "pager": {
                            "protocol": "https",
                            "endpoint": "https://x.example.com",
                            "alerts": ["everything"],
                        }
                    }
                }
            },
            "notifications.security_subscriptions.pager.alerts.0",
        ),
        (
            {"organization": {"identity_center": {"operator_documents": ["run shell"]}}},
            "organization.identity_center.operator_documents",
        ),
        (
            {"organization": {"service_control_policies": {"break_glass_role_patterns": []}}},
            "organization.service_control_policies.break_glass_role_patterns",
        ),
        (
            {"organization": {"service_control_policies": {"deploy_role_patterns": ["deployer"]}}},
            "organization.service_control_policies.deploy_role_patterns",
        ),
        (
            {"organization": {"log_archive": {"access_role_name": "bad role"}}},
            "organization.log_archive.access_role_name",
        ),
        ({"budget": {"thresholds": [{"percent": 1500}]}}, "budget.thresholds.0.percent"),
        (
            {"budget": {"thresholds": [{"percent": p} for p in range(10, 70, 10)]}},
            "budget.thresholds",
        ),
        ({"budget": {"emails": ["finops"]}}, "budget.emails"),
        ({"budget": {"emails": [f"f{i}@example.com" for i in range(11)]}}, "budget.emails"),
        ({"budget": {"monthly_limit": 100}}, "budget.monthly_limit"),
    ],
)
def test_a_badly_formed_value_is_rejected_naming_the_python_field(
    data: dict[str, Any], key: str
) -> None:
    with pytest.raises(ValidationError) as error:
        LandingZoneSettings.model_validate(data)
    lines = str(error.value).splitlines()
    assert lines[1] == key, lines
    # the message says what is wrong, without repeating the key
    assert not lines[2].strip().removeprefix("Value error, ").startswith(key.split(".")[-1])


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation = field.annotation
        args = typing.get_args(annotation)
        nested = [
            a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, key + ".")
            continue
        keys.append(key)
        if nested:
            sep = ".<name>." if typing.get_origin(annotation) is dict else "[]."
            keys += _keys(nested[0], key + sep)
    return keys


def test_the_docs_describe_every_setting() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "landing-zone.md").read_text()
    missing = [k for k in _keys(LandingZoneSettings) if f"`{k}`" not in text]
    assert not missing, f"docs/landing-zone.md lacks {missing}"


# --- IAM Identity Center not (yet) enabled ---------------------------------------------------


def _management_program(data: dict[str, Any]) -> typing.Callable[[], None]:
    settings = LandingZoneSettings.model_validate(data)

    def program() -> None:
        us_east_1 = aws.Provider("us-east-1", region="us-east-1")
        LandingZone("prod", settings, context=StackContext(), us_east_1_provider=us_east_1)

    return program


def test_without_identity_center_the_organization_part_says_what_to_do_first() -> None:
    """In an account without IAM Identity Center, ListInstances answers empty lists; the
    deploy stops with the key and what to do first, and creates no permission set (was: an
    IndexError from instances.arns[0])."""
    monitor = RecordingMonitor(PlatformMocks(identity_center=False))
    with pytest.raises(ComponentConfigError) as error:
        run_offline(_management_program(MANAGEMENT), monitor=monitor)
    message = str(error.value)
    assert message.startswith("LandingZone('prod'): invalid configuration")
    assert (
        "settings.organization.identity_center.enabled: IAM Identity Center is not enabled "
        "in ap-southeast-1 of this account"
    ) in message
    assert "enable IAM Identity Center for the organization in the management account" in message
    assert "set `organization.identity_center.enabled` to false" in message
    assert message.count("\n  - ") == 1, message
    assert not [r.name for r in monitor.registered if r.type.startswith("aws:ssoadmin/")]


def test_with_identity_center_disabled_the_organization_builds_without_permission_sets() -> None:
    data = _org({"identity_center": {"enabled": False}})
    plan, outputs = _run(data, mocks=PlatformMocks(identity_center=False))
    assert not [r.name for r in plan if r.type.startswith(("aws:ssoadmin/", "aws:identitystore"))]
    assert outputs["permissionSetArns"] == {}
    assert set(outputs["accountIds"]) == {"log-archive", "audit", "prod", "nonprod"}


def test_the_management_plan_without_identity_center_exits_2_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline plan of the real management stack, in an account without IAM Identity
    Center: exit 2, the problem on one line under the key, no traceback."""
    monkeypatch.setattr(
        offline_plan, "PlatformMocks", functools.partial(PlatformMocks, identity_center=False)
    )
    assert offline_plan.main(["management", "--project-dir", str(ROOT)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: management: LandingZone('management'): invalid configuration")
    assert "  - settings.organization.identity_center.enabled: IAM Identity Center" in err
    assert "Traceback" not in err and "IndexError" not in err


# --- root activity of global services, from us-east-1 ------------------------------------------


def _in_region(plan: Plan, resource: Registered) -> str:
    if not resource.provider:
        return "ap-southeast-1"  # the mocks' default region
    return str(plan.by_urn(resource.provider.rsplit("::", 1)[0]).inputs["region"])


def test_root_activity_seen_in_us_east_1_is_forwarded_to_the_home_bus(workload: Plan) -> None:
    """A rule in us-east-1 (where EventBridge receives root console sign-ins and IAM/STS
    calls) sends root activity to the home region's default bus through a role that may
    only put events there; the home root-activity rule sends it on to the security topic."""
    rules = {r.name: r for r in workload.of_type(RULE)}
    forwarder = rules["prod-root-activity-us-east-1"]
    assert _in_region(workload, forwarder) == "us-east-1"
    assert _in_region(workload, rules["prod-root-activity"]) == "ap-southeast-1"
    assert forwarder.inputs["eventPattern"] == rules["prod-root-activity"].inputs["eventPattern"]
    (target,) = [
        t for t in workload.of_type(TARGET) if t.inputs["rule"] == forwarder.outputs["name"]
    ]
    assert _in_region(workload, target) == "us-east-1"
    home_bus = "arn:aws:events:ap-southeast-1:111122223333:event-bus/default"
    assert target.inputs["arn"] == home_bus
    role = role_of(workload, target.inputs["roleArn"])
    assume = Request(
        "sts:AssumeRole",
        principal={"Service": "events.amazonaws.com"},
        context={"aws:SourceAccount": "111122223333"},
    )
    assert decide(doc(role.inputs["assumeRolePolicy"]), assume) == "allow"
    assert role_allows(workload, role, Request("events:PutEvents", home_bus))
    other_bus = "arn:aws:events:eu-west-1:111122223333:event-bus/default"
    assert not role_allows(workload, role, Request("events:PutEvents", other_bus))
    # only the forwarder lives in us-east-1
    assert {r.name for r in workload if r.provider and _in_region(workload, r) == "us-east-1"} == {
        "prod-root-activity-us-east-1"
    }


def _refused_route(mocks: PlatformMocks, provider_region: str | None) -> tuple[str, Plan]:
    """The error of a workload LandingZone given a provider in ``provider_region`` (None:
    none), and what it registered before the deploy stopped."""
    monitor = RecordingMonitor(mocks)
    settings = LandingZoneSettings.model_validate(WORKLOAD)

    def program() -> None:
        there = None
        if provider_region is not None:
            there = aws.Provider("there", region=provider_region)
        LandingZone("prod", settings, context=StackContext(), us_east_1_provider=there)

    with pytest.raises(ComponentConfigError) as error:
        run_offline(program, monitor=monitor)
    return str(error.value), Plan(monitor.registered, {})


def test_without_a_us_east_1_provider_elsewhere_the_deploy_stops_naming_the_argument() -> None:
    """The home region is known when the provider answers: a landing zone outside us-east-1
    without ``us_east_1_provider`` stops then, before its root-activity rule exists."""
    message, plan = _refused_route(PlatformMocks(), None)
    assert message.startswith("LandingZone('prod'): invalid configuration")
    assert (
        "us_east_1_provider: the landing zone runs in ap-southeast-1, but EventBridge receives "
        "root console sign-ins and IAM/STS calls only in us-east-1"
    ) in message
    assert plan.every("payments:index:LandingZone")  # it started, then stopped
    assert "prod-root-activity" not in {r.name for r in plan.of_type(RULE)}


def test_a_provider_in_another_region_is_refused() -> None:
    message, plan = _refused_route(PlatformMocks(), "eu-west-1")
    assert "us_east_1_provider: the provider is in eu-west-1; give one in us-east-1" in message
    assert not [r.name for r in plan.of_type(RULE) if "us-east-1" in r.name]


def _run_without_provider(mocks: PlatformMocks) -> tuple[Plan, dict[str, Any]]:
    settings = LandingZoneSettings.model_validate(WORKLOAD)

    def program() -> None:
        LandingZone("prod", settings, context=StackContext())

    plan = run_offline(program, mocks=mocks)
    return plan, plan.stack_outputs


def test_in_us_east_1_no_forwarder_is_needed_and_none_is_accepted() -> None:
    plan, _ = _run_without_provider(PlatformMocks(region="us-east-1"))
    assert {r.name for r in plan.of_type(RULE)} == {
        "prod-guardduty",
        "prod-securityhub",
        "prod-root-activity",
        "prod-inspector",
        "prod-access-analyzer",
        "prod-tampering",
    }
    message, _ = _refused_route(PlatformMocks(region="us-east-1"), "us-east-1")
    assert "us_east_1_provider: the landing zone runs in us-east-1 already" in message


def test_a_provider_of_another_account_is_refused() -> None:
    problems = check_global_events_route(
        "ap-southeast-1", "111122223333", ("us-east-1", "444455556666")
    )
    assert [p.key for p in problems] == [("us_east_1_provider",)]
    assert "reaches account 444455556666, the landing zone runs in 111122223333" in (
        problems[0].message
    )
    assert check_global_events_route("ap-southeast-1", "1", ("us-east-1", "1")) == []


def test_the_region_scp_lets_only_the_forwarder_be_managed_in_us_east_1(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    """The region guardrail denies us-east-1 (not an allowed region) except global
    services and the EventBridge rule actions the forwarder's deploy needs; without that,
    the prod and nonprod deploy roles could not create it."""
    scp = doc(management[0].named("prod-scp-region-allow-list").inputs["content"])
    deployer = "arn:aws:iam::210987654321:role/payments-platform-deployer"

    def verdict(action: str, region: str) -> str:
        context = {"aws:RequestedRegion": region, "aws:PrincipalArn": deployer}
        return decide(scp, Request(action, context=context))

    for action in GLOBAL_EVENT_RULE_ACTIONS:
        assert verdict(action, "us-east-1") != "deny", action
    for action in ("events:PutEvents", "events:CreateApiDestination", "ec2:RunInstances"):
        assert verdict(action, "us-east-1") == "deny", action
    for action in ("events:PutRule", "ec2:RunInstances"):
        assert verdict(action, "eu-west-1") == "deny", action
        assert verdict(action, "ap-southeast-1") != "deny", action
    assert verdict("iam:CreateRole", "us-east-1") != "deny"
    exempt = "arn:aws:iam::210987654321:role/AWSControlTowerExecution"
    context = {"aws:RequestedRegion": "us-east-1", "aws:PrincipalArn": exempt}
    assert decide(scp, Request("ec2:RunInstances", context=context)) != "deny"
    allowing = ServiceControlPolicySettings(allowed_regions=["ap-southeast-1", "us-east-1"])
    regions = service_control_policies(allowing)["region-allow-list"]["Statement"]
    assert [s["Sid"] for s in regions] == ["DenyOutsideAllowedRegions"]


def test_the_stack_passes_a_us_east_1_provider_of_the_same_account(
    stack_plan: typing.Callable[..., Plan],
) -> None:
    """__main__ builds the us-east-1 provider from the stack's own account settings: the
    same allowed account and deploy role as the stack's provider."""
    plan = stack_plan("prod")
    providers = {r.name: r.inputs for r in plan.of_type(PROVIDER)}
    home, there = providers["prod-aws"], providers["prod-aws-us-east-1"]
    assert there["region"] == "us-east-1" and home["region"] == "ap-southeast-1"
    for key in ("allowedAccountIds", "assumeRoles"):
        assert there[key] == home[key], key
    (forwarder,) = [r for r in plan.of_type(RULE) if r.name.endswith("-us-east-1")]
    assert forwarder.provider.rsplit("::", 1)[0] == plan.named("prod-aws-us-east-1").urn


# --- issue 12 and 13 on the real stacks -------------------------------------------------------

LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
TRAIL = "aws:cloudtrail/trail:Trail"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def _account_trail(plan: Plan) -> Registered:
    (trail,) = [t for t in plan.every(TRAIL) if not t.inputs.get("isOrganizationTrail")]
    return trail


def _lock_of(plan: Plan, bucket: Registered) -> dict[str, Any]:
    (lock,) = [r for r in plan.every(LOCK) if r.inputs["bucket"] == bucket.outputs["id"]]
    return dict(lock.inputs["rule"]["defaultRetention"])


def test_prod_trail_objects_are_locked_in_compliance_mode(prod_plan: Plan) -> None:
    """PCI DSS 10.3.2: in COMPLIANCE mode no principal, root included, can delete a trail
    object or shorten its retention before it ends (S3 User Guide, "Object Lock retention
    modes"); GOVERNANCE mode yields to s3:BypassGovernanceRetention."""
    bucket_id = _account_trail(prod_plan).inputs["s3BucketName"]
    (bucket,) = [b for b in prod_plan.every(BUCKET) if b.outputs["id"] == bucket_id]
    assert bucket.inputs["objectLockEnabled"] is True and bucket.protect
    assert _lock_of(prod_plan, bucket) == {"mode": "COMPLIANCE", "days": 365}


def test_nonprod_keeps_its_trail_bucket_as_deployed(nonprod_plan: Plan) -> None:
    """Turning Object Lock on replaces a bucket; nonprod (no card data) keeps its own."""
    bucket = nonprod_plan.named("nonprod-trail", BUCKET)
    assert not bucket.inputs.get("objectLockEnabled")
    assert not [r for r in nonprod_plan.of_type(LOCK) if r.inputs["bucket"] == bucket.outputs["id"]]


def test_prod_records_s3_data_events_of_every_bucket_but_the_trails_own(prod_plan: Plan) -> None:
    """PCI DSS 10.2.1: object-level access to the account's buckets is logged; the management
    events selector stays (advanced selectors replace the default one), and the trail's own
    bucket and its access-log bucket are left out (CloudTrail would log its own deliveries)."""
    trail = _account_trail(prod_plan)
    selectors = {s["name"]: s["fieldSelectors"] for s in trail.inputs["advancedEventSelectors"]}
    assert {"field": "eventCategory", "equals": ["Management"]} in selectors["Management events"]
    (data,) = [v for k, v in selectors.items() if k != "Management events"]
    fields = {f["field"]: f for f in data}
    assert fields["eventCategory"]["equals"] == ["Data"]
    assert fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    trail_bucket = prod_plan.named("prod-trail", BUCKET).outputs["arn"]
    access_logs = prod_plan.named("prod-access-logs", BUCKET).outputs["arn"]
    assert sorted(fields["resources.ARN"]["notStartsWiths"]) == sorted(
        [f"{trail_bucket}/", f"{access_logs}/"]
    )
    assert "eventSelectors" not in trail.inputs  # the two kinds cannot be combined


def test_nonprod_records_no_data_events(nonprod_plan: Plan) -> None:
    assert not _account_trail(nonprod_plan).inputs.get("advancedEventSelectors")


@pytest.mark.parametrize("stack", ["prod", "nonprod"])
def test_inspector_scans_ec2_and_ecr(stack_plan: typing.Any, stack: str) -> None:
    """PCI DSS 6.3.3, 11.3.1 (Security Hub Inspector.1-2): EC2 and ECR are scanned in the
    stack's own account."""
    plan = stack_plan(stack)
    (enabler,) = plan.every("aws:inspector2/enabler:Enabler")
    assert sorted(enabler.inputs["resourceTypes"]) == ["EC2", "ECR"]
    assert enabler.inputs["accountIds"] == [str(_account_trail(plan).outputs["arn"]).split(":")[4]]


def test_guardduty_runtime_monitoring_manages_the_ec2_agent(prod_plan: Plan) -> None:
    """PCI DSS 5.2, 11.5.1: runtime threat detection on the app hosts, with GuardDuty
    installing and updating its agent (EC2_AGENT_MANAGEMENT)."""
    features = {
        f.inputs["name"]: f
        for f in prod_plan.every("aws:guardduty/detectorFeature:DetectorFeature")
    }
    runtime = features["RUNTIME_MONITORING"].inputs
    assert runtime["status"] == "ENABLED"
    assert {"name": "EC2_AGENT_MANAGEMENT", "status": "ENABLED"} in runtime[
        "additionalConfigurations"
    ]


def test_session_manager_preferences_time_out_and_log_encrypted(prod_plan: Plan) -> None:
    """PCI DSS 8.2.8 (idle sessions end within 15 minutes) and 10.2.1 (session activity is
    logged): the account's SSM-SessionManagerRunShell document streams every session to a
    KMS-encrypted log group kept 365 days."""
    (document,) = [
        d
        for d in prod_plan.every("aws:ssm/document:Document")
        if d.inputs["name"] == "SSM-SessionManagerRunShell"
    ]
    assert document.inputs["documentType"] == "Session"
    content = json.loads(document.inputs["content"])
    assert content["sessionType"] == "Standard_Stream"
    inputs = content["inputs"]
    assert 1 <= int(inputs["idleSessionTimeout"]) <= 15
    assert inputs["cloudWatchEncryptionEnabled"] is True
    assert inputs["cloudWatchStreamingEnabled"] is True
    assert inputs["runAsEnabled"] is False
    group = prod_plan.named("prod-sessions", LOG_GROUP)
    assert inputs["cloudWatchLogGroupName"] == group.outputs["name"]
    logs_key = prod_plan.named("prod-logs", "aws:kms/key:Key")
    assert group.inputs["kmsKeyId"] == logs_key.outputs["arn"]
    assert group.inputs["retentionInDays"] >= 365 and group.protect


def test_prod_masks_card_numbers_in_every_log_group(prod_plan: Plan, nonprod_plan: Plan) -> None:
    """PCI DSS 3.3, 3.4.1: one account-level data-protection policy (all log groups, future
    ones included) audits and masks card numbers; nonprod holds no card data."""
    (policy,) = prod_plan.every("aws:cloudwatch/logAccountPolicy:LogAccountPolicy")
    assert policy.inputs["policyType"] == "DATA_PROTECTION_POLICY"
    assert policy.inputs["scope"] == "ALL"
    document = json.loads(policy.inputs["policyDocument"])
    operations = {next(iter(s["Operation"])): s for s in document["Statement"]}
    assert set(operations) == {"Audit", "Deidentify"}
    card = "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"
    assert all(card in s["DataIdentifier"] for s in operations.values())
    assert operations["Deidentify"]["Operation"]["Deidentify"] == {"MaskConfig": {}}
    assert not nonprod_plan.of_type("aws:cloudwatch/logAccountPolicy:LogAccountPolicy")


def test_every_account_has_an_aws_support_role(stack_plan: typing.Any) -> None:
    """Security Hub IAM.18: a role with AWSSupportAccess, assumable only from the account."""
    for stack in ("prod", "nonprod", "management"):
        plan = stack_plan(stack)
        role = plan.named(f"{stack}-aws-support", "aws:iam/role:Role")
        account = str(_account_trail(plan).outputs["arn"]).split(":")[4]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        principal = {"AWS": f"arn:aws:iam::{account}:root"}
        assert decide(trust, Request("sts:AssumeRole", principal=principal)) == "allow"
        assert (
            decide(
                trust,
                Request("sts:AssumeRole", principal={"AWS": "arn:aws:iam::999999999999:root"}),
            )
            != "allow"
        )
        (attachment,) = [
            a
            for a in plan.every("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role.outputs["name"]
        ]
        assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AWSSupportAccess"


def _alert_of(target: Registered) -> str:
    template = target.inputs["inputTransformer"]["inputTemplate"]
    return str(json.loads(template.replace("<aws.events.event.json>", "{}"))["alert"])


def test_security_alerts_are_named_and_the_pager_gets_only_its_own(prod_plan: Plan) -> None:
    """Every route wraps its event as {"alert": <route>, "event": ...}; a subscription with
    `alerts` gets only those routes through an SNS message-body filter (SNS Developer Guide,
    "Message body filtering"), so the pager hears tampering, root activity and GuardDuty and
    e-mail hears everything."""
    topic = prod_plan.stack_outputs["securityTopicArn"]
    targets = [t for t in prod_plan.every(TARGET) if t.inputs["arn"] == topic]
    alerts = {_alert_of(t) for t in targets}
    assert alerts == {
        "guardduty",
        "securityhub",
        "root-activity",
        "inspector",
        "access-analyzer",
        "tampering",
    }
    subscriptions = {s.name: s for s in prod_plan.every(SUBSCRIPTION) if s.inputs["topic"] == topic}
    pager = subscriptions["prod-security-pager"].inputs
    assert pager["protocol"] == "https" and pager["filterPolicyScope"] == "MessageBody"
    wanted = set(json.loads(pager["filterPolicy"])["alert"])
    assert wanted == {"tampering", "root-activity", "guardduty"} and wanted < alerts
    assert "filterPolicy" not in subscriptions["prod-security-secops"].inputs


TAMPERING = {
    "cloudtrail.amazonaws.com": {"StopLogging", "DeleteTrail", "UpdateTrail"},
    "config.amazonaws.com": {
        "StopConfigurationRecorder",
        "DeleteConfigurationRecorder",
        "DeleteDeliveryChannel",
    },
    "guardduty.amazonaws.com": {"DeleteDetector"},
    "securityhub.amazonaws.com": {"DisableSecurityHub"},
    "kms.amazonaws.com": {"ScheduleKeyDeletion", "DisableKey"},
    "logs.amazonaws.com": {"DeleteLogGroup", "PutRetentionPolicy"},
}


def test_the_tampering_rule_watches_every_call_the_issue_lists(prod_plan: Plan) -> None:
    pattern = json.loads(prod_plan.named("prod-tampering", RULE).inputs["eventPattern"])
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    for source, names in TAMPERING.items():
        assert source in pattern["detail"]["eventSource"], source
        assert f"aws.{source.split('.')[0]}" in pattern["source"], source
        assert names <= set(pattern["detail"]["eventName"]), source


def test_the_organization_trail_archives_every_account_in_the_log_archive_account(
    stack_plan: typing.Any,
) -> None:
    """PCI DSS 10.3.3: audit logs leave the workload accounts. The organization trail
    (management account) delivers into a bucket and key of the log-archive account, reached
    only through the provider assuming OrganizationAccountAccessRole there; the bucket is
    locked in COMPLIANCE mode and both are protected."""
    plan = stack_plan("management")
    (org_trail,) = [t for t in plan.every(TRAIL) if t.inputs.get("isOrganizationTrail")]
    assert org_trail.inputs["isMultiRegionTrail"] and org_trail.inputs["enableLogFileValidation"]
    log_archive_id = plan.named("management-account-log-archive").outputs["id"]
    provider = plan.named("prod-aws-log-archive", "pulumi:providers:aws")
    assert json.loads(provider.inputs["allowedAccountIds"]) == [log_archive_id]
    roles = json.loads(provider.inputs["assumeRoles"])
    assert roles[-1]["roleArn"] == (
        f"arn:aws:iam::{log_archive_id}:role/OrganizationAccountAccessRole"
    )
    bucket = next(
        b for b in plan.every(BUCKET) if b.outputs["id"] == org_trail.inputs["s3BucketName"]
    )
    key = plan.named("management-org-trail", "aws:kms/key:Key")
    for resource in (bucket, key):
        assert resource.provider.startswith(provider.urn), resource.name
        assert resource.protect, resource.name
    assert org_trail.inputs["kmsKeyId"] == key.outputs["arn"]
    assert f":{log_archive_id}:" in key.outputs["arn"]
    assert _lock_of(plan, bucket)["mode"] == "COMPLIANCE"
    # the trail itself belongs to the management account: no member account can stop it
    assert not org_trail.provider.startswith(provider.urn)


def _inline(plan: Plan, permission_set: str) -> dict[str, Any]:
    ps = next(
        r
        for r in plan.every("aws:ssoadmin/permissionSet:PermissionSet")
        if r.inputs["name"] == permission_set
    )
    (inline,) = [
        r
        for r in plan.every("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy")
        if r.inputs["permissionSetArn"] == ps.outputs["arn"]
    ]
    return dict(json.loads(inline.inputs["inlinePolicy"]))


LOG_READ = Request("logs:GetLogEvents", "arn:aws:logs:ap-southeast-1:210987654321:log-group:x")


def test_only_security_operations_reads_cde_logs(stack_plan: typing.Any) -> None:
    """PCI DSS 7.2.2, 10.3.1: DeveloperProd, Operator, Auditor and PlatformAdmin are denied
    log events (an explicit Deny wins over any managed policy, AdministratorAccess
    included); SecurityOperations may read them but not unmask card data."""
    plan = stack_plan("management")
    for name in ("DeveloperProd", "Operator", "Auditor", "PlatformAdmin"):
        policy = _inline(plan, name)
        for action in ("logs:GetLogEvents", "logs:StartQuery", "logs:FilterLogEvents"):
            assert decide(policy, Request(action, LOG_READ.resource)) == "deny", (name, action)
        for action in ("s3:GetObject", "secretsmanager:GetSecretValue", "kms:Decrypt"):
            assert decide(policy, Request(action, "*")) == "deny", (name, action)
    secops = _inline(plan, "SecurityOperations")
    assert decide(secops, LOG_READ) == "allow"
    assert decide(secops, Request("logs:Unmask", LOG_READ.resource)) == "deny"
    assert decide(secops, Request("s3:GetObject", "*")) == "deny"
    sets = {r.inputs["name"]: r for r in plan.every("aws:ssoadmin/permissionSet:PermissionSet")}
    for name in ("DeveloperProd", "Operator"):
        assert _policies_of(plan, sets[name].outputs["arn"]) == {
            "job-function/ViewOnlyAccess",
            "<inline>",
        }


INSTANCE = "arn:aws:ec2:ap-southeast-1:210987654321:instance/i-0123456789abcdef0"
SHELL = "arn:aws:ssm:ap-southeast-1:210987654321:document/SSM-SessionManagerRunShell"


def test_operators_run_only_named_documents_on_tagged_instances_and_keep_alarms(
    stack_plan: typing.Any,
) -> None:
    """PCI DSS 7.2.1, 7.2.2, 10.7: a session or a named document, only on an instance tagged
    component=ha-app-tier; no AWS-RunShellScript, no port forwarding; no alarm disabled,
    set to OK or deleted (Systems Manager User Guide, "Additional sample IAM policies for
    Session Manager")."""
    policy = _inline(stack_plan("management"), "Operator")
    app = {"ssm:resourceTag/component": "ha-app-tier"}
    other = {"ssm:resourceTag/component": "managed-data-tier"}
    assert decide(policy, Request("ssm:StartSession", INSTANCE, context=app)) == "allow"
    assert decide(policy, Request("ssm:StartSession", SHELL)) == "allow"
    assert decide(policy, Request("ssm:StartSession", INSTANCE, context=other)) != "allow"
    assert decide(policy, Request("ssm:StartSession", INSTANCE)) != "allow"
    port_forwarding = "arn:aws:ssm:ap-southeast-1::document/AWS-StartPortForwardingSession"
    assert decide(policy, Request("ssm:StartSession", port_forwarding)) != "allow"
    patch = "arn:aws:ssm:ap-southeast-1::document/AWS-RunPatchBaseline"
    shell = "arn:aws:ssm:ap-southeast-1::document/AWS-RunShellScript"
    assert decide(policy, Request("ssm:SendCommand", patch)) == "allow"
    assert decide(policy, Request("ssm:SendCommand", INSTANCE, context=app)) == "allow"
    assert decide(policy, Request("ssm:SendCommand", INSTANCE, context=other)) != "allow"
    assert decide(policy, Request("ssm:SendCommand", shell)) != "allow"
    for action in (
        "cloudwatch:DisableAlarmActions",
        "cloudwatch:SetAlarmState",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:PutMetricAlarm",
    ):
        assert decide(policy, Request(action, "*")) == "deny", action
