"""Customer-managed KMS keys with rotation and a key policy scoped to the account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_env import AwsEnv, policy_json
from .settings import StackContext, stateful_opts


def account_administers_key(env: AwsEnv) -> dict[str, Any]:
    """The statement every key policy starts with: the account administers the key, so IAM
    policies (not the key policy) decide who may; without it a key can become unmanageable."""
    return {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": env.root_principal()},
        "Action": "kms:*",
        "Resource": "*",
    }


def key_policy(
    env: AwsEnv,
    *,
    service_principals: Sequence[pulumi.Input[str]] = (),
    service_conditions: Mapping[str, Any] | None = None,
    via_services: Sequence[str] = (),
) -> pulumi.Output[str]:
    """Key policy: the account administers the key (IAM decides who); named AWS services
    may use it; ``via_services`` lets principals of this account use it only through those
    services (kms:ViaService), e.g. ``rds``."""
    statements: list[dict[str, Any]] = [account_administers_key(env)]
    if service_principals:
        statement: dict[str, Any] = {
            "Sid": "ServicesUseKey",
            "Effect": "Allow",
            "Principal": {"Service": list(service_principals)},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
        }
        if service_conditions:
            statement["Condition"] = dict(service_conditions)
        statements.append(statement)
    if via_services:
        statements.append(
            {
                "Sid": "AccountUsesKeyThroughServices",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:ListGrants",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": env.account_id,
                        "kms:ViaService": [
                            env.service_endpoint(service) for service in sorted(via_services)
                        ],
                    }
                },
            }
        )
    return policy_json({"Version": "2012-10-17", "Statement": statements})


def customer_managed_key(
    name: str,
    *,
    description: str,
    policy: pulumi.Input[str],
    context: StackContext,
    component: str,
    parent: pulumi.Resource,
) -> aws.kms.Key:
    """A symmetric CMK with yearly rotation (PCI DSS 3.6.4), protected in prod."""
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        tags=context.tags(component, Name=name),
        opts=stateful_opts(parent, context),
    )
    aws.kms.Alias(
        f"{name}-alias",
        name=f"alias/{context.project}/{context.environment}/{name}",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key


def logs_key_policy(env: AwsEnv) -> pulumi.Output[str]:
    """Key policy for a key that encrypts CloudWatch log groups of this account and region."""
    return key_policy(
        env,
        service_principals=[env.service_endpoint("logs")],
        service_conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": env.arn("logs", "log-group:*"),
            }
        },
    )
