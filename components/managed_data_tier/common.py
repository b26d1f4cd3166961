"""What every data store of ManagedDataTier is built from, and what it gives back.

Each store module (rds, docdb, redis, rabbitmq, opensearch, dms) holds one
``build_<store>(scope, ...) -> StoreResult`` function; ManagedDataTier builds the shared
pieces once (the three keys, the DMS security group) into a :class:`DataTierScope` and calls
the builders of the stores its settings declare. Their settings are in ``settings/``, their
alarms in ``alarms.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..core.alarms import Alarm, Widget
from ..core.scope import Scope
from ..core.security_groups import Rule, restricted_security_group
from ..secure_vpc import NetworkRef

COMPONENT = "managed-data-tier"


@dataclass(frozen=True, kw_only=True)
class DataTierScope(Scope):
    """What every store of one data tier shares, beyond what every child shares."""

    network: NetworkRef
    #: the data-store key: storage, snapshots, Performance Insights, DMS (``keys.py``)
    kms_key: aws.kms.Key
    #: the key of the Secrets Manager secrets the tier creates
    secrets_key: aws.kms.Key
    #: the key of the tier's CloudWatch log groups
    logs_key: aws.kms.Key
    alarm_topic_arn: pulumi.Input[str]
    #: app name -> that app's instance security group id (``AppRef``)
    app_security_groups: Mapping[str, pulumi.Input[str]]
    #: security group of the DMS replication instance, when migration is on
    dms_security_group_id: pulumi.Input[str] | None = None
    #: security group of the functions rotating the RDS targets' migration users
    dms_rotation_security_group_id: pulumi.Input[str] | None = None
    #: stores (`rds.loyalty`, `documentdb.mmf`) a DMS task writes to
    dms_targets: frozenset[str] = frozenset()

    def dms_peer(self, store: str) -> pulumi.Input[str] | None:
        """The DMS security group, if a DMS task writes to ``store`` (`rds.loyalty`): only
        such a store admits the replication instance."""
        return self.dms_security_group_id if store in self.dms_targets else None

    def rotation_peer(self, store: str) -> pulumi.Input[str] | None:
        """The group of the function rotating the DMS migration user of ``store`` (an RDS
        target only)."""
        if store in self.dms_targets and store.startswith("rds."):
            return self.dms_rotation_security_group_id
        return None


@dataclass(frozen=True)
class StoreResult:
    """What a store gives back to ManagedDataTier (and, through it, to the stack)."""

    endpoint: pulumi.Output[str]
    port: int
    security_group_id: pulumi.Output[str]
    #: ARN of the Secrets Manager secret of the store's own (master or admin) credentials
    #: (never the value itself); apps read it only when named in ``secret_readers``
    secret_arn: pulumi.Output[str] | None = None
    #: which of the tier's keys encrypts that secret (``data``: the data-store key, ``secrets``:
    #: the secrets key; a reader then needs kms:Decrypt on it, through Secrets Manager); None
    #: for the aws/secretsmanager key, whose key policy lets every principal of the account
    #: decrypt through Secrets Manager
    secret_key: Literal["data", "secrets"] | None = None
    #: apps still allowed to read ``secret_arn`` while they move to their own credentials
    secret_readers: frozenset[str] = frozenset()
    #: app -> the ARN of that app's own credentials secret in this store (under the tier's
    #: secrets key, always); each app reads its own only
    app_secrets: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    #: app -> the user name it connects as (its own user: Redis, RabbitMQ, RDS)
    app_users: Mapping[str, str] = field(default_factory=dict)
    #: app -> IAM statements its role needs to authenticate as its own user (e.g.
    #: ``elasticache:Connect``, ``rds-db:connect``)
    app_statements: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    #: ARN of the OpenSearch domain its clients call with IAM credentials (`es:ESHttp*`)
    search_domain_arn: pulumi.Output[str] | None = None
    #: resources other stores may need (e.g. the RDS instance for a DMS target endpoint)
    resources: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    #: the store's alarms (``alarms.py``), raised by the component on the stack topic
    alarms: Sequence[Alarm] = ()
    widgets: list[Widget] = field(default_factory=list)


def store_security_group(
    scope: DataTierScope,
    store: str,
    *,
    port: int,
    clients: Sequence[str],
    migration: pulumi.Input[str] | None = None,
    rotation: pulumi.Input[str] | None = None,
    management: tuple[int, pulumi.Input[str]] | None = None,
    description: str | None = None,
) -> aws.ec2.SecurityGroup:
    """The store's security group: its port, from exactly the declared apps (and the DMS
    security group ``migration`` when a task writes to it, the group of the function that
    rotates its DMS migration user's password ``rotation``, and ``management``: (port, group)
    of the function that manages its users). No egress: a data store never opens
    connections."""
    ingress: list[Rule] = []
    if clients:
        ingress.append(
            Rule(
                "clients",
                port,
                security_groups={app: scope.app_security_groups[app] for app in clients},
                description=f"{store} clients",
            )
        )
    if migration is not None:
        ingress.append(
            Rule(
                "migration",
                port,
                security_groups={"dms": migration},
                description=f"DMS replication into {store}",
            )
        )
    if rotation is not None:
        ingress.append(
            Rule(
                "rotation",
                port,
                security_groups={"rotation": rotation},
                description=f"Password rotation of the DMS migration user of {store}",
            )
        )
    if management is not None:
        management_port, peer = management
        ingress.append(
            Rule(
                "management",
                management_port,
                security_groups={"users": peer},
                description=f"The function managing the users of {store}",
            )
        )
    return restricted_security_group(
        f"{scope.name}-{store}-sg",
        vpc_id=scope.network.vpc_id,
        description=description or f"{store} of {scope.name}: its client apps only, port {port}",
        context=scope.context,
        component=scope.component,
        ingress=ingress,
        parent=scope.parent,
    )


def as_secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """Mark a value secret, so the engine encrypts it in state and masks it in diffs."""
    return pulumi.Output.secret(cast(Any, value))


def generated_password(
    scope: DataTierScope, store: str, role: str, *, length: int, specials: str
) -> random.RandomPassword:
    """A random password kept in state (stable across runs), specials the service accepts."""
    return random.RandomPassword(
        f"{scope.name}-{store}-{role}-password",
        length=length,
        special=True,
        override_special=specials,
        min_lower=2,
        min_upper=2,
        min_numeric=2,
        min_special=1,
        opts=scope.opts(),
    )


def credentials_secret(
    scope: DataTierScope,
    store: str,
    *,
    username: pulumi.Input[str],
    password: pulumi.Output[str],
    host: pulumi.Input[str],
    port: int,
    engine: str,
    role: str | None = None,
    extra: Mapping[str, pulumi.Input[Any]] | None = None,
    rotated: bool = False,
    protect: bool = True,
) -> aws.secretsmanager.Secret:
    """Secrets Manager secret, under the tier's secrets key, holding the credentials in the
    JSON shape AWS's rotation templates expect. Only its ARN ever leaves the component.

    ``role`` names a second secret of the same store (an app's own user: ``rabbitmq`` +
    ``loyalty`` is ``{tier}-rabbitmq-loyalty-credentials``). A ``rotated`` secret's first
    version is never written back by Pulumi: after a rotation it no longer holds AWSCURRENT
    and its value is stale (rewriting it would undo the rotation)."""
    name = f"{scope.name}-{store}-{role}" if role else f"{scope.name}-{store}"
    name = f"{name}-credentials"
    secret = aws.secretsmanager.Secret(
        name,
        description=f"Credentials of the {store} of {scope.name}"
        + (f" for {role}" if role else ""),
        kms_key_id=scope.secrets_key.arn,
        # the recovery window lets an operator undo a mistaken delete (30 days is AWS's max)
        recovery_window_in_days=30 if scope.context.is_prod else 7,
        tags=scope.tags(Name=name),
        opts=scope.stateful_opts() if protect else scope.opts(),
    )
    aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret.id,
        secret_string=as_secret(
            pulumi.Output.json_dumps(
                {
                    "engine": engine,
                    "host": host,
                    "port": port,
                    "username": username,
                    "password": password,
                    **(extra or {}),
                }
            )
        ),
        opts=scope.opts(ignore_changes=["secretString", "versionStages"] if rotated else None),
    )
    return secret


def encrypted_log_group(
    scope: DataTierScope, store: str, log: str, *, retention_days: int
) -> aws.cloudwatch.LogGroup:
    """A CloudWatch log group encrypted with the tier's logs key (PCI DSS 10.3/10.5)."""
    ctx = scope.context
    return aws.cloudwatch.LogGroup(
        f"{scope.name}-{store}-{log}",
        name=f"/{ctx.project}/{ctx.environment}/{scope.name}/{store}/{log}",
        retention_in_days=retention_days,
        kms_key_id=scope.logs_key.arn,
        tags=scope.tags(),
        opts=scope.stateful_opts(),
    )


def encrypted_log_groups(
    scope: DataTierScope, store: str, names: Mapping[str, str], retention_days: int
) -> list[aws.cloudwatch.LogGroup]:
    """Create the log groups the service would otherwise create unencrypted and kept forever,
    so exported database logs are encrypted with the tier's logs key and retained per PCI
    DSS 10.5.1."""
    return [
        aws.cloudwatch.LogGroup(
            f"{scope.name}-{store}-log-{log}",
            name=group,
            retention_in_days=retention_days,
            kms_key_id=scope.logs_key.arn,
            tags=scope.tags(),
            opts=scope.stateful_opts(),
        )
        for log, group in names.items()
    ]


def az_name(scope: DataTierScope, letter: str) -> pulumi.Output[str]:
    return scope.env.region.apply(lambda region: f"{region}{letter}")


def first_azs(network: NetworkRef, count: int) -> list[str]:
    """The first ``count`` AZ letters in order: adding an AZ to the VPC later never changes
    which subnets a store already sits in (subnet changes replace brokers and domains)."""
    return sorted(network.availability_zones)[:count]
