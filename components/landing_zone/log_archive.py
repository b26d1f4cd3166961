"""The organization trail and its archive in the log-archive account (management stack only).

Why an organization trail rather than replicating each workload's trail bucket: the trail
belongs to the management account, so no principal of a workload account (prod's
administrators included) can stop, change or delete it ("Users and roles in member accounts
can see organization trails but cannot modify or delete them": CloudTrail User Guide,
"Creating a trail for an organization"); it records every account of the organization, new
ones included, with nothing to deploy in them; and it delivers straight into a bucket of the
log-archive account, under Object Lock in COMPLIANCE mode with a key of that account. Cross-
account replication would copy only what a workload's own bucket receives, would need a
replication role and KMS grants in every workload account, and could itself be turned off
from the workload account.

The management stack reaches the log-archive account only through a provider that assumes a
role there (``member_account_provider``); the bucket, its key and their policies are built
through it, the trail through the management account's own provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import aws_env, policy_json
from ..core.kms import account_administers_key, customer_managed_key
from ..core.problems import Problem, raise_problems
from ..core.scope import Scope
from .baseline import (
    _tls_only,
    access_log_bucket,
    access_log_bucket_policy,
    audit_bucket_storage,
    cloudtrail_delivery,
    encryption_denies,
    scoped_bucket,
)
from .checks import MEMBER_ACCOUNT_PROVIDER
from .settings import LandingZoneSettings, LogArchiveSettings

#: (account key, account id, role name) -> a provider of that account, assuming that role.
MemberAccountProvider = Callable[[str, pulumi.Output[str], str], pulumi.ProviderResource]

#: Where the organization trail writes in the archive bucket.
ORG_TRAIL_PREFIX = "organization"
TYPE = "payments:index:LogArchive"


class LogArchive(pulumi.ComponentResource):
    """What the landing zone builds in the log-archive account: the parent of those children
    carries the provider that reaches that account, so every child uses it."""

    def __init__(self, name: str, provider: pulumi.ProviderResource, parent: pulumi.Resource):
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions(parent=parent, providers=[provider])
        )


def org_trail_name(scope: Scope) -> str:
    return f"{scope.name}-org-trail"


def org_trail_arn(scope: Scope) -> pulumi.Output[str]:
    """Known before the trail exists: the bucket and key policies name it."""
    return scope.env.arn("cloudtrail", f"trail/{org_trail_name(scope)}")


def check_archive_account(
    scope: Scope, archive: LogArchiveSettings, expected: pulumi.Output[str], env_account: Any
) -> pulumi.Output[str]:
    """The provider reaches the log-archive account itself (checked when both answer): the
    archive built in any other account (the management account's own, through a provider
    that forgot its role) would be within reach of that account's administrators."""

    def check(args: list[Any]) -> str:
        want, got = str(args[0]), str(args[1])
        if want != got:
            raise_problems(
                "LandingZone",
                scope.name,
                [
                    Problem(
                        (MEMBER_ACCOUNT_PROVIDER,),
                        f"the provider it returned for {archive.account!r} reaches account "
                        f"{got}, not the log-archive account {want}: assume "
                        f"{archive.access_role_name} in {want} (allowed account ids {want})",
                    )
                ],
                LandingZoneSettings,
            )
        return got

    return pulumi.Output.all(expected, env_account).apply(check)


def log_archive(
    scope: Scope,
    archive: LogArchiveSettings,
    organization: aws.organizations.Organization,
    account: aws.organizations.Account,
    member_account_provider: MemberAccountProvider,
) -> aws.cloudtrail.Trail:
    """The archive (key, bucket, access-log bucket) in the log-archive account, then the
    organization trail delivering to it."""
    provider = member_account_provider(archive.account, account.id, archive.access_role_name)
    holder = LogArchive(f"{scope.name}-log-archive", provider, scope.parent)
    env = aws_env(holder)
    # every policy of the archive names the checked account: a wrong provider stops here
    env = replace(env, account_id=check_archive_account(scope, archive, account.id, env.account_id))
    there = replace(scope, parent=holder, env=env)
    key = _archive_key(there, scope)
    # kept as long as the archive (PCI DSS 10.2.1.3: access to audit logs)
    access_logs = access_log_bucket(there, archive.expiration_days, "archive-access-logs")
    bucket, policy = _archive_bucket(there, scope, archive, key, access_logs, organization)
    trail = aws.cloudtrail.Trail(
        f"{scope.name}-org-trail",
        name=org_trail_name(scope),
        s3_bucket_name=bucket.id,
        s3_key_prefix=ORG_TRAIL_PREFIX,
        # PCI DSS 10.2.1, 10.3.3, 10.3.4: every account and region, tamper-evident, off-site
        is_organization_trail=True,
        is_multi_region_trail=True,
        include_global_service_events=True,
        enable_log_file_validation=True,
        enable_logging=True,
        kms_key_id=key.arn,
        tags=scope.tags(),
        # CloudTrail checks the bucket and key policies when the trail is created
        opts=scope.opts(depends_on=[policy, key, organization]),
    )
    holder.register_outputs({"bucket": bucket.id, "key_arn": key.arn})
    return trail


