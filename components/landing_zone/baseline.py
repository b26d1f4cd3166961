"""The account security baseline every stack gets: audit trail, detection, guardrails, alerts.

PCI DSS 10 (log and monitor all access), 11.5 (detect intrusions), 8.3 (authentication
policy) and 3.5/4.2 (encryption at rest and in transit) for the account the stack runs in.
Each step builds one group of children of the LandingZone, taking its :class:`Scope` first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import assume_role_policy, policy_json
from ..core.kms import account_administers_key, customer_managed_key
from ..core.problems import raise_problems
from ..core.s3 import private_bucket
from ..core.scope import Scope
from .checks import check_global_events_route

# the pack's rules and template live in conformance.py (re-exported here, where they were)
from .conformance import CONFORMANCE_TEMPLATE_MAX_BYTES as CONFORMANCE_TEMPLATE_MAX_BYTES
from .conformance import PCI_CONFORMANCE_RULES as PCI_CONFORMANCE_RULES
from .conformance import ManagedRule, conformance_templates
from .conformance import available as available_rules
from .conformance import conformance_template as conformance_template
from .conformance import render as render_conformance
from .settings import (
    BudgetSettings,
    ConfigRecorderSettings,
    GuardDutySettings,
    LandingZoneSettings,
    NotificationSettings,
    PasswordPolicySettings,
    SecurityHubSettings,
    Subscription,
    TrailSettings,
)

#: Where AWS Config writes under the trail bucket (``<prefix>/AWSLogs/<account>/Config/``).
CONFIG_PREFIX = "config"


def trail_name(scope: Scope) -> str:
    return f"{scope.name}-trail"


def trail_arn(scope: Scope) -> pulumi.Output[str]:
    """The trail's ARN, known before the trail exists (the key and bucket policies name it:
    CloudTrail checks both when the trail is created)."""
    return scope.env.arn("cloudtrail", f"trail/{trail_name(scope)}")


# --- keys --------------------------------------------------------------------------------


def logs_key(scope: Scope) -> aws.kms.Key:
    """The CMK of the audit data: CloudTrail (this trail only), CloudWatch Logs of this
    region and account, and AWS Config snapshots."""
    env = scope.env
    trail = trail_arn(scope)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            account_administers_key(env),
            {
                # CloudTrail encrypts only for this account's trail (confused deputy guard)
                "Sid": "CloudTrailEncryptsLogs",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": pulumi.Output.all(
                            env.partition, env.account_id
                        ).apply(lambda p: f"arn:{p[0]}:cloudtrail:*:{p[1]}:trail/*")
                    },
                },
            },
            {
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
            {
                "Sid": "LogsEncryptLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": env.service_endpoint("logs")},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": env.arn("logs", "log-group:*")
                    }
                },
            },
            {
                # the recorder's role uses the key through S3 (the account delegates to IAM
                # above); this admits Config's service principal, which AWS falls back to when
                # the role cannot ("Permissions for the KMS Key for the AWS Config Delivery
                # Channel")
                "Sid": "ConfigEncryptsSnapshots",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": env.account_id}},
            },
        ],
    }
    return customer_managed_key(
        f"{scope.name}-logs",
        description="Encrypts CloudTrail, AWS Config and CloudWatch Logs audit data",
        policy=policy_json(policy),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
    )


def notifications_key(scope: Scope) -> aws.kms.Key:
    """The CMK of the alarm and security topics."""
    env = scope.env
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            account_administers_key(env),
            {
                # publishers to an encrypted topic need the key (SNS SSE rule)
                "Sid": "PublishersUseKey",
                "Effect": "Allow",
                "Principal": {
                    "Service": [
                        "budgets.amazonaws.com",
                        "cloudwatch.amazonaws.com",
                        "dms.amazonaws.com",
                        "events.amazonaws.com",
                    ]
                },
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
            {
                "Sid": "AccountUsesKeyThroughSns",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": env.account_id,
                        "kms:ViaService": env.service_endpoint("sns"),
                    }
                },
            },
        ],
    }
    return customer_managed_key(
        f"{scope.name}-notifications",
        description="Encrypts the alarm and security SNS topics",
        policy=policy_json(policy),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
    )


# --- trail bucket ----------------------------------------------------------------------------


def _private_bucket(scope: Scope, role: str, *, object_lock: bool = False) -> aws.s3.Bucket:
    bucket, _ = private_bucket(
        f"{scope.name}-{role}",
        context=scope.context,
        tags=scope.tags(Name=f"{scope.name}-{role}"),
        parent=scope.parent,
        object_lock=object_lock,
    )
    return bucket


def access_log_bucket(scope: Scope, trail: TrailSettings) -> aws.s3.Bucket:
    """Where S3 writes the trail bucket's server access logs."""
    bucket = _private_bucket(scope, "access-logs")
    # S3 server access logging can deliver only to SSE-S3 buckets, not SSE-KMS
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{scope.name}-access-logs",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=scope.opts(),
    )
    days = trail.access_log_expiration_days
    aws.s3.BucketLifecycleConfiguration(
        f"{scope.name}-access-logs",
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": days},
                "noncurrent_version_expiration": {"noncurrent_days": 30},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=scope.opts(),
    )
    return bucket


