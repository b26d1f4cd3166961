"""The policy evaluator the AWS-fidelity tests rely on decides as IAM documents it."""

from __future__ import annotations

import pytest

from components.iam_check import Request, allows, decide

BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::logs/cloudtrail/AWSLogs/111122223333/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": "arn:aws:cloudtrail:ap-southeast-1:111122223333:trail/t",
                }
            },
        },
    ],
}
TRAIL = "arn:aws:cloudtrail:ap-southeast-1:111122223333:trail/t"
OBJECT = "arn:aws:s3:::logs/cloudtrail/AWSLogs/111122223333/x.json.gz"


def put(**context: str) -> Request:
    return Request("s3:PutObject", OBJECT, {"Service": "cloudtrail.amazonaws.com"}, context)


def test_a_delivery_with_every_condition_met_is_allowed() -> None:
    request = put(
        **{
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": TRAIL,
            "aws:SecureTransport": "true",
        }
    )
    assert decide(BUCKET_POLICY, request) == "allow"


@pytest.mark.parametrize(
    ("request_", "decision"),
    [
        (put(**{"aws:SourceArn": TRAIL}), "implicit-deny"),  # a missing key fails
        (
            put(**{"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL + "2"}),
            "implicit-deny",
        ),
        (
            put(
                **{
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": TRAIL,
                    "aws:SecureTransport": "false",
                }
            ),
            "deny",
        ),  # an explicit deny wins
        (
            Request(
                "s3:PutObject",
                OBJECT,
                {"Service": "config.amazonaws.com"},
                {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL},
            ),
            "implicit-deny",
        ),
        (
            Request(
                "S3:PUTOBJECT",
                OBJECT,
                {"Service": "cloudtrail.amazonaws.com"},
                {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": TRAIL},
            ),
            "allow",
        ),  # action names are case-insensitive
    ],
)
def test_each_part_of_a_statement_must_match(request_: Request, decision: str) -> None:
    assert decide(BUCKET_POLICY, request_) == decision


def test_negated_and_if_exists_operators_hold_when_the_key_is_missing() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"kms:ViaService": "x"},
                    "ArnLikeIfExists": {"aws:SourceArn": "arn:*"},
                },
            }
        ]
    }
    assert allows(policy, Request("kms:Decrypt"))
    assert not allows(policy, Request("kms:Decrypt", context={"kms:ViaService": "x"}))


def test_an_account_root_principal_stands_for_its_roles() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "kms:*",
                "Resource": "*",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            }
        ]
    }
    role = {"AWS": "arn:aws:iam::111122223333:role/app"}
    assert allows(policy, Request("kms:Decrypt", principal=role))
    other = {"AWS": "arn:aws:iam::999999999999:role/app"}
    assert not allows(policy, Request("kms:Decrypt", principal=other))


def test_not_action_and_wildcard_resources() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Deny",
                "NotAction": ["iam:*", "sts:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "ap-southeast-1"}},
            }
        ]
    }
    assert (
        decide(policy, Request("ec2:RunInstances", context={"aws:RequestedRegion": "us-east-1"}))
        == "deny"
    )
    assert (
        decide(policy, Request("iam:CreateRole", context={"aws:RequestedRegion": "us-east-1"}))
        == "implicit-deny"
    )
    assert (
        decide(
            policy, Request("ec2:RunInstances", context={"aws:RequestedRegion": "ap-southeast-1"})
        )
        == "implicit-deny"
    )


def test_an_operator_it_cannot_evaluate_is_refused() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            }
        ]
    }
    with pytest.raises(ValueError, match="IpAddress"):
        decide(policy, Request("s3:GetObject"))
