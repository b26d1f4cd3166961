"""What each client app may do with the stores it is a client of, granted on its instances'
role (``AppRef.instance_role_name``) by the data tier, which alone knows the secrets.

An app reads the credentials of exactly the stores that name it in ``clients``: RDS and
DocumentDB master secrets (managed by the service), the Redis and RabbitMQ secrets (generated
here). Reading a secret encrypted with a customer-managed key takes ``kms:Decrypt`` on that key
as well, which Secrets Manager calls with the reader's credentials ("Authentication and access
control for AWS Secrets Manager"); the grant allows it only through Secrets Manager
(``kms:ViaService``), so the role cannot decrypt anything else the data tier key protects.
Secrets under the ``aws/secretsmanager`` key (DocumentDB's master secret) need no grant: that
key's policy lets every principal of the account decrypt through Secrets Manager.

OpenSearch has no secret: its clients sign requests with the role, and the domain policy,
which names the account, lets the account's IAM policies decide; so a client app is allowed
``es:ESHttp*`` on its domain (what it may do inside is decided by fine-grained access control
role mappings).

PCI DSS 7.2.1/7.2.2: access by need to know; 8.3.2: credentials readable by their users only.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def stores_of_client(settings: ManagedDataTierSettings, app: str) -> list[str]:
    """The keys (`rds.loyalty`, `redis`, ...) of the stores that name ``app`` a client."""
    return sorted(key for key, (_, store) in settings.stores().items() if app in store.clients)


def client_policy(scope: DataTierScope, stores: list[StoreResult]) -> pulumi.Output[str] | None:
    """The policy of a client of ``stores``: their secrets, and their search domain; None
    when there is nothing to grant."""
    secrets = [s.secret_arn for s in stores if s.secret_arn is not None]
    domains = [s.search_domain_arn for s in stores if s.search_domain_arn is not None]
    statements: list[dict[str, Any]] = []
    if secrets:
        statements.append(
            {
                "Sid": "ReadStoreSecrets",
                "Effect": "Allow",
                "Action": list(SECRET_READ),
                "Resource": secrets,
            }
        )
    if any(s.secret_under_tier_key for s in stores if s.secret_arn is not None):
        statements.append(
            {
                "Sid": "DecryptStoreSecretsThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": scope.kms_key.arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": scope.env.service_endpoint("secretsmanager")}
                },
            }
        )
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
            scope, [results[store] for store in stores_of_client(settings, app)]
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
