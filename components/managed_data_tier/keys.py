"""The data tier's keys, one per purpose (PCI DSS 3.6.1, 3.7): data stores, secrets, logs.

Each key's policy names every use, each service with its ``kms:ViaService`` or its encryption
context, so a key for the tier's secrets cannot decrypt a database snapshot, and the key of
the data stores cannot be used by CloudWatch Logs to write (only to read the events written
under it before the logs key existed). Principals of this account (``kms:CallerAccount``) use
a key only through its service, the way AWS's own managed keys (``aws/rds``,
``aws/secretsmanager``) allow it: the service's API (CreateDBInstance, GetSecretValue) is
itself allowed by IAM, and the services' service-linked roles keep working without an IAM
policy of ours. Who administers the keys comes from ``StackContext.administrators``
(:mod:`components.core.kms`); with administrators, no blanket ``kms:*`` is left for the
account's IAM policies to hand out (``iam_decides_use=False``).

The data-store key is the key the tier always had (``<tier>-key``): changing the key of an
existing RDS instance, DocumentDB cluster, ElastiCache group, OpenSearch domain, Performance
Insights or DMS replication instance replaces it or is refused (data loss), and RDS refuses
to change the key of a master-user secret it already manages (ModifyDBInstance,
MasterUserSecretKmsKeyId: "If the DB instance already manages the master user password in
AWS Secrets Manager, you can't change the KMS key"). What AWS moves in place moves:

- secrets the tier creates (Redis, RabbitMQ, DMS targets): ``UpdateSecret`` with a new key
  re-encrypts the AWSCURRENT, AWSPENDING and AWSPREVIOUS versions and keeps them readable
  with the old key too (Secrets Manager user guide, "Change the encryption key for a
  secret");
- log groups: ``AssociateKmsKey`` encrypts the events ingested from then on with the new key;
  the events already stored stay under the old key, which CloudWatch Logs needs to read
  them until the retention expires (CloudWatch Logs API, AssociateKmsKey/DisassociateKmsKey).
  So the data-store key keeps ``LogsReadEventsWrittenBeforeTheLogsKey``: decrypt only, for
  this tier's log groups only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import policy_json
from ..core.kms import KEY_USE, account_administers_key, customer_managed_key
from ..core.scope import Scope

#: Services through which the account's principals use the data-store key:
#: RDS (DocumentDB and Performance Insights go through `rds` too), ElastiCache, OpenSearch
#: (`es`) and DMS. A service the tier does not hold is listed all the same, so that adding or
#: retiring a store never changes the key policy.
DATA_SERVICES = ("dms", "elasticache", "es", "rds")
#: What Secrets Manager does with a secret's key on the caller's behalf (GetSecretValue,
#: PutSecretValue, CreateSecret and UpdateSecret with a new key): Secrets Manager user guide,
#: "Secret encryption and decryption", "Permissions for the KMS key".
SECRETS_CRYPTOGRAPHY = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
#: What CloudWatch Logs does with a log group's key ("Encrypt log data in CloudWatch Logs
#: using AWS KMS", the key policy it documents).
LOGS_CRYPTOGRAPHY = (
    "kms:Decrypt*",
    "kms:Describe*",
    "kms:Encrypt*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
#: The encryption context CloudWatch Logs passes: the log group's ARN.
LOGS_CONTEXT = "kms:EncryptionContext:aws:logs:arn"
#: Secrets RDS creates and manages for a master user (``rds!db-<uuid>``).
RDS_MANAGED_SECRETS = "secret:rds!db-*"


def log_group_patterns(scope: Scope) -> list[pulumi.Output[str]]:
    """ARN patterns of every log group of this tier (the ``aws:logs:arn`` encryption context
    CloudWatch Logs passes): the database exports AWS names after the instance or cluster
    (``/aws/rds/instance/<tier>-<store>/...``, ``/aws/docdb/<tier>-<store>/...``), the tier's
    own (``/<project>/<environment>/<tier>/...``) and its functions'
    (``/aws/lambda/<tier>-...``)."""
    ctx, name = scope.context, scope.name
    groups = (
        f"/aws/rds/instance/{name}-*",
        f"/aws/docdb/{name}-*",
        f"/{ctx.project}/{ctx.environment}/{name}/*",
        f"/aws/lambda/{name}-*",
    )
    return [scope.env.arn("logs", f"log-group:{group}") for group in groups]


def secret_patterns(scope: Scope) -> list[pulumi.Output[str]]:
    """ARN pattern of every secret this tier creates (Pulumi names each
    ``<tier>-<store>-...``; Secrets Manager appends six characters)."""
    return [scope.env.arn("secretsmanager", f"secret:{scope.name}-*")]


def _document(scope: Scope, statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [account_administers_key(scope.env), *statements],
        }
    )


def data_store_key(
    scope: Scope, legacy_secret_arns: Sequence[pulumi.Input[str]] = ()
) -> aws.kms.Key:
    """The key of the stores' data (``<tier>-key``, the tier's original key).

    ``legacy_secret_arns``: secrets others made under this key before the tier had a secrets
    key (an on-prem DBA's DMS source secret) that must stay readable through Secrets
    Manager, besides the RDS-managed master secrets whose key RDS does not change."""
    env = scope.env
    managed_secrets: list[pulumi.Input[str]] = [env.arn("secretsmanager", RDS_MANAGED_SECRETS)]
    managed_secrets += list(legacy_secret_arns)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountUsesKeyThroughDataServices",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": list(KEY_USE),
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": env.account_id,
                    "kms:ViaService": [env.service_endpoint(s) for s in DATA_SERVICES],
                }
            },
        },
        {
            # RDS keeps a managed master secret under the key it was created with
            "Sid": "RdsManagedSecretsThroughSecretsManager",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": list(SECRETS_CRYPTOGRAPHY),
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": env.account_id,
                    "kms:ViaService": env.service_endpoint("secretsmanager"),
                },
                "ArnLike": {"kms:EncryptionContext:SecretARN": managed_secrets},
            },
        },
        {
            "Sid": "LogsReadEventsWrittenBeforeTheLogsKey",
            "Effect": "Allow",
            "Principal": {"Service": env.service_endpoint("logs")},
            "Action": ["kms:Decrypt*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {LOGS_CONTEXT: log_group_patterns(scope)}},
        },
    ]
    return customer_managed_key(
        f"{scope.name}-key",
        description=f"Data stores of {scope.name}: databases, caches, search, DMS",
        policy=_document(scope, statements),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
        iam_decides_use=False,
    )


def secrets_key(scope: Scope) -> aws.kms.Key:
    """The key of the secrets the tier creates: usable only through Secrets Manager, and only
    for this tier's secrets (their ARN is Secrets Manager's encryption context)."""
    env = scope.env
    through_secrets_manager = {
        "kms:CallerAccount": env.account_id,
        "kms:ViaService": env.service_endpoint("secretsmanager"),
    }
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountUsesKeyForTheTiersSecrets",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": list(SECRETS_CRYPTOGRAPHY),
            "Resource": "*",
            "Condition": {
                "StringEquals": through_secrets_manager,
                "ArnLike": {"kms:EncryptionContext:SecretARN": secret_patterns(scope)},
            },
        },
        {
            # DescribeKey carries no encryption context
            "Sid": "AccountDescribesKeyThroughSecretsManager",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": through_secrets_manager},
        },
    ]
    return customer_managed_key(
        f"{scope.name}-secrets-key",
        description=f"Secrets of {scope.name}: store credentials, DMS migration users",
        policy=_document(scope, statements),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
        iam_decides_use=False,
    )


def logs_key(scope: Scope) -> aws.kms.Key:
    """The key of the tier's log groups: CloudWatch Logs of this account and region uses it,
    for this tier's log groups only. Readers of the logs need no KMS permission (CloudWatch
    Logs decrypts as its own principal); who reads is decided by logs:* IAM permissions."""
    env = scope.env
    statements: list[dict[str, Any]] = [
        {
            "Sid": "LogsEncryptTheTiersLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": env.service_endpoint("logs")},
            "Action": list(LOGS_CRYPTOGRAPHY),
            "Resource": "*",
            "Condition": {"ArnLike": {LOGS_CONTEXT: log_group_patterns(scope)}},
        }
    ]
    return customer_managed_key(
        f"{scope.name}-logs-key",
        description=f"Log groups of {scope.name}: database, cache, search, function logs",
        policy=_document(scope, statements),
        context=scope.context,
        component=scope.component,
        parent=scope.parent,
        iam_decides_use=False,
    )