def trail_bucket(
    scope: Scope, trail: TrailSettings, key: aws.kms.Key, access_logs: aws.s3.Bucket
) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    """The bucket of the trail and the Config snapshots, and its policy (which CloudTrail
    and Config need in place before they deliver)."""
    lock = trail.object_lock
    bucket = _private_bucket(scope, "trail", object_lock=lock.enabled)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{scope.name}-trail",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key.arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=scope.opts(),
    )
    aws.s3.BucketLogging(
        f"{scope.name}-trail",
        bucket=bucket.id,
        target_bucket=access_logs.id,
        target_prefix="trail/",
        opts=scope.opts(),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{scope.name}-trail",
        bucket=bucket.id,
        rules=[
            {
                "id": "archive-then-expire",
                "status": "Enabled",
                "filter": {},
                "transitions": [{"days": trail.transition_days, "storage_class": "GLACIER"}],
                "expiration": {"days": trail.expiration_days},
                "noncurrent_version_expiration": {"noncurrent_days": 90},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=scope.opts(),
    )
    if lock.enabled:
        aws.s3.BucketObjectLockConfiguration(
            f"{scope.name}-trail",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": lock.mode, "days": lock.retention_days}},
            opts=scope.opts(),
        )
    policy = aws.s3.BucketPolicy(
        f"{scope.name}-trail",
        bucket=bucket.id,
        policy=policy_json(trail_bucket_policy(scope, bucket.arn, key.arn)),
        opts=scope.opts(),
    )
    aws.s3.BucketPolicy(
        f"{scope.name}-access-logs",
        bucket=access_logs.id,
        policy=policy_json(access_log_bucket_policy(scope, access_logs.arn, bucket.arn)),
        opts=scope.opts(),
    )
    return bucket, policy


def _tls_only(bucket_arn: pulumi.Output[str]) -> dict[str, Any]:
    # PCI DSS 4.2.1: audit data only over TLS
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, bucket_arn.apply(lambda a: f"{a}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def trail_bucket_policy(
    scope: Scope, bucket_arn: pulumi.Output[str], key_arn: pulumi.Output[str]
) -> dict[str, Any]:
    account = scope.env.account_id
    trail = trail_arn(scope)
    objects = bucket_arn.apply(lambda a: f"{a}/*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            _tls_only(bucket_arn),
            {
                # an object encrypted with another key (or SSE-S3) would escape our key policy
                "Sid": "DenyOtherEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
                },
            },
            {
                "Sid": "DenyOtherKmsKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEqualsIfExists": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn
                    }
                },
            },
            {
                "Sid": "CloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
            {
                "Sid": "CloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": pulumi.Output.all(bucket_arn, account).apply(
                    lambda p: f"{p[0]}/cloudtrail/AWSLogs/{p[1]}/*"
                ),
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": trail,
                    }
                },
            },
            {
                # Config delivers as the recorder's role (config_delivery_policy); AWS retries
                # as its service principal when the role cannot, which these two statements
                # admit, for this account only (AWS Config Developer Guide, "Permissions for
                # the Amazon S3 Bucket for the AWS Config Delivery Channel")
                "Sid": "ConfigAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            {
                "Sid": "ConfigWrite",
                "Effect": "Allow",
                "Principal": {"Service": "config.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": pulumi.Output.all(bucket_arn, account).apply(
                    lambda p: f"{p[0]}/{CONFIG_PREFIX}/AWSLogs/{p[1]}/Config/*"
                ),
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceAccount": account,
                    }
                },
            },
        ],
    }


