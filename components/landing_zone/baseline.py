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
    AlertSettings,
    BudgetSettings,
    ConfigRecorderSettings,
    DataProtectionSettings,
    GuardDutySettings,
    InspectorSettings,
    LandingZoneSettings,
    NotificationSettings,
    PasswordPolicySettings,
    SecurityHubSettings,
    SessionManagerSettings,
    Subscription,
    TrailSettings,
)

#: Where AWS Config writes under the trail bucket (``<prefix>/AWSLogs/<account>/Config/``).
CONFIG_PREFIX = "config"
#: Where CloudTrail writes under the trail bucket.
TRAIL_PREFIX = "cloudtrail"


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
                        "events.rds.amazonaws.com",
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


def scoped_bucket(scope: Scope, role: str, *, object_lock: bool = False) -> aws.s3.Bucket:
    """A private bucket ``<scope>-<role>`` of the audit logs (:func:`private_bucket`)."""
    bucket, _ = private_bucket(
        f"{scope.name}-{role}",
        context=scope.context,
        tags=scope.tags(Name=f"{scope.name}-{role}"),
        parent=scope.parent,
        object_lock=object_lock,
    )
    return bucket


def access_log_bucket(scope: Scope, days: int, role: str = "access-logs") -> aws.s3.Bucket:
    """Where S3 writes an audit bucket's server access logs (``<scope>-<role>``), kept
    ``days`` days (PCI DSS 10.2.1.3: access to audit logs)."""
    bucket = scoped_bucket(scope, role)
    # S3 server access logging can deliver only to SSE-S3 buckets, not SSE-KMS
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{scope.name}-{role}",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=scope.opts(),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{scope.name}-{role}",
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


def audit_bucket_storage(
    scope: Scope,
    name: str,
    bucket: aws.s3.Bucket,
    key: aws.kms.Key,
    *,
    transition_days: int,
    expiration_days: int,
) -> None:
    """An audit bucket's objects: SSE-KMS under ``key`` (with a bucket key), to Glacier
    after ``transition_days``, gone after ``expiration_days``."""
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
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
    aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "id": "archive-then-expire",
                "status": "Enabled",
                "filter": {},
                "transitions": [{"days": transition_days, "storage_class": "GLACIER"}],
                "expiration": {"days": expiration_days},
                "noncurrent_version_expiration": {"noncurrent_days": 90},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=scope.opts(),
    )


def trail_bucket(
    scope: Scope, trail: TrailSettings, key: aws.kms.Key, access_logs: aws.s3.Bucket
) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    """The bucket of the trail and the Config snapshots, and its policy (which CloudTrail
    and Config need in place before they deliver)."""
    lock = trail.object_lock
    bucket = scoped_bucket(scope, "trail", object_lock=lock.enabled)
    audit_bucket_storage(
        scope,
        f"{scope.name}-trail",
        bucket,
        key,
        transition_days=trail.transition_days,
        expiration_days=trail.expiration_days,
    )
    aws.s3.BucketLogging(
        f"{scope.name}-trail",
        bucket=bucket.id,
        target_bucket=access_logs.id,
        target_prefix="trail/",
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
        policy=policy_json(
            access_log_bucket_policy(scope, access_logs.arn, bucket.arn, prefix="trail")
        ),
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


def encryption_denies(
    bucket_arn: pulumi.Output[str], key_arn: pulumi.Input[str], prefix: str
) -> list[dict[str, Any]]:
    """Uploads must use SSE-KMS with ``key_arn`` (another key, or SSE-S3, would escape the
    key policy), except CloudTrail's digest files: CloudTrail writes them with SSE-S3 whatever
    the trail's key ("Digest files are encrypted with Amazon S3-managed encryption keys
    (SSE-S3)": CloudTrail User Guide, "Encrypting CloudTrail log files with AWS KMS keys"),
    and denying them breaks log file validation (PCI DSS 10.3.4) without an error anyone
    sees. Digests live under ``<prefix>/AWSLogs/<account>[/<org id>]/CloudTrail-Digest/``."""
    digests = bucket_arn.apply(lambda a: f"{a}/{prefix}/AWSLogs/*/CloudTrail-Digest/*")
    return [
        {
            "Sid": "DenyOtherEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "NotResource": digests,
            "Condition": {
                "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
            },
        },
        {
            "Sid": "DenyOtherKmsKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "NotResource": digests,
            "Condition": {
                "StringNotEqualsIfExists": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn
                }
            },
        },
    ]


