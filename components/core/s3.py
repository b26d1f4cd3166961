"""Private S3 buckets for logs and audit evidence, hardened the same way everywhere."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from .settings import StackContext, stateful_opts


def private_bucket(
    name: str,
    *,
    context: StackContext,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    force_destroy: bool = False,
    object_lock: bool = False,
) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """A versioned bucket that can never be public and whose objects the bucket owner always
    owns (ACLs disabled): PCI DSS 1.4.4 / 10.3.2. Protected in prod. Encryption, lifecycle
    and policy differ by use and are the caller's (a bucket policy should depend on the
    returned public access block: S3 rejects concurrent changes to both)."""
    bucket = aws.s3.Bucket(
        name,
        object_lock_enabled=object_lock or None,
        force_destroy=force_destroy,
        tags=dict(tags),
        opts=stateful_opts(parent, context),
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.s3.BucketVersioning(
        name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return bucket, public_access_block
