"""ElastiCache (Redis OSS or Valkey) replication group of ManagedDataTier.

PCI DSS: 3.5 (card data encrypted at rest with a customer-managed key), 4.2 (strong
cryptography in transit: TLS required, no plaintext port), 7.2.5/8.2.2 (each app its own
user, with only its keys and commands), 8.3/8.6 (no password: IAM authentication, tokens valid
15 minutes), 10.2 (engine and slow logs kept in CloudWatch Logs).

Each client app connects as its own RBAC user, ``<environment>-<tier>-redis-<app>``, whose
access string gives it its key and channel patterns and its commands (``redis.appAccess``),
and which authenticates with the app's instance role: ElastiCache IAM authentication, for
Valkey 7.2+ and Redis OSS 7.0+ with in-transit encryption, user id equal to user name; the
role needs ``elasticache:Connect`` on the replication group and on the user ("Authenticating
with IAM", ElastiCache user guide). Nothing is stored, so nothing needs rotating; a
connection is closed after 12 hours and re-authenticated with a fresh token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..secure_vpc.plan import SERVICES
from .alarms import redis_alarms, redis_widgets
from .common import (
    DataTierScope,
    StoreResult,
    as_secret,
    credentials_secret,
    encrypted_log_group,
    generated_password,
    store_security_group,
)
from .settings import RedisAppAccess, RedisSettings

REDIS_PORT = SERVICES["redis"].from_port

#: ElastiCache IDs (user ids, replication group ids): letter first, lowercase, <= 40 chars.
ELASTICACHE_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
#: ElastiCache RBAC passwords: 16-128 printable characters; AWS documents only these
#: specials as safe for AUTH tokens, so the generator is held to them.
ELASTICACHE_PASSWORD_SPECIALS = "!&#$^<>-"


# --- identifiers -------------------------------------------------------------------------


def redis_user_ids(name: str, environment: str, apps: Iterable[str] = ()) -> dict[str, str]:
    """RBAC user ids (unique per account and region, so they carry the environment): the
    required ``default`` user, the shared ``app`` user of earlier versions, one per app."""
    return {
        role: f"{environment}-{name}-redis-{role}" for role in ("default", "app", *sorted(apps))
    }


# --- builder -----------------------------------------------------------------------------


def build_redis(scope: DataTierScope, settings: RedisSettings) -> StoreResult:
    prefix = f"{scope.name}-redis"
    sg = store_security_group(scope, "redis", port=REDIS_PORT, clients=settings.clients)
    users = _rbac_users(scope, settings)
    params = aws.elasticache.ParameterGroup(
        f"{prefix}-params",
        family=settings.family,
        description=f"{settings.engine} parameters of {scope.name}",
        parameters=[
            {"name": k, "value": v}
            for k, v in sorted(
                {
                    **settings.parameters,
                    "cluster-enabled": "yes" if settings.cluster_mode == "enabled" else "no",
                }.items()
            )
        ],
        tags=scope.tags(),
        opts=scope.opts(),
    )
    slow_log = encrypted_log_group(
        scope, "redis", "slow-log", retention_days=settings.log_retention_days
    )
    engine_log = encrypted_log_group(
        scope, "redis", "engine-log", retention_days=settings.log_retention_days
    )
    group = aws.elasticache.ReplicationGroup(
        f"{prefix}-group",
        description=f"{settings.engine} of {scope.name}",
        engine=settings.engine,
        engine_version=settings.engine_version,
        node_type=settings.node_type,
        port=REDIS_PORT,
        parameter_group_name=params.name,
        subnet_group_name=scope.network.cache_subnet_group_name,
        security_group_ids=[sg.id],
        **_topology(scope, settings),
        automatic_failover_enabled=settings.automatic_failover,
        multi_az_enabled=settings.multi_az,
        at_rest_encryption_enabled=True,
        kms_key_id=scope.kms_key.arn,
        transit_encryption_enabled=True,
        # "required" refuses plaintext connections ("preferred" would accept both).
        transit_encryption_mode="required",
        # AUTH through RBAC users (see _rbac_users), never an auth_token.
        user_group_ids=[users.group.user_group_id],
        snapshot_retention_limit=settings.snapshot_retention_days,
        snapshot_window=settings.snapshot_window,
        maintenance_window=settings.maintenance_window,
        auto_minor_version_upgrade=settings.auto_minor_version_upgrade,
        final_snapshot_identifier=(
            f"{scope.context.environment}-{prefix}-final" if scope.context.is_prod else None
        ),
        log_delivery_configurations=[
            {
                "destination": log.name,
                "destination_type": "cloudwatch-logs",
                "log_format": "json",
                "log_type": log_type,
            }
            for log_type, log in (("slow-log", slow_log), ("engine-log", engine_log))
        ],
        tags=scope.tags(Name=prefix),
        opts=scope.stateful_opts(),
    )
    endpoint = (
        group.configuration_endpoint_address
        if settings.cluster_mode == "enabled"
        else group.primary_endpoint_address
    )
    secret = (
        credentials_secret(
            scope,
            "redis",
            username=users.shared.user_name,
            password=users.shared_password.result,
            host=endpoint,
            port=REDIS_PORT,
            engine=settings.engine,
        )
        if users.shared is not None and users.shared_password is not None
        else None
    )
    # node ids are "<group id>-<suffix>"; the suffixes are known before the group exists
    suffixes = [n.removeprefix("x-") for n in settings.node_ids("x")]
    node_ids = {suffix: _node_id(group.id, suffix) for suffix in suffixes}
    resources: dict[str, pulumi.Resource] = {"replication_group": group, "user_group": users.group}
    if secret is not None:
        resources["secret"] = secret
    return StoreResult(
        endpoint=endpoint,
        port=REDIS_PORT,
        security_group_id=sg.id,
        secret_arn=secret.arn if secret is not None else None,
        secret_key="secrets" if secret is not None else None,
        secret_readers=frozenset(settings.clients) if secret is not None else frozenset(),
        app_users=dict(users.app_ids),
        app_statements={
            app: [connect_statement(group.arn, user.arn)] for app, user in users.apps.items()
        },
        resources=resources,
        alarms=redis_alarms(scope.name, settings, node_ids),
        widgets=redis_widgets(scope.name, settings, list(node_ids.values()), scope.env.region),
    )


def _topology(scope: DataTierScope, settings: RedisSettings) -> dict[str, Any]:
    if settings.cluster_mode == "enabled":
        return {
            "cluster_mode": "enabled",
            "num_node_groups": settings.shards,
            "replicas_per_node_group": settings.replicas_per_shard,
        }
    nodes = settings.replicas_per_shard + 1
    azs = sorted(scope.network.availability_zones)
    # Primary and replicas in different AZs, in AZ order (ignored by AWS after creation,
    # so a later AZ change never replaces the group).
    preferred = scope.env.region.apply(
        lambda region: [f"{region}{azs[i % len(azs)]}" for i in range(nodes)]
    )
    return {
        "cluster_mode": "disabled",
        "num_cache_clusters": nodes,
        "preferred_cache_cluster_azs": preferred,
    }


@dataclass(frozen=True)
class RedisUsers:
    group: aws.elasticache.UserGroup
    #: app -> its own (IAM-authenticated) user, and the user's id (= its name)
    apps: Mapping[str, aws.elasticache.User]
    app_ids: Mapping[str, str]
    #: the shared password user of earlier versions (``redis.sharedAppUser``)
    shared: aws.elasticache.User | None
    shared_password: random.RandomPassword | None


def connect_statement(group_arn: pulumi.Input[str], user_arn: pulumi.Input[str]) -> dict[str, Any]:
    """What an app's role needs to authenticate as its user: ``elasticache:Connect`` on the
    replication group and on the user (both, or the connection is refused)."""
    return {
        "Effect": "Allow",
        "Action": "elasticache:Connect",
        "Resource": [group_arn, user_arn],
    }


def _password_user(
    scope: DataTierScope, settings: RedisSettings, name: str, user_id: str, access_string: str
) -> tuple[aws.elasticache.User, random.RandomPassword]:
    """An RBAC user ``name`` that authenticates with a generated password, and the password."""
    password = generated_password(
        scope, "redis", name, length=32, specials=ELASTICACHE_PASSWORD_SPECIALS
    )
    user = aws.elasticache.User(
        f"{scope.name}-redis-{name}-user",
        user_id=user_id,
        user_name=name,
        engine=settings.engine,
        access_string=access_string,
        authentication_mode={"type": "password", "passwords": [as_secret(password.result)]},
        tags=scope.tags(),
        opts=scope.opts(),
    )
    return user, password


def _rbac_users(scope: DataTierScope, settings: RedisSettings) -> RedisUsers:
    """AUTH with RBAC users rather than an auth_token.

    Why: rotating an auth_token in place is unsafe with the provider. With
    auth_token_update_strategy ROTATE the old token stays valid and a later change can leave
    the group accepting connections without a token (terraform-provider-aws #33439), and a
    token change has recreated the whole cluster (#15561). Users change with
    ModifyUser/ModifyUserGroup and never touch the replication group.

    ElastiCache requires a user named ``default`` in every user group; ours is switched off
    (``off``, no commands) so every client must authenticate as its own user. Each client
    app's user authenticates with IAM (``authentication_mode`` iam: user id = user name, as
    ElastiCache requires) with the access string of ``redis.appAccess.<app>``."""
    prefix = f"{scope.name}-redis"
    ids = redis_user_ids(scope.name, scope.context.environment, settings.clients)
    default_user, _ = _password_user(scope, settings, "default", ids["default"], "off -@all")
    apps: dict[str, aws.elasticache.User] = {}
    for app in sorted(settings.clients):
        access = settings.app_access.get(app, RedisAppAccess())
        apps[app] = aws.elasticache.User(
            f"{prefix}-user-{app}",
            user_id=ids[app],
            user_name=ids[app],
            engine=settings.engine,
            access_string=access.access_string(app),
            authentication_mode={"type": "iam"},
            tags=scope.tags(app=app),
            opts=scope.opts(),
        )
    shared: aws.elasticache.User | None = None
    shared_password: random.RandomPassword | None = None
    if settings.shared_app_user:
        # all keys and channels, but not the admin/dangerous commands (CONFIG, FLUSHALL, ...)
        shared, shared_password = _password_user(
            scope, settings, "app", ids["app"], "on ~* &* +@all -@dangerous"
        )
    members = [default_user, *apps.values(), *([shared] if shared is not None else [])]
    group = aws.elasticache.UserGroup(
        f"{prefix}-users",
        user_group_id=f"{scope.context.environment}-{scope.name}-redis",
        engine=settings.engine,
        user_ids=[user.user_id for user in members],
        tags=scope.tags(),
        opts=scope.opts(),
    )
    return RedisUsers(
        group=group,
        apps=apps,
        app_ids={app: ids[app] for app in apps},
        shared=shared,
        shared_password=shared_password,
    )


def _node_id(group_id: pulumi.Output[str], suffix: str) -> pulumi.Output[str]:
    return group_id.apply(lambda gid: f"{gid}-{suffix}")