def cloudtrail_delivery(
    bucket_arn: pulumi.Output[str], trail: pulumi.Input[str], objects: pulumi.Input[Any]
) -> list[dict[str, Any]]:
    """What CloudTrail needs of its bucket, for ``trail`` only: read the bucket's ACL, and
    write ``objects`` (ARN patterns) owned by the bucket owner (CloudTrail User Guide,
    "Amazon S3 bucket policy for CloudTrail")."""
    return [
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
            "Resource": objects,
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail,
                }
            },
        },
    ]


def trail_bucket_policy(
    scope: Scope, bucket_arn: pulumi.Output[str], key_arn: pulumi.Output[str]
) -> dict[str, Any]:
    account = scope.env.account_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            _tls_only(bucket_arn),
            *encryption_denies(bucket_arn, key_arn, TRAIL_PREFIX),
            *cloudtrail_delivery(
                bucket_arn,
                trail_arn(scope),
                pulumi.Output.all(bucket_arn, account).apply(
                    lambda p: f"{p[0]}/{TRAIL_PREFIX}/AWSLogs/{p[1]}/*"
                ),
            ),
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
    scope: Scope,
    bucket_arn: pulumi.Output[str],
    source_bucket_arn: pulumi.Output[str],
    *,
    prefix: str,
) -> dict[str, Any]:
    """TLS only; S3's log delivery writes under ``<prefix>/`` the access logs of the source
    bucket of this account only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _tls_only(bucket_arn),
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": bucket_arn.apply(lambda a: f"{a}/{prefix}/*"),
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
    access_logs: aws.s3.Bucket,
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
    selectors = data_event_selectors(bucket, access_logs) if trail.s3_data_events else None
    return aws.cloudtrail.Trail(
        f"{scope.name}-trail",
        name=trail_name(scope),
        s3_bucket_name=bucket.id,
        s3_key_prefix=TRAIL_PREFIX,
        # PCI DSS 10.2.1, 10.3.4: every region, IAM/STS events, tamper-evident digests
        is_multi_region_trail=True,
        include_global_service_events=True,
        enable_log_file_validation=True,
        enable_logging=True,
        kms_key_id=key.arn,
        cloud_watch_logs_group_arn=log_group.arn.apply(lambda a: f"{a}:*"),
        cloud_watch_logs_role_arn=role.arn,
        advanced_event_selectors=selectors,
        tags=scope.tags(),
        # CloudTrail checks the bucket policy and the role when the trail is created
        opts=scope.opts(depends_on=[bucket_policy, role_policy]),
    )


def data_event_selectors(
    bucket: aws.s3.Bucket, access_logs: aws.s3.Bucket
) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgsDict]:
    """Management events (advanced selectors replace the default, so they are named again,
    or the trail would stop recording them) and the S3 object-level events of every bucket
    of the account, current and future (PCI DSS 10.2.1: access to the CDE's stored files),
    but the trail's own two: CloudTrail delivering to a bucket whose data events it records
    logs its own deliveries, and S3 server access logging writes the other; reads of the
    trail bucket are in its server access logs (CloudTrail User Guide, "Logging data
    events": advanced event selectors, resources.ARN with NotStartsWith)."""
    return [
        {
            "name": "Management events",
            "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}],
        },
        {
            "name": "S3 object events of the account's buckets but the trail's",
            "field_selectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {
                    "field": "resources.ARN",
                    "not_starts_withs": [
                        bucket.arn.apply(lambda a: f"{a}/"),
                        access_logs.arn.apply(lambda a: f"{a}/"),
                    ],
                },
            ],
        },
    ]


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
        extra: dict[str, Any] = {}
        if feature == "RUNTIME_MONITORING" and gd.runtime_agent_management:
            # GuardDuty installs its agent on EC2 through SSM and creates the VPC endpoint it
            # reports through (GuardDuty User Guide, "Managing the security agent
            # automatically for Amazon EC2 resources")
            extra["additional_configurations"] = [
                {"name": "EC2_AGENT_MANAGEMENT", "status": "ENABLED"}
            ]
        aws.guardduty.DetectorFeature(
            f"{scope.name}-guardduty-{feature.lower().replace('_', '-')}",
            detector_id=detector.id,
            name=feature,
            status="ENABLED",
            **extra,
            opts=scope.opts(),
        )
    return detector


