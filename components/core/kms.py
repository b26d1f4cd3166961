"""Customer-managed KMS keys: yearly rotation, protected in prod, and a key policy that keeps
the people who administer a key apart from the services and roles that use it.

Every key of the platform is made by :func:`customer_managed_key`. Its caller writes who
*uses* the key (services with their encryption context, principals of the account through
named services); the key's *administration* comes from ``StackContext.administrators``
(the deploy role and the break-glass role of a stack file), the same for every key:

- no administrators (a component used alone, ``StackContext()``): the policy is the
  caller's, which starts with :func:`account_administers_key` (the account's IAM policies
  decide everything), as AWS's default key policy does;
- administrators: that blanket statement is replaced by
  ``AdministratorsAdministerKey`` (the administrators, and only they, may manage the key:
  AWS's "key administrators" statement of the default key policy, without ``kms:CreateGrant``),
  ``AccountReadsKeyMetadata`` (auditors, AWS Config and Security Hub read the key's
  configuration under IAM), ``AccountUsesKeyUnderIam`` for a key whose users were decided by
  IAM so far (kept, so nobody who used the key loses it), and two explicit denies that no
  grant or IAM policy can lift: ``OnlyAdministratorsDeleteDisableOrRepolicyKey`` (scheduling
  deletion, disabling the key or its rotation, changing the key policy: PCI DSS 3.6.1.2, 3.7)
  and ``AdministratorsUseKeyOnlyThroughServices`` (an administrator decrypts nothing directly;
  the deploy role still creates encrypted resources and secret versions, which AWS services
  do with ``kms:ViaService``: PCI DSS 3.6.1.2, "least number of custodians").

Administrators are matched with ``aws:PrincipalArn`` (an assumed role's session is matched
by its role's ARN, so the IAM Identity Center break-glass role's pattern works); a key
policy's ``Principal`` cannot hold wildcards. KMS refuses a policy that would lock the
caller out ("the new key policy will not allow you to update the key policy in the
future"): the principal that runs ``pulumi up`` must be among the administrators, which the
stack layer guarantees by adding ``account.deployRoleArn`` to them.
Pages: kms/latest/developerguide/key-policy-default.html ("Allows key administrators to
administer the KMS key", "Allows the AWS account to use IAM policies"), conditions-kms.html
(kms:ViaService, kms:CallerAccount), reference_policies_condition-keys.html
(aws:PrincipalArn).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_env import AwsEnv, policy_json
from .settings import StackContext, stateful_opts

#: What key administrators may do: AWS's default "key administrators" statement, without
#: ``kms:CreateGrant`` (a grant is a way to use the key, which administrators do not).
KEY_ADMINISTRATION = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
)
#: Denied to everyone but the administrators: deleting, disabling (the key or its yearly
#: rotation) and changing the key policy.
RESERVED_TO_ADMINISTRATORS = (
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
)
#: The cryptographic operations (what "using" a key means).
KEY_CRYPTOGRAPHY = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
#: What a service needs from a caller's key to encrypt a resource for it (grants included).
KEY_USE = (*KEY_CRYPTOGRAPHY, "kms:CreateGrant", "kms:DescribeKey", "kms:ListGrants")
#: The key's configuration, which auditors, AWS Config and Security Hub read.
KEY_METADATA = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
)


def account_administers_key(env: AwsEnv) -> dict[str, Any]:
    """The statement every key policy starts with: the account administers the key, so IAM
    policies (not the key policy) decide who may; without it a key can become unmanageable.
    With administrators in the context, :func:`customer_managed_key` replaces it."""
    return {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": env.root_principal()},
        "Action": "kms:*",
        "Resource": "*",
    }


def _is_account_blanket(statement: Mapping[str, Any]) -> bool:
    """Whether ``statement`` is :func:`account_administers_key`: the account's root, kms:*."""
    principal = statement.get("Principal")
    root = principal.get("AWS") if isinstance(principal, Mapping) else None
    return (
        statement.get("Effect") == "Allow"
        and statement.get("Action") == "kms:*"
        and isinstance(root, str)
        and root.endswith(":root")
        and "Condition" not in statement
    )


def administration_statements(
    root: str, administrators: Sequence[str], *, iam_decides_use: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The allow statements (first in the policy) and the deny statements (last) that make
    ``administrators`` the key's only administrators. ``root`` is the account's root
    principal (``arn:aws:iam::<account>:root``): allowing it delegates to IAM, so an
    administrator also needs an IAM policy that allows the action."""
    admins = sorted(administrators)
    allows: list[dict[str, Any]] = [
        {
            "Sid": "AdministratorsAdministerKey",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(KEY_ADMINISTRATION),
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": admins}},
        },
        {
            "Sid": "AccountReadsKeyMetadata",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(KEY_METADATA),
            "Resource": "*",
        },
    ]
    if iam_decides_use:
        allows.append(
            {
                "Sid": "AccountUsesKeyUnderIam",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": list(KEY_USE),
                "Resource": "*",
            }
        )
    denies: list[dict[str, Any]] = [
        {
            "Sid": "OnlyAdministratorsDeleteDisableOrRepolicyKey",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": list(RESERVED_TO_ADMINISTRATORS),
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": admins}},
        },
        {
            "Sid": "AdministratorsUseKeyOnlyThroughServices",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": list(KEY_CRYPTOGRAPHY),
            "Resource": "*",
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": admins},
                # absent kms:ViaService (a direct call) satisfies the negated operator
                "StringNotLike": {"kms:ViaService": "*.amazonaws.com"},
            },
        },
    ]
    return allows, denies


def administered_policy(
    policy: str, administrators: Sequence[str], *, iam_decides_use: bool = True
) -> str:
    """``policy`` (a key policy in JSON) with its administration given to ``administrators``;
    unchanged when there are none. The policy must hold :func:`account_administers_key`,
    whose principal names the account."""
    if not administrators:
        return policy
    document = json.loads(policy)
    statements = list(document["Statement"])
    blanket = [s for s in statements if _is_account_blanket(s)]
    if not blanket:
        raise ValueError(
            "the key policy has no account_administers_key(env) statement to hand to the "
            "administrators"
        )
    allows, denies = administration_statements(
        blanket[0]["Principal"]["AWS"], administrators, iam_decides_use=iam_decides_use
    )
    users = [s for s in statements if not _is_account_blanket(s)]
    document["Statement"] = allows + users + denies
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


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
    iam_decides_use: bool = True,
) -> aws.kms.Key:
    """A symmetric CMK with yearly rotation (PCI DSS 3.6.4), protected in prod.

    ``policy`` says who uses the key and starts with :func:`account_administers_key`; the
    key's administration comes from ``context.administrators`` (:func:`administered_policy`).
    ``iam_decides_use=False`` is for a policy whose statements name every use (each service
    with its encryption context or ``kms:ViaService``): with administrators, the account's
    IAM policies then decide no use of their own."""
    administrators = list(context.administrators)
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=pulumi.Output.from_input(policy).apply(
            lambda text: administered_policy(text, administrators, iam_decides_use=iam_decides_use)
        ),
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