def access_log_bucket_policy(
    scope: Scope, bucket_arn: pulumi.Output[str], source_bucket_arn: pulumi.Output[str]
) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            _tls_only(bucket_arn),
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": bucket_arn.apply(lambda a: f"{a}/trail/*"),
                "Condition": {
                    "ArnLike": {"aws:SourceArn": source_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": scope.env.account_id},
                },
            },
        ],
    }


# --- trail -----------------------------------------------------------------------------------


def audit_trail(
    scope: Scope,
    trail: TrailSettings,
    key: aws.kms.Key,
    bucket: aws.s3.Bucket,
    bucket_policy: aws.s3.BucketPolicy,
) -> aws.cloudtrail.Trail:
    """The multi-region trail, delivering to the bucket and to a CloudWatch log group."""
    log_group = aws.cloudwatch.LogGroup(
        f"{scope.name}-trail",
        name=f"/aws/cloudtrail/{trail_name(scope)}",
        retention_in_days=trail.log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )
    role = aws.iam.Role(
        f"{scope.name}-trail-logs",
        assume_role_policy=assume_role_policy("cloudtrail.amazonaws.com", scope.env.account_id),
        description="CloudTrail delivers events to its CloudWatch log group",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    role_policy = aws.iam.RolePolicy(
        f"{scope.name}-trail-logs",
        role=role.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": log_group.arn.apply(lambda a: f"{a}:log-stream:*"),
                    }
                ],
            }
        ),
        opts=scope.opts(),
    )
    event_selectors: list[aws.cloudtrail.TrailEventSelectorArgsDict] | None = None
    if trail.s3_data_events:
        event_selectors = [
            {
                "read_write_type": "All",
                "include_management_events": True,
                "data_resources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}],
            }
        ]
    return aws.cloudtrail.Trail(
        f"{scope.name}-trail",
        name=trail_name(scope),
        s3_bucket_name=bucket.id,
        s3_key_prefix="cloudtrail",
        # PCI DSS 10.2.1, 10.3.4: every region, IAM/STS events, tamper-evident digests
        is_multi_region_trail=True,
        include_global_service_events=True,
        enable_log_file_validation=True,
        enable_logging=True,
        kms_key_id=key.arn,
        cloud_watch_logs_group_arn=log_group.arn.apply(lambda a: f"{a}:*"),
        cloud_watch_logs_role_arn=role.arn,
        event_selectors=event_selectors,
        tags=scope.tags(),
        # CloudTrail checks the bucket policy and the role when the trail is created
        opts=scope.opts(depends_on=[bucket_policy, role_policy]),
    )


# --- detection -------------------------------------------------------------------------------


def aws_config(
    scope: Scope,
    cfg: ConfigRecorderSettings,
    key: aws.kms.Key,
    bucket: aws.s3.Bucket,
    bucket_policy: aws.s3.BucketPolicy,
) -> None:
    """The Config recorder (unless Control Tower runs its own) and the PCI DSS pack."""
    status = _recorder(scope, cfg, key, bucket, bucket_policy) if cfg.manage_recorder else None
    if not cfg.conformance_pack:
        return
    packs = conformance_templates(cfg.extra_rules, cfg.excluded_rules)
    for i, rules in enumerate(packs):
        name = f"{scope.name}-pci-dss" + (f"-{i + 1}" if i else "")
        aws.cfg.ConformancePack(
            name,
            name=name,
            # a rule AWS does not offer in the region would fail the whole pack
            template_body=scope.env.region.apply(_pack_template(rules)),
            # the pack's rules need a recorder running first
            opts=scope.opts(depends_on=[status] if status else None),
        )


def _pack_template(rules: list[ManagedRule]) -> Callable[[str], str]:
    return lambda region: render_conformance(available_rules(rules, region))


def config_delivery_policy(
    scope: Scope, bucket_arn: pulumi.Output[str], key_arn: pulumi.Output[str]
) -> dict[str, Any]:
    """What the recorder's own role needs to deliver: AWS Config delivers to a bucket of its
    own account AS THE RECORDER'S ROLE, and ``AWS_ConfigRole`` grants no S3 write and no KMS
    use (it reads resource configurations). Without this, ``PutDeliveryChannel`` fails with
    ``InsufficientDeliveryPolicyException``. The statements are AWS's own: AWS Config
    Developer Guide, "Permissions for the IAM Role Assigned to AWS Config" (S3 bucket and
    KMS key policies of the role) and "Permissions for the Amazon S3 Bucket for the AWS
    Config Delivery Channel" (HeadBucket, i.e. ``s3:ListBucket``, to find the bucket)."""
    account = scope.env.account_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConfigFindsBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": bucket_arn,
            },
            {
                "Sid": "ConfigDelivers",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:PutObjectAcl"],
                "Resource": pulumi.Output.all(bucket_arn, account).apply(
                    lambda p: f"{p[0]}/{CONFIG_PREFIX}/AWSLogs/{p[1]}/Config/*"
                ),
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            },
            {
                # S3 asks KMS for the object's data key with the role's credentials
                "Sid": "ConfigEncryptsThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": scope.env.service_endpoint("s3")}},
            },
        ],
    }


def _recorder(
    scope: Scope,
    cfg: ConfigRecorderSettings,
    key: aws.kms.Key,
    bucket: aws.s3.Bucket,
    bucket_policy: aws.s3.BucketPolicy,
) -> aws.cfg.RecorderStatus:
    # A role of the stack's own, not the AWSServiceRoleForConfig service-linked role: that
    # role is one per account, may already exist (an earlier console set-up, another tool,
    # a former enrolment), and aws.iam.ServiceLinkedRole fails when it does; it also cannot
    # write to S3 or use a key, so Config would deliver as its service principal instead.
    # Our role is created with the stack in a fresh account and in one configured before.
    role = aws.iam.Role(
        f"{scope.name}-config",
        assume_role_policy=assume_role_policy("config.amazonaws.com", scope.env.account_id),
        managed_policy_arns=[
            scope.env.partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/service-role/AWS_ConfigRole"
            )
        ],
        description="AWS Config records resource configuration",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    delivery = aws.iam.RolePolicy(
        f"{scope.name}-config-delivery",
        role=role.id,
        policy=policy_json(config_delivery_policy(scope, bucket.arn, key.arn)),
        opts=scope.opts(),
    )
    recorder = aws.cfg.Recorder(
        f"{scope.name}-config",
        name=f"{scope.name}-recorder",
        role_arn=role.arn,
        recording_group={
            "all_supported": True,
            "include_global_resource_types": cfg.include_global_resources,
        },
        opts=scope.opts(),
    )
    channel = aws.cfg.DeliveryChannel(
        f"{scope.name}-config",
        name=f"{scope.name}-delivery",
        s3_bucket_name=bucket.id,
        s3_key_prefix=CONFIG_PREFIX,
        s3_kms_key_arn=key.arn,
        snapshot_delivery_properties={"delivery_frequency": "TwentyFour_Hours"},
        # PutDeliveryChannel writes a test object as the role at once (the provider retries
        # InsufficientDeliveryPolicyException while IAM propagates the new policy)
        opts=scope.opts(depends_on=[recorder, bucket_policy, delivery]),
    )
    return aws.cfg.RecorderStatus(
        f"{scope.name}-config",
        name=recorder.name,
        is_enabled=True,
        opts=scope.opts(depends_on=[channel]),
    )


def guardduty(scope: Scope, gd: GuardDutySettings) -> aws.guardduty.Detector:
    detector = aws.guardduty.Detector(
        f"{scope.name}-guardduty",
        enable=True,
        finding_publishing_frequency="FIFTEEN_MINUTES",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    for feature in gd.features:
        aws.guardduty.DetectorFeature(
            f"{scope.name}-guardduty-{feature.lower().replace('_', '-')}",
            detector_id=detector.id,
            name=feature,
            status="ENABLED",
            opts=scope.opts(),
        )
    return detector


def security_hub(scope: Scope, hub: SecurityHubSettings) -> None:
    account = aws.securityhub.Account(
        f"{scope.name}-securityhub",
        # subscribe the standards explicitly, so the set is reviewed in code
        enable_default_standards=False,
        control_finding_generator="SECURITY_CONTROL",
        auto_enable_controls=True,
        opts=scope.opts(),
    )
    standards: dict[str, str] = {}
    if hub.pci_dss_version:
        standards["pci-dss"] = f"standards/pci-dss/v/{hub.pci_dss_version}"
    if hub.foundational_best_practices:
        standards["fsbp"] = "standards/aws-foundational-security-best-practices/v/1.0.0"
    for key, path in standards.items():
        aws.securityhub.StandardsSubscription(
            f"{scope.name}-securityhub-{key}",
            standards_arn=standards_arn(scope, path),
            opts=scope.opts(depends_on=[account]),
        )


def standards_arn(scope: Scope, path: str) -> pulumi.Output[str]:
    return pulumi.Output.all(scope.env.partition, scope.env.region).apply(
        lambda p: f"arn:{p[0]}:securityhub:{p[1]}::{path}"
    )


def account_guardrails(scope: Scope, pw: PasswordPolicySettings) -> None:
    """Access Analyzer, EBS encryption by default, the account's S3 public access block and
    the IAM password policy."""
    aws.accessanalyzer.Analyzer(
        f"{scope.name}-access-analyzer",
        analyzer_name=f"{scope.name}-account",
        type="ACCOUNT",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.ebs.EncryptionByDefault(f"{scope.name}-ebs-encryption", enabled=True, opts=scope.opts())
    aws.s3.AccountPublicAccessBlock(
        f"{scope.name}-s3-public-access",
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=scope.opts(),
    )
    aws.iam.AccountPasswordPolicy(
        f"{scope.name}-password-policy",
        minimum_password_length=pw.minimum_length,
        require_lowercase_characters=True,
        require_uppercase_characters=True,
        require_numbers=True,
        require_symbols=True,
        password_reuse_prevention=pw.reuse_prevention,
        max_password_age=pw.max_age_days,
        allow_users_to_change_password=True,
        hard_expiry=False,
        opts=scope.opts(),
    )


# --- notifications ---------------------------------------------------------------------------


def _topic(
    scope: Scope,
    role: str,
    key: aws.kms.Key,
    publishers: list[dict[str, Any]],
    subscriptions: Mapping[str, Subscription],
) -> aws.sns.Topic:
    topic = aws.sns.Topic(
        f"{scope.name}-{role}",
        kms_master_key_id=key.arn,
        tags=scope.tags(Name=f"{scope.name}-{role}"),
        opts=scope.opts(),
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountManagesTopic",
            "Effect": "Allow",
            "Principal": {"AWS": scope.env.root_principal()},
            "Action": [
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:AddPermission",
                "sns:RemovePermission",
                "sns:DeleteTopic",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:Publish",
            ],
            "Resource": topic.arn,
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic.arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    for publisher in publishers:
        statements.append(
            {**publisher, "Effect": "Allow", "Action": "sns:Publish", "Resource": topic.arn}
        )
    aws.sns.TopicPolicy(
        f"{scope.name}-{role}",
        arn=topic.arn,
        policy=policy_json({"Version": "2012-10-17", "Statement": statements}),
        opts=scope.opts(),
    )
    for sub_name, sub in subscriptions.items():
        aws.sns.TopicSubscription(
            f"{scope.name}-{role}-{sub_name}",
            topic=topic.arn,
            protocol=sub.protocol,
            endpoint=sub.endpoint,
            opts=scope.opts(),
        )
    return topic


#: CIS 4.3 / PCI DSS 10.2.1.2: any use of the root user is an incident. CloudTrail puts
#: these events on the default bus of the region they are recorded in: a root console
#: sign-in and the calls of global services (IAM, STS) are recorded in us-east-1.
ROOT_ACTIVITY_PATTERN: dict[str, Any] = {
    "detail-type": [
        "AWS API Call via CloudTrail",
        "AWS Console Sign In via CloudTrail",
    ],
    "detail": {"userIdentity": {"type": ["Root"]}},
}


def global_events_route(
    scope: Scope, us_east_1: pulumi.ProviderResource | None
) -> pulumi.Output[bool]:
    """Whether the root-activity route is complete, checked when the providers answer (the
    home region and account are known only then): True when it needs the forwarder from
    us-east-1; a ComponentConfigError naming ``us_east_1_provider`` when the provider is
    missing, in another region or another account (``pulumi preview`` shows it before
    anything is created)."""
    home = pulumi.Output.all(scope.env.region, scope.env.account_id)
    there: pulumi.Output[Any] = pulumi.Output.from_input(None)
    if us_east_1 is not None:
        opts = pulumi.InvokeOutputOptions(parent=scope.parent, provider=us_east_1)
        there = pulumi.Output.all(
            aws.get_region_output(opts=opts).region,
            aws.get_caller_identity_output(opts=opts).account_id,
        )

    def check(args: list[Any]) -> bool:
        (region, account), forwarder = args
        problems = check_global_events_route(
            region, account, (str(forwarder[0]), str(forwarder[1])) if forwarder else None
        )
        raise_problems("LandingZone", scope.name, problems, LandingZoneSettings)
        return forwarder is not None

    return pulumi.Output.all(home, there).apply(check)


def _after(route: pulumi.Output[bool], pattern: dict[str, Any]) -> pulumi.Output[str]:
    """The rendered pattern, once ``route`` is checked (a broken route stops the rule)."""
    return route.apply(lambda _: json.dumps(pattern, sort_keys=True))


def security_routes(
    scope: Scope,
    gd: GuardDutySettings,
    hub: SecurityHubSettings,
    notifications: NotificationSettings,
    key: aws.kms.Key,
    route: pulumi.Output[bool],
) -> tuple[aws.sns.Topic, list[aws.cloudwatch.EventRule]]:
    """EventBridge rules sending GuardDuty and Security Hub findings and any root activity
    to the security topic; the topic and the rules. ``route`` (global_events_route) gates
    the root-activity rule, which misses global services' events without the forwarder."""
    patterns: dict[str, pulumi.Input[str]] = {
        "guardduty": json.dumps(
            {
                "source": ["aws.guardduty"],
                "detail-type": ["GuardDuty Finding"],
                "detail": {"severity": [{"numeric": [">=", gd.min_alert_severity]}]},
            },
            sort_keys=True,
        ),
        "root-activity": _after(route, ROOT_ACTIVITY_PATTERN),
    }
    if hub.alert_severities:
        patterns["securityhub"] = json.dumps(
            {
                "source": ["aws.securityhub"],
                "detail-type": ["Security Hub Findings - Imported"],
                "detail": {
                    "findings": {
                        "Severity": {"Label": list(hub.alert_severities)},
                        "Workflow": {"Status": ["NEW"]},
                        "RecordState": ["ACTIVE"],
                    }
                },
            },
            sort_keys=True,
        )
    rules = {
        name: aws.cloudwatch.EventRule(
            f"{scope.name}-{name}",
            description=f"Route {name} findings to the security topic",
            event_pattern=pattern,
            tags=scope.tags(),
            opts=scope.opts(),
        )
        for name, pattern in patterns.items()
    }
    topic = _topic(
        scope,
        "security",
        key,
        [
            {
                "Sid": "EventBridgePublishesFindings",
                "Principal": {"Service": "events.amazonaws.com"},
                "Condition": {"ArnEquals": {"aws:SourceArn": [r.arn for r in rules.values()]}},
            }
        ],
        notifications.security_subscriptions,
    )
    for name, rule in rules.items():
        aws.cloudwatch.EventTarget(
            f"{scope.name}-{name}",
            rule=rule.name,
            arn=topic.arn,
            target_id="security-topic",
            opts=scope.opts(),
        )
    return topic, list(rules.values())


def global_events_forwarder(
    scope: Scope, us_east_1: pulumi.ProviderResource | None, route: pulumi.Output[bool]
) -> aws.cloudwatch.EventRule | None:
    """From us-east-1, the root activity EventBridge sees only there (console sign-in, IAM,
    STS: CloudTrail User Guide, "AWS Management Console sign-in events"; EventBridge User
    Guide, "AWS service events delivered via AWS CloudTrail") goes to the home region's
    default bus, where the root-activity rule sends it to the security topic. A rule whose
    target is another region's bus needs a role EventBridge assumes, allowed
    ``events:PutEvents`` on that bus; a bus of the same account needs no bus policy
    (EventBridge User Guide, "Sending and receiving events between AWS Regions")."""
    if us_east_1 is None:
        return None
    env = scope.env
    home_bus = env.arn("events", "event-bus/default")
    role = aws.iam.Role(
        f"{scope.name}-root-activity-forwarder",
        assume_role_policy=assume_role_policy("events.amazonaws.com", env.account_id),
        description="EventBridge forwards root activity seen in us-east-1 to the home region",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    put_events = aws.iam.RolePolicy(
        f"{scope.name}-root-activity-forwarder",
        role=role.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "events:PutEvents", "Resource": home_bus}
                ],
            }
        ),
        opts=scope.opts(),
    )
    rule = aws.cloudwatch.EventRule(
        f"{scope.name}-root-activity-us-east-1",
        description="Forward root activity (console sign-in, IAM, STS) to the home region",
        event_pattern=_after(route, ROOT_ACTIVITY_PATTERN),
        tags=scope.tags(),
        opts=scope.opts(provider=us_east_1),
    )
    aws.cloudwatch.EventTarget(
        f"{scope.name}-root-activity-us-east-1",
        rule=rule.name,
        arn=home_bus,
        role_arn=role.arn,
        target_id="home-region-bus",
        opts=scope.opts(provider=us_east_1, depends_on=[put_events]),
    )
    return rule


def alarm_topic(
    scope: Scope, notifications: NotificationSettings, key: aws.kms.Key
) -> aws.sns.Topic:
    """The stack's alarm topic: every component's alarms (and the budget) notify it."""
    return _topic(
        scope,
        "alarms",
        key,
        [
            {
                "Sid": "CloudWatchPublishesAlarms",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": scope.env.account_id}},
            },
            {
                "Sid": "BudgetsPublishesAlerts",
                "Principal": {"Service": "budgets.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": scope.env.account_id}},
            },
            {
                # DMS event subscriptions (replication task failure) publish here
                "Sid": "DmsPublishesEvents",
                "Principal": {"Service": "dms.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": scope.env.account_id}},
            },
        ],
        notifications.alarm_subscriptions,
    )


def monthly_budget(scope: Scope, budget: BudgetSettings, alarm_topic: aws.sns.Topic) -> None:
    if not budget.enabled:
        return
    aws.budgets.Budget(
        f"{scope.name}-monthly",
        name=f"{scope.context.project}-{scope.context.environment}-monthly",
        budget_type="COST",
        limit_amount=f"{budget.monthly_limit_usd:.2f}",
        limit_unit="USD",
        time_unit="MONTHLY",
        notifications=[
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": t.percent,
                "threshold_type": "PERCENTAGE",
                "notification_type": t.type,
                "subscriber_sns_topic_arns": [alarm_topic.arn],
                "subscriber_email_addresses": list(budget.emails) or None,
            }
            for t in budget.thresholds
        ],
        tags=scope.tags(),
        opts=scope.opts(),
    )