def inspector(scope: Scope, settings: InspectorSettings) -> aws.inspector2.Enabler | None:
    """Amazon Inspector scans EC2 instances (through SSM, or agentless from EBS snapshots)
    and ECR images for known vulnerabilities continuously (PCI DSS 6.3.3, 11.3.1; Security
    Hub Inspector.1-2). Enabling it creates its service-linked role."""
    if not settings.enabled:
        return None
    return aws.inspector2.Enabler(
        f"{scope.name}-inspector",
        account_ids=[scope.env.account_id],
        resource_types=list(settings.resource_types),
        opts=scope.opts(),
    )


#: The preferences document Session Manager reads for every session of the account and
#: region (Systems Manager User Guide, "Start a default shell session by specifying the
#: default session document in IAM policies").
SESSION_PREFERENCES_DOCUMENT = "SSM-SessionManagerRunShell"


def session_manager(
    scope: Scope, settings: SessionManagerSettings, key: aws.kms.Key
) -> aws.cloudwatch.LogGroup | None:
    """The account's Session Manager preferences and the log group of every session's
    input and output. ``cloudWatchEncryptionEnabled`` makes the agent refuse to stream to a
    log group that is not encrypted; the group is encrypted with the logs key. The instance
    profiles need logs:CreateLogStream, logs:PutLogEvents and logs:DescribeLogGroups on it
    (Systems Manager User Guide, "Logging session data using Amazon CloudWatch Logs" and
    "Session document schema": idleSessionTimeout and maxSessionDuration in minutes)."""
    if not settings.enabled:
        return None
    group = aws.cloudwatch.LogGroup(
        f"{scope.name}-sessions",
        name=f"/aws/ssm/sessions/{scope.name}",
        retention_in_days=settings.log_retention_days,
        kms_key_id=key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )
    content = group.name.apply(
        lambda name: json.dumps(
            {
                "schemaVersion": "1.0",
                "description": "Session Manager preferences (managed by payments-platform)",
                "sessionType": "Standard_Stream",
                "inputs": {
                    "s3BucketName": "",
                    "s3KeyPrefix": "",
                    "s3EncryptionEnabled": True,
                    "cloudWatchLogGroupName": name,
                    "cloudWatchEncryptionEnabled": True,
                    "cloudWatchStreamingEnabled": True,
                    "kmsKeyId": "",
                    "runAsEnabled": False,
                    "runAsDefaultUser": "",
                    "idleSessionTimeout": str(settings.idle_timeout_minutes),
                    "maxSessionDuration": str(settings.max_session_minutes),
                    "shellProfile": {"windows": "", "linux": ""},
                },
            },
            sort_keys=True,
        )
    )
    aws.ssm.Document(
        f"{scope.name}-session-preferences",
        name=SESSION_PREFERENCES_DOCUMENT,
        document_type="Session",
        document_format="JSON",
        content=content,
        tags=scope.tags(),
        opts=scope.opts(),
    )
    return group


