"""What each client app may do with the stores it is a client of, granted on its instances'
role (``AppRef.instance_role_name``) by the data tier, which alone knows its users and secrets.

Each app authenticates as its own user, and reads only its own credentials
(PCI DSS 7.2.1/7.2.2/7.2.5, 8.2.2):

- RDS: ``rds-db:connect`` as its database user (IAM database authentication, the user named
  after the app), no password;
- DocumentDB 5.0: its instance role is its `$external` user (IAM authentication, no IAM
  permission needed), no password;
- Redis/Valkey: ``elasticache:Connect`` as its own RBAC user (IAM authentication);
- RabbitMQ: its own broker user and virtual host, whose password is in a secret of its own,
  rotated; ``secretsmanager:GetSecretValue`` on that secret only;
- OpenSearch: ``es:ESHttp*`` on its domain (the domain policy names the account, so the
  account's IAM policies decide; what the role may do inside is decided by fine-grained access
  control role mappings).

A store's master or admin secret is read by the apps listed in its ``master_secret_readers``
(or, for the shared Redis user of earlier versions, its clients while ``shared_app_user`` is
on), and by no other. Reading a secret encrypted with a customer-managed key takes
``kms:Decrypt`` on that key as well, which Secrets Manager calls with the reader's credentials
("Authentication and access control for AWS Secrets Manager"); each grant allows it only
through Secrets Manager (``kms:ViaService``) and only for the secrets the app reads
(``kms:EncryptionContext:SecretARN``, the context Secrets Manager passes), so the role cannot
decrypt anything else the key protects. Secrets under the ``aws/secretsmanager`` key
(DocumentDB's master secret) need no KMS grant: that key's policy lets every principal of the
account decrypt through Secrets Manager.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from ..core.aws_env import policy_json
from ..ha_app_tier import AppRef
from .common import DataTierScope, StoreResult
from .settings import ManagedDataTierSettings

#: Read a secret's value; DescribeSecret lets the AWS caching clients check for a new version.
SECRET_READ = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
#: The HTTP methods of the OpenSearch REST API.
SEARCH_HTTP = (
    "es:ESHttpDelete",
    "es:ESHttpGet",
    "es:ESHttpHead",
    "es:ESHttpPatch",
    "es:ESHttpPost",
    "es:ESHttpPut",
)
#: Statement ids of the connect permissions the stores ask for, by action.
CONNECT_SIDS: Mapping[str, str] = {
    "elasticache:Connect": "ConnectToRedisAsItsOwnUser",
    "rds-db:connect": "ConnectToDatabasesAsItsOwnUser",
}


def stores_of_client(settings: ManagedDataTierSettings, app: str) -> list[str]:
    """The keys (`rds.loyalty`, `redis`, ...) of the stores that name ``app`` a client."""
    return sorted(key for key, (_, store) in settings.stores().items() if app in store.clients)


def secrets_of(
    app: str, stores: Sequence[StoreResult]
) -> list[tuple[pulumi.Output[str], str | None]]:
    """(secret ARN, which tier key encrypts it or None) of every secret ``app`` reads: its
    own credentials in each store, and a store's own secret it is still allowed."""
    found: list[tuple[pulumi.Output[str], str | None]] = []
    for store in stores:
        if app in store.app_secrets:
            found.append((store.app_secrets[app], "secrets"))
        if store.secret_arn is not None and app in store.secret_readers:
            found.append((store.secret_arn, store.secret_key))
    return found


#: Statement ids of the decrypt grants, by the tier key they name.
DECRYPT_SIDS: Mapping[str, str] = {
    "data": "DecryptDatabaseSecretsThroughSecretsManager",
    "secrets": "DecryptItsSecretsThroughSecretsManager",
}


def _decrypt_statements(
    scope: DataTierScope, secrets: list[tuple[pulumi.Output[str], str | None]]
) -> list[dict[str, Any]]:
    """kms:Decrypt through Secrets Manager, per tier key, for exactly these secrets."""
    keys = {"data": scope.kms_key.arn, "secrets": scope.secrets_key.arn}
    by_key: dict[str, list[pulumi.Output[str]]] = {}
    for arn, key in secrets:
        if key is not None:
            by_key.setdefault(key, []).append(arn)
    statements = []
    for key, arns in sorted(by_key.items()):
        statements.append(
            {
                "Sid": DECRYPT_SIDS[key],
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": keys[key],
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": scope.env.service_endpoint("secretsmanager")
                    },
                    "ArnEquals": {"kms:EncryptionContext:SecretARN": arns},
                },
            }
        )
    return statements


def _connect_statements(app: str, stores: Sequence[StoreResult]) -> list[dict[str, Any]]:
    """The stores' connect statements for ``app``, one per action (IAM refuses two
    statements with one Sid in a policy)."""
    resources: dict[str, list[Any]] = {}
    for store in stores:
        for statement in store.app_statements.get(app, ()):
            found = statement["Resource"]
            items = found if isinstance(found, list) else [found]
            resources.setdefault(statement["Action"], []).extend(items)
    return [
        {
            "Sid": CONNECT_SIDS[action],
            "Effect": "Allow",
            "Action": action,
            "Resource": items,
        }
        for action, items in sorted(resources.items())
    ]


def client_policy(
    scope: DataTierScope, app: str, stores: list[StoreResult]
) -> pulumi.Output[str] | None:
    """The policy of ``app`` as a client of ``stores``: its own credentials and users, and
    their search domain; None when there is nothing to grant."""
    secrets = secrets_of(app, stores)
    domains = [s.search_domain_arn for s in stores if s.search_domain_arn is not None]
    statements: list[dict[str, Any]] = []
    if secrets:
        statements.append(
            {
                "Sid": "ReadItsSecrets",
                "Effect": "Allow",
                "Action": list(SECRET_READ),
                "Resource": [arn for arn, _ in secrets],
            }
        )
        statements += _decrypt_statements(scope, secrets)
    statements += _connect_statements(app, stores)
    if domains:
        statements.append(
            {
                "Sid": "CallSearchDomain",
                "Effect": "Allow",
                "Action": list(SEARCH_HTTP),
                "Resource": [arn.apply(lambda a: f"{a}/*") for arn in domains],
            }
        )
    if not statements:
        return None
    return policy_json({"Version": "2012-10-17", "Statement": statements})


def grant_client_access(
    scope: DataTierScope,
    settings: ManagedDataTierSettings,
    results: Mapping[str, StoreResult],
    apps: Mapping[str, AppRef],
) -> dict[str, aws.iam.RolePolicy]:
    """One inline policy per client app on its instances' role, named after the app: adding
    an app adds one, adding a store to an app updates its document in place."""
    policies: dict[str, aws.iam.RolePolicy] = {}
    for app, ref in sorted(apps.items()):
        document = client_policy(
            scope, app, [results[store] for store in stores_of_client(settings, app)]
        )
        if document is None:
            continue
        policies[app] = aws.iam.RolePolicy(
            f"{scope.name}-app-{app}-access",
            name=f"{scope.name}-data-tier-stores",
            role=ref.instance_role_name,
            policy=document,
            opts=scope.opts(),
        )
    return policies
