"""Lookups for the AWS-fidelity tests: the policy documents that govern what a plan builds.

The tests that use them check what mocks cannot: that each delivery from a service to a
bucket, key, topic or log group has the permission the service really uses, that services
have the roles they need, that alarms compare a metric within its real range. Each such test
cites the AWS rule it encodes.
"""

from __future__ import annotations

import json
from typing import Any

from components.iam_check import Request, allows
from components.testing import Plan, Registered

__all__ = [
    "Request",
    "allows",
    "bucket_policy",
    "key_policy",
    "role_allows",
    "role_of",
    "role_policies",
    "topic_policy",
]


def _doc(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def bucket_policy(plan: Plan, bucket: Registered) -> dict[str, Any]:
    """The bucket policy of ``bucket`` (exactly one)."""
    (policy,) = [
        p
        for p in plan.every("aws:s3/bucketPolicy:BucketPolicy")
        if p.inputs["bucket"] == bucket.outputs["id"]
    ]
    return _doc(policy.inputs["policy"])


def key_policy(plan: Plan, key_arn: str) -> dict[str, Any]:
    """The key policy of the KMS key with ARN (or id) ``key_arn``."""
    (key,) = [
        k for k in plan.every("aws:kms/key:Key") if key_arn in (k.outputs["arn"], k.outputs["id"])
    ]
    return _doc(key.inputs["policy"])


def topic_policy(plan: Plan, topic_arn: str) -> dict[str, Any]:
    """The access policy of the SNS topic ``topic_arn``."""
    (policy,) = [
        p for p in plan.every("aws:sns/topicPolicy:TopicPolicy") if p.inputs["arn"] == topic_arn
    ]
    return _doc(policy.inputs["policy"])


def role_of(plan: Plan, arn: str) -> Registered:
    """The IAM role (or service-linked role) with ARN ``arn``."""
    found = [
        r
        for r in plan.resources
        if r.type in ("aws:iam/role:Role", "aws:iam/serviceLinkedRole:ServiceLinkedRole")
        and r.outputs.get("arn") == arn
    ]
    assert len(found) == 1, f"no role {arn} in the plan"
    return found[0]


def role_policies(plan: Plan, role: Registered) -> list[dict[str, Any]]:
    """The inline policies of ``role`` (AWS managed policies attached to it are not
    evaluated here: a test that relies on one names it and what it grants)."""
    name = role.outputs.get("name")
    return [
        _doc(p.inputs["policy"])
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] in (name, role.outputs["id"])
    ]


def role_allows(plan: Plan, role: Registered, request: Request) -> bool:
    """Whether an inline policy of ``role`` allows ``request`` (identity-based)."""
    return any(allows(doc, request) for doc in role_policies(plan, role))