def data_protection(scope: Scope, settings: DataProtectionSettings) -> None:
    """An account-level CloudWatch Logs data-protection policy: card data in any log group,
    today's and tomorrow's (the app tier's, the databases', the trail's), is masked for
    every reader without logs:Unmask, which no permission set but BreakGlass holds (PCI DSS
    3.3, 3.4.1). Masking happens at ingestion and changes nothing of delivery: CloudTrail,
    the agents and the services still write as before; findings go to no destination (an
    unreachable destination is the one way such a policy could fail a write). CloudWatch
    Logs User Guide, "Help protect sensitive log data with masking" and "Account-level data
    protection policies"; one such policy per account."""
    if not settings.enabled:
        return
    identifiers = scope.env.partition.apply(
        lambda p: [
            f"arn:{p}:dataprotection::aws:data-identifier/{name}"
            for name in settings.data_identifiers
        ]
    )
    document = {
        "Name": f"{scope.name}-card-data",
        "Description": "Mask card data in every log group of the account",
        "Version": "2021-06-01",
        "Statement": [
            {
                "Sid": "audit",
                "DataIdentifier": identifiers,
                "Operation": {"Audit": {"FindingsDestination": {}}},
            },
            {
                "Sid": "redact",
                "DataIdentifier": identifiers,
                "Operation": {"Deidentify": {"MaskConfig": {}}},
            },
        ],
    }
    aws.cloudwatch.LogAccountPolicy(
        f"{scope.name}-data-protection",
        policy_name=f"{scope.name}-card-data",
        policy_type="DATA_PROTECTION_POLICY",
        scope="ALL",
        policy_document=policy_json(document),
        opts=scope.opts(),
    )


