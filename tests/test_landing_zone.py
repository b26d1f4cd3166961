"""LandingZone: the audit trail, detection, guardrails and access model an assessor reviews."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from components.core.settings import StackContext
from components.landing_zone import LandingZone, LandingZoneSettings
from components.landing_zone.baseline import CONFORMANCE_TEMPLATE_MAX_BYTES
from components.landing_zone.organization import (
    GLOBAL_SERVICE_ACTIONS,
    SCP_MAX_CHARS,
    SCP_MAX_PER_TARGET,
    render_scp,
    service_control_policies,
)
from components.landing_zone.settings import ServiceControlPolicySettings
from components.testing import Plan, Registered, run_offline

BUCKET = "aws:s3/bucket:Bucket"
TOPIC = "aws:sns/topic:Topic"

MANAGEMENT: dict[str, Any] = {
    "organization": {
        "enabled": True,
        "organizationalUnits": {
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
        "controlTower": {
            "enabled": True,
            "governedRegions": ["ap-southeast-1"],
            "controls": {
                "deny-public-rds": {
                    "controlIdentifier": "arn:aws:controlcatalog:::control/abc123def456",
                    "ou": "workloads-prod",
                }
            },
        },
        "identityCenter": {
            "assignments": {
                "developers-prod": {
                    "groupName": "Developers",
                    "account": "prod",
                    "role": "Developer",
                },
                "developers-nonprod": {
                    "groupName": "Developers",
                    "account": "nonprod",
                    "role": "Developer",
                },
                "auditors-prod": {
                    "groupId": "0a1b2c3d4e-12345678-1234-1234-1234-123456789012",
                    "account": "prod",
                    "role": "Auditor",
                },
            }
        },
    },
    "notifications": {
        "alarmSubscriptions": {"on-call": {"protocol": "email", "endpoint": "oncall@example.com"}},
        "securitySubscriptions": {
            "secops": {"protocol": "https", "endpoint": "https://siem.example.com/hook"}
        },
    },
    "budget": {"monthlyLimitUsd": 12000, "emails": ["finops@example.com"]},
}


def _run(data: dict[str, Any], environment: str = "prod") -> tuple[Plan, dict[str, Any]]:
    settings = LandingZoneSettings.model_validate(data)
    outputs: dict[str, Any] = {}

    def program() -> None:
        lz = LandingZone(environment, settings, context=StackContext(environment=environment))  # type: ignore[arg-type]
        outputs["lz"] = lz
        import pulumi

        pulumi.export("alarmTopicArn", lz.alarm_topic_arn)
        pulumi.export("securityTopicArn", lz.security_topic_arn)
        pulumi.export("trailArn", lz.trail_arn)
        pulumi.export("permissionSetArns", lz.permission_set_arns)
        pulumi.export("accountIds", lz.account_ids)

    plan = run_offline(program)
    return plan, plan.stack_outputs


@pytest.fixture(scope="module")
def management() -> tuple[Plan, dict[str, Any]]:
    return _run(MANAGEMENT)


@pytest.fixture(scope="module")
def workload() -> Plan:
    return _run({})[0]


@pytest.fixture(scope="module")
def nonprod() -> Plan:
    data = {"trail": {"logRetentionDays": 90}, "awsConfig": {"manageRecorder": False}}
    return _run(data, environment="nonprod")[0]


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
    group = one(workload, "aws:cloudwatch/logGroup:LogGroup")
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
    group = one(workload, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] >= 365
    for name in ("prod-trail", "prod-access-logs"):
        assert workload.named(name, BUCKET).protect, name
    assert workload.named("prod-logs").protect
    assert group.protect
    assert workload.named("prod-trail", BUCKET).inputs["forceDestroy"] is False


def test_nonprod_audit_data_is_not_protected_from_teardown(nonprod: Plan) -> None:
    assert not nonprod.named("nonprod-trail", BUCKET).protect
    assert one(nonprod, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 90


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
    for sub in workload.of_type("aws:securityhub/standardsSubscription:StandardsSubscription"):
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
    rules = {r.name: r for r in workload.of_type("aws:cloudwatch/eventRule:EventRule")}
    guardduty = json.loads(rules["prod-guardduty"].inputs["eventPattern"])
    assert guardduty["detail"]["severity"] == [{"numeric": [">=", 7]}]
    hub = json.loads(rules["prod-securityhub"].inputs["eventPattern"])
    assert set(hub["detail"]["findings"]["Severity"]["Label"]) == {"CRITICAL", "HIGH"}
    assert hub["detail"]["findings"]["Workflow"]["Status"] == ["NEW"]
    targets = {
        t.inputs["rule"]: t.inputs["arn"]
        for t in workload.of_type("aws:cloudwatch/eventTarget:EventTarget")
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
        assert descendants == {r.urn for r in plan if r.urn != component.urn}
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
    assert region["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["ap-southeast-1"]
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
    tamper = set(baseline["DenySecurityServiceTampering"]["Action"])
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
    for policy in management[0].of_type("aws:organizations/policy:Policy"):
        assert len(policy.inputs["content"]) <= SCP_MAX_CHARS, policy.name
    # and with a long region allow-list too
    many = ServiceControlPolicySettings(
        allowedRegions=[
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


def test_an_oversized_scp_is_rejected_before_anything_is_registered() -> None:
    patterns = [f"arn:aws:iam::*:role/pipeline-role-with-a-long-name-{i:03d}" for i in range(120)]
    settings = LandingZoneSettings.model_validate(
        {
            "organization": {
                "enabled": True,
                "serviceControlPolicies": {"exemptRolePatterns": patterns},
            }
        }
    )
    errors: list[Exception] = []

    def program() -> None:
        try:
            LandingZone("prod", settings, context=StackContext(environment="prod"))
        except ValueError as exc:
            errors.append(exc)

    plan = run_offline(program)
    assert len(errors) == 1 and "organization.serviceControlPolicies" in str(errors[0])
    assert "5120" in str(errors[0])
    assert len(plan) == 0


def test_each_workload_ou_keeps_scp_attachments_within_the_aws_limit(
    management: tuple[Plan, dict[str, Any]],
) -> None:
    plan = management[0]
    per_target: dict[str, int] = {}
    for attachment in plan.of_type("aws:organizations/policyAttachment:PolicyAttachment"):
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
    assert workloads.inputs["parentId"] == "r-off1"
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
    assert _policies_of(plan, dev_prod["permissionSetArn"]) == {"ReadOnlyAccess"}
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
        "BreakGlass",
    }
    assert sets["PlatformAdmin"].inputs["sessionDuration"] == "PT1H"
    assert sets["BreakGlass"].inputs["sessionDuration"] == "PT1H"
    assert sets["Developer"].inputs["sessionDuration"] == "PT8H"
    assert all(
        s.inputs["instanceArn"] == "arn:aws:sso:::instance/ssoins-offline0123456789"
        for s in sets.values()
    )
    assert _policies_of(plan, sets["Auditor"].outputs["arn"]) == {
        "SecurityAudit",
        "job-function/ViewOnlyAccess",
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


# --- validation -------------------------------------------------------------------------------


def _rejected(data: dict[str, Any], *keys: str) -> str:
    with pytest.raises(ValidationError) as error:
        LandingZoneSettings.model_validate(data)
    message = str(error.value)
    for key in keys:
        assert key in message, (key, message)
    return message


def _org(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(MANAGEMENT))
    data["organization"].update(changes)
    return data


def test_a_bad_account_email_is_rejected() -> None:
    accounts = {"prod": {"name": "Prod", "email": "not-an-email", "ou": "workloads-prod"}}
    _rejected(_org(accounts=accounts, controlTower={}, identityCenter={}), "email", "not-an-email")


def test_an_account_in_an_unknown_ou_is_rejected() -> None:
    accounts = {"prod": {"name": "Prod", "email": "p@example.com", "ou": "workload-prod"}}
    _rejected(
        _org(accounts=accounts, controlTower={}, identityCenter={}),
        "accounts.prod.ou",
        "workload-prod",
    )


def test_duplicate_account_emails_are_rejected() -> None:
    accounts = {
        "a": {"name": "A", "email": "same@example.com"},
        "b": {"name": "B", "email": "SAME@example.com"},
    }
    _rejected(_org(accounts=accounts, controlTower={}, identityCenter={}), "accounts", "unique")


def test_an_ou_with_an_unknown_parent_or_a_cycle_is_rejected() -> None:
    _rejected(
        _org(
            organizationalUnits={"a": {"name": "A", "parent": "zzz"}},
            accounts={},
            controlTower={},
            identityCenter={},
        ),
        "organizationalUnits.a.parent",
    )
    cycle = {"a": {"name": "A", "parent": "b"}, "b": {"name": "B", "parent": "a"}}
    _rejected(
        _org(organizationalUnits=cycle, accounts={}, controlTower={}, identityCenter={}), "cycle"
    )


def test_control_tower_needs_the_shared_accounts_and_its_own_security_ou() -> None:
    data = _org(controlTower={"enabled": True, "logArchiveAccount": "logs"})
    _rejected(data, "controlTower.logArchiveAccount", "'logs'")
    data = _org(
        organizationalUnits={"security": {"name": "Security"}}, controlTower={"enabled": True}
    )
    _rejected(data, "controlTower.securityOuName")


def test_an_assignment_to_an_unknown_account_or_without_one_group_is_rejected() -> None:
    ic = {"assignments": {"x": {"groupName": "Ops", "account": "staging", "role": "Operator"}}}
    _rejected(_org(identityCenter=ic), "identityCenter.assignments.x.account", "staging")
    ic = {"assignments": {"x": {"account": "prod", "role": "Operator"}}}
    _rejected(_org(identityCenter=ic), "groupId or groupName")


def test_session_durations_outside_aws_range_or_long_admin_sessions_are_rejected() -> None:
    _rejected(
        _org(identityCenter={"sessionDurations": {"Operator": "PT13H"}}),
        "sessionDurations.Operator",
    )
    _rejected(
        _org(identityCenter={"sessionDurations": {"BreakGlass": "PT4H"}}),
        "sessionDurations.BreakGlass",
    )
    _rejected(_org(identityCenter={"sessionDurations": {"Auditor": "8 hours"}}), "PT8H")


def test_a_budget_threshold_out_of_range_is_rejected() -> None:
    _rejected({"budget": {"thresholds": [{"percent": 0}]}}, "percent")
    _rejected({"budget": {"thresholds": [{"percent": 1500, "type": "FORECASTED"}]}}, "percent")
    _rejected({"budget": {"emails": ["finops"]}}, "emails[0]")


def test_a_weak_password_policy_is_rejected() -> None:
    _rejected({"passwordPolicy": {"minimumLength": 8}}, "minimumLength", "8.3.6")
    _rejected({"passwordPolicy": {"reusePrevention": 2}}, "reusePrevention")
    _rejected({"passwordPolicy": {"maxAgeDays": 365}}, "maxAgeDays")


def test_bad_trail_retention_and_lifecycle_are_rejected() -> None:
    _rejected({"trail": {"logRetentionDays": 366}}, "logRetentionDays", "365")
    _rejected({"trail": {"transitionDays": 400, "expirationDays": 365}}, "expirationDays")
    _rejected(
        {"trail": {"expirationDays": 400, "objectLock": {"enabled": True, "retentionDays": 730}}},
        "objectLock.retentionDays",
    )


def test_bad_subscriptions_and_severities_are_rejected() -> None:
    bad_email = {"alarmSubscriptions": {"on-call": {"protocol": "email", "endpoint": "oncall"}}}
    _rejected({"notifications": bad_email}, "endpoint")
    bad_url = {"securitySubscriptions": {"siem": {"protocol": "https", "endpoint": "http://x"}}}
    _rejected({"notifications": bad_url}, "https://")
    _rejected({"guardDuty": {"minAlertSeverity": 11}}, "minAlertSeverity")
    _rejected({"guardDuty": {"features": ["MALWARE"]}}, "features")


def test_bad_scp_settings_are_rejected() -> None:
    _rejected(_org(serviceControlPolicies={"allowedRegions": ["singapore"]}), "allowedRegions")
    _rejected(_org(serviceControlPolicies={"targetOus": ["workloads-staging"]}), "targetOus")
    _rejected(_org(serviceControlPolicies={"exemptRolePatterns": ["admin"]}), "exemptRolePatterns")


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