def _archive_key(there: Scope, home: Scope) -> aws.kms.Key:
    """The key of the archive, in the log-archive account. CloudTrail encrypts an
    organization trail's logs as the management account's trail: ``aws:SourceArn`` is that
    trail and the encryption context names the management account (CloudTrail User Guide,
    "Configure AWS KMS key policies for CloudTrail", organization trails). Readers in the
    log-archive account decrypt through IAM (the account administers the key)."""
    trail = org_trail_arn(home)
    context = pulumi.Output.all(home.env.partition, home.env.account_id).apply(
        lambda p: f"arn:{p[0]}:cloudtrail:*:{p[1]}:trail/*"
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            account_administers_key(there.env),
            {
                "Sid": "OrganizationTrailEncryptsLogs",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": context},
                },
            },
            {
                "Sid": "OrganizationTrailDescribesKey",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail}},
            },
        ],
    }
    return customer_managed_key(
        f"{home.name}-org-trail",
        description="Encrypts the organization trail in the log-archive account",
        policy=policy_json(policy),
        context=there.context,
        component=there.component,
        parent=there.parent,
    )


def _archive_bucket(
    there: Scope,
    home: Scope,
    archive: LogArchiveSettings,
    key: aws.kms.Key,
    access_logs: aws.s3.Bucket,
    organization: aws.organizations.Organization,
) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    bucket = scoped_bucket(there, "archive", object_lock=True)
    audit_bucket_storage(
        there,
        f"{there.name}-archive",
        bucket,
        key,
        transition_days=archive.transition_days,
        expiration_days=archive.expiration_days,
    )
    aws.s3.BucketObjectLockConfiguration(
        f"{there.name}-archive",
        bucket=bucket.id,
        object_lock_enabled="Enabled",
        # COMPLIANCE: no principal, root of the log-archive account included, can delete or
        # shorten before the retention ends (S3 User Guide, "Object Lock retention modes")
        rule={"default_retention": {"mode": "COMPLIANCE", "days": archive.object_lock_days}},
        opts=there.opts(),
    )
    aws.s3.BucketLogging(
        f"{there.name}-archive",
        bucket=bucket.id,
        target_bucket=access_logs.id,
        target_prefix="archive/",
        opts=there.opts(),
    )
    policy = aws.s3.BucketPolicy(
        f"{there.name}-archive",
        bucket=bucket.id,
        policy=policy_json(archive_bucket_policy(home, bucket.arn, key.arn, organization.id)),
        opts=there.opts(),
    )
    aws.s3.BucketPolicy(
        f"{there.name}-archive-access-logs",
        bucket=access_logs.id,
        policy=policy_json(
            access_log_bucket_policy(there, access_logs.arn, bucket.arn, prefix="archive")
        ),
        opts=there.opts(),
    )
    return bucket, policy


def archive_bucket_policy(
    home: Scope,
    bucket_arn: pulumi.Output[str],
    key_arn: pulumi.Output[str],
    organization_id: pulumi.Output[str],
) -> dict[str, Any]:
    """CloudTrail writes an organization trail's files under
    ``<prefix>/AWSLogs/<management account>/`` (the management account's own events) and
    ``<prefix>/AWSLogs/<organization id>/<account>/`` (every member's), only for this trail
    (CloudTrail User Guide, "Create a bucket policy for an organization trail")."""
    trail = org_trail_arn(home)
    prefixes = pulumi.Output.all(bucket_arn, home.env.account_id, organization_id).apply(
        lambda p: [
            f"{p[0]}/{ORG_TRAIL_PREFIX}/AWSLogs/{p[1]}/*",
            f"{p[0]}/{ORG_TRAIL_PREFIX}/AWSLogs/{p[2]}/*",
        ]
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            _tls_only(bucket_arn),
            *encryption_denies(bucket_arn, key_arn, ORG_TRAIL_PREFIX),
            *cloudtrail_delivery(bucket_arn, trail, prefixes),
        ],
    }