def support_role(scope: Scope) -> aws.iam.Role:
    """A role for working incidents with AWS Support (Security Hub IAM.18: "Ensure a support
    role has been created to manage incidents with AWS Support"): AWSSupportAccess, assumable
    by the account's principals that IAM allows to (the account delegates to IAM)."""
    env = scope.env
    role = aws.iam.Role(
        f"{scope.name}-aws-support",
        assume_role_policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": env.root_principal()},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        max_session_duration=3600,
        description="Work incidents with AWS Support (Security Hub IAM.18)",
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.iam.RolePolicyAttachment(
        f"{scope.name}-aws-support",
        role=role.name,
        policy_arn=env.partition.apply(lambda p: f"arn:{p}:iam::aws:policy/AWSSupportAccess"),
        opts=scope.opts(),
    )
    return role


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
        chosen: dict[str, Any] = {}
        if sub.alerts is not None:
            # the security rules wrap each event as {"alert": <route>, "event": ...}; SNS
            # delivers to this subscriber only the routes it chose (SNS Developer Guide,
            # "Message body filtering")
            chosen = {
                "filter_policy": json.dumps({"alert": sorted(sub.alerts)}),
                "filter_policy_scope": "MessageBody",
            }
        aws.sns.TopicSubscription(
            f"{scope.name}-{role}-{sub_name}",
            topic=topic.arn,
            protocol=sub.protocol,
            endpoint=sub.endpoint,
            **chosen,
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


#: API calls that stop or weaken logging and detection, by the CloudTrail event source that
#: records them (PCI DSS 10.7.2: failures of critical security controls are detected and
#: alerted). EventBridge receives them as "AWS API Call via CloudTrail" events on the default
#: bus of the region of the call (EventBridge User Guide, "AWS service events delivered via
#: AWS CloudTrail"); failed attempts (an SCP's AccessDenied) are delivered too, and alerted.
TAMPERING_CALLS: dict[str, tuple[str, ...]] = {
    "access-analyzer.amazonaws.com": ("DeleteAnalyzer",),
    "cloudtrail.amazonaws.com": ("DeleteTrail", "PutEventSelectors", "StopLogging", "UpdateTrail"),
    "config.amazonaws.com": (
        "DeleteConfigurationRecorder",
        "DeleteDeliveryChannel",
        "StopConfigurationRecorder",
    ),
    "guardduty.amazonaws.com": ("DeleteDetector",),
    "inspector2.amazonaws.com": ("Disable",),
    "kms.amazonaws.com": ("DisableKey", "ScheduleKeyDeletion"),
    "logs.amazonaws.com": ("DeleteLogGroup", "DeleteRetentionPolicy", "PutRetentionPolicy"),
    "securityhub.amazonaws.com": ("BatchDisableStandards", "DisableSecurityHub"),
}


def tampering_pattern() -> dict[str, Any]:
    return {
        "detail-type": ["AWS API Call via CloudTrail"],
        "source": sorted(f"aws.{s.split('.')[0]}" for s in TAMPERING_CALLS),
        "detail": {
            "eventSource": sorted(TAMPERING_CALLS),
            "eventName": sorted({n for names in TAMPERING_CALLS.values() for n in names}),
        },
    }


def alert_message(alert: str) -> aws.cloudwatch.EventTargetInputTransformerArgsDict:
    """What the security topic receives from a route: the route's name (subscriptions filter
    on it) and the whole event (``aws.events.event.json``: EventBridge User Guide, "Amazon
    EventBridge input transformation", predefined variables)."""
    return {
        "input_template": f'{{"alert": "{alert}", "event": <aws.events.event.json>}}',
    }


def security_routes(
    scope: Scope,
    gd: GuardDutySettings,
    hub: SecurityHubSettings,
    inspector_settings: InspectorSettings,
    alerts: AlertSettings,
    notifications: NotificationSettings,
    key: aws.kms.Key,
    route: pulumi.Output[bool],
) -> tuple[aws.sns.Topic, list[aws.cloudwatch.EventRule]]:
    """EventBridge rules sending GuardDuty, Security Hub, Inspector and Access Analyzer
    findings, tampering with logging and detection, and any root activity to the security
    topic; the topic and the rules. ``route`` (global_events_route) gates the root-activity
    rule, which misses global services' events without the forwarder."""
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
    if inspector_settings.enabled and inspector_settings.alert_severities:
        # Amazon Inspector User Guide, "Amazon EventBridge event schema for Amazon Inspector
        # events": detail.severity is the label, detail.status ACTIVE, SUPPRESSED or CLOSED
        patterns["inspector"] = json.dumps(
            {
                "source": ["aws.inspector2"],
                "detail-type": ["Inspector2 Finding"],
                "detail": {
                    "severity": list(inspector_settings.alert_severities),
                    "status": ["ACTIVE"],
                },
            },
            sort_keys=True,
        )
    if alerts.access_analyzer_findings:
        # EventBridge events reference, "IAM Access Analyzer events": status ACTIVE,
        # ARCHIVED or RESOLVED
        patterns["access-analyzer"] = json.dumps(
            {
                "source": ["aws.access-analyzer"],
                "detail-type": ["Access Analyzer Finding"],
                "detail": {"status": ["ACTIVE"]},
            },
            sort_keys=True,
        )
    if alerts.tampering:
        patterns["tampering"] = json.dumps(tampering_pattern(), sort_keys=True)
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
            input_transformer=alert_message(name),
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
            {
                # EventBridge rules of this account (AWS Application Migration Service's
                # replication and launch events: HybridConnectivity's migration part). SNS
                # requires the topic policy to admit events.amazonaws.com; the key already
                # admits it (PublishersUseKey). EventBridge User Guide, "Amazon SNS
                # permissions"; rules of this account in this region only.
                "Sid": "EventBridgePublishesEvents",
                "Principal": {"Service": "events.amazonaws.com"},
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": scope.env.account_id},
                    "ArnLike": {"aws:SourceArn": scope.env.arn("events", "rule/*")},
                },
            },
            {
                # RDS event subscriptions (instance, parameter group, security group events:
                # Security Hub RDS.20-22) publish as events.rds.amazonaws.com ("Granting
                # permissions to publish notifications to an Amazon SNS topic", RDS guide)
                "Sid": "RdsPublishesEvents",
                "Principal": {"Service": "events.rds.amazonaws.com"},
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
