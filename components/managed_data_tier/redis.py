"""ElastiCache (Redis OSS or Valkey) replication group of ManagedDataTier.

PCI DSS: 3.5 (card data encrypted at rest with a customer-managed key), 4.2 (strong
cryptography in transit: TLS required, no plaintext port), 8.2/8.3 (no shared default user,
every connection authenticated), 10.2 (engine and slow logs kept in CloudWatch Logs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field, field_validator, model_validator

from ..core.alarms import Widget, metric_alarm, metric_widget
from ..core.settings import SettingsModel, check_log_retention
from ..secure_vpc.plan import SERVICES
from .common import (
    COMPONENT,
    DataTierScope,
    StoreResult,
    as_secret,
    credentials_secret,
    encrypted_log_group,
    generated_password,
    store_security_group,
)

REDIS_PORT = SERVICES["redis"].from_port

_WINDOW = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")
_WEEKLY_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}-(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}$"
)
_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
_VERSION = re.compile(r"^(\d+)\.(\d+)$")
#: ElastiCache IDs (user ids, replication group ids): letter first, lowercase, <= 40 chars.
ELASTICACHE_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
#: ElastiCache RBAC passwords: 16-128 printable characters; AWS documents only these
#: specials as safe for AUTH tokens, so the generator is held to them.
ELASTICACHE_PASSWORD_SPECIALS = "!&#$^<>-"


# --- settings ----------------------------------------------------------------------------


class RedisSettings(SettingsModel):
    """ElastiCache replication group (`redis:` in the data tier config)."""

    clients: list[str] = Field(
        default_factory=list,
        description="Apps (app tier names) whose instances may connect on 6379. Default: none.",
    )
    engine: Literal["redis", "valkey"] = Field(
        default="redis", description="`redis` (Redis OSS) or `valkey` (drop-in, cheaper)."
    )
    engine_version: str = Field(
        default="7.1",
        description="major.minor; Redis OSS 7.0/7.1 or Valkey 7.2/8.x (TLS-required mode "
        "and RBAC need 7.0+).",
    )
    node_type: str = Field(default="cache.r7g.large", description="Node type of every node.")
    cluster_mode: Literal["disabled", "enabled"] = Field(
        default="disabled",
        description="`enabled` shards the keyspace (clients must speak Redis Cluster).",
    )
    shards: int = Field(
        default=1, ge=1, le=500, description="Node groups; more than 1 needs clusterMode enabled."
    )
    replicas_per_shard: int = Field(
        default=1, ge=0, le=5, description="Read replicas per shard, placed in other AZs."
    )
    automatic_failover: bool = Field(
        default=True, description="Promote a replica when the primary fails (needs a replica)."
    )
    multi_az: bool = Field(
        default=True,
        description="Multi-AZ: primary and replicas in different AZs, automatic failover.",
    )
    snapshot_retention_days: int = Field(
        default=14,
        ge=0,
        le=35,
        description="Daily snapshots kept (prod keeps >= 7; 0 turns backups off).",
    )
    snapshot_window: str = Field(
        default="17:00-18:00", description="Daily snapshot window, UTC (hh:mm-hh:mm)."
    )
    maintenance_window: str = Field(
        default="sun:18:30-sun:19:30",
        description="Weekly maintenance window, UTC (ddd:hh:mm-ddd:hh:mm); keep it clear of "
        "the snapshot window.",
    )
    auto_minor_version_upgrade: bool = Field(
        default=True, description="Apply engine patch releases in the maintenance window."
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Extra engine parameters (e.g. maxmemory-policy). `cluster-enabled` "
        "follows clusterMode.",
    )
    log_retention_days: int = Field(
        default=365, description="Retention of the slow and engine logs (PCI DSS 10.5.1)."
    )
    cpu_alarm_percent: float = Field(
        default=80, gt=0, le=100, description="EngineCPUUtilization alarm threshold."
    )
    memory_alarm_percent: float = Field(
        default=80, gt=0, le=100, description="DatabaseMemoryUsagePercentage alarm threshold."
    )
    connections_alarm: int = Field(
        default=5000, ge=1, description="CurrConnections per node alarm threshold."
    )
    replication_lag_alarm_seconds: float = Field(
        default=5, gt=0, description="ReplicationLag alarm threshold (seconds)."
    )

    @field_validator("engine_version")
    @classmethod
    def _version_form(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"redis.engineVersion {value!r}: give major.minor, e.g. '7.1'")
        return value

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        if not _NODE_TYPE.match(value):
            raise ValueError(
                f"redis.nodeType {value!r}: use an ElastiCache type, e.g. cache.r7g.large"
            )
        return value

    @field_validator("snapshot_window")
    @classmethod
    def _snapshot_window(cls, value: str) -> str:
        if not _WINDOW.match(value):
            raise ValueError(f"redis.snapshotWindow {value!r}: use hh:mm-hh:mm (UTC)")
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        if not _WEEKLY_WINDOW.match(value):
            raise ValueError(
                f"redis.maintenanceWindow {value!r}: use ddd:hh:mm-ddd:hh:mm (UTC), "
                "e.g. sun:18:30-sun:19:30"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, str]) -> dict[str, str]:
        if "cluster-enabled" in value:
            raise ValueError("redis.parameters: set clusterMode instead of cluster-enabled")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RedisSettings:
        major, minor = (int(x) for x in self.engine_version.split("."))
        if self.engine == "redis" and major != 7:
            raise ValueError(
                f"redis.engineVersion {self.engine_version} with engine redis: use 7.0 or 7.1 "
                "(TLS-required mode and RBAC users need Redis OSS 7)"
            )
        if self.engine == "valkey" and (major, minor) < (7, 2):
            raise ValueError(
                f"redis.engineVersion {self.engine_version} with engine valkey: use 7.2 or 8.x"
            )
        if self.shards > 1 and self.cluster_mode == "disabled":
            raise ValueError(
                f"redis.shards is {self.shards} but redis.clusterMode is disabled; "
                "set clusterMode: enabled or shards: 1"
            )
        if self.automatic_failover and self.replicas_per_shard < 1:
            raise ValueError(
                "redis.automaticFailover needs redis.replicasPerShard >= 1 (there is no replica "
                "to promote); add a replica or set automaticFailover: false"
            )
        if self.cluster_mode == "enabled" and not self.automatic_failover:
            raise ValueError(
                "redis.automaticFailover must be true when redis.clusterMode is enabled "
                "(ElastiCache requires it for cluster mode)"
            )
        if self.multi_az and not self.automatic_failover:
            raise ValueError(
                "redis.multiAz needs redis.automaticFailover: true (and a replica per shard)"
            )
        return self

    @property
    def family(self) -> str:
        """Parameter group family: redis7, valkey7, valkey8."""
        return f"{self.engine}{self.engine_version.split('.')[0]}"

    def node_ids(self, group_id: str) -> list[str]:
        """Cache cluster (node) ids ElastiCache gives the members of the replication group."""
        nodes = self.replicas_per_shard + 1
        if self.cluster_mode == "disabled":
            return [f"{group_id}-{n:03d}" for n in range(1, nodes + 1)]
        return [
            f"{group_id}-{s:04d}-{n:03d}"
            for s in range(1, self.shards + 1)
            for n in range(1, nodes + 1)
        ]


# --- identifiers -------------------------------------------------------------------------


def redis_user_ids(name: str, environment: str) -> dict[str, str]:
    """RBAC user ids (unique per account and region, so they carry the environment)."""
    return {role: f"{environment}-{name}-redis-{role}" for role in ("default", "app")}


# --- builder -----------------------------------------------------------------------------


def build_redis(scope: DataTierScope, settings: RedisSettings) -> StoreResult:
    prefix = f"{scope.name}-redis"
    sg = store_security_group(scope, "redis", port=REDIS_PORT, clients=settings.clients)
    user_group, app_user, app_password = _rbac_users(scope, settings)
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
        user_group_ids=[user_group.user_group_id],
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
    secret = credentials_secret(
        scope,
        "redis",
        username=app_user.user_name,
        password=app_password.result,
        host=endpoint,
        port=REDIS_PORT,
        engine=settings.engine,
    )
    widgets = _alarms_and_widgets(scope, settings, group)
    return StoreResult(
        endpoint=endpoint,
        port=REDIS_PORT,
        security_group_id=sg.id,
        secret_arn=secret.arn,
        resources={"replication_group": group, "user_group": user_group, "secret": secret},
        widgets=widgets,
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


def _rbac_users(
    scope: DataTierScope, settings: RedisSettings
) -> tuple[aws.elasticache.UserGroup, aws.elasticache.User, random.RandomPassword]:
    """AUTH with RBAC users rather than an auth_token.

    Why: rotating an auth_token in place is unsafe with the provider. With
    auth_token_update_strategy ROTATE the old token stays valid and a later change can leave
    the group accepting connections without a token (terraform-provider-aws #33439), and a
    token change has recreated the whole cluster (#15561). An RBAC user's password changes
    with ModifyUser and never touches the replication group.

    ElastiCache requires a user named ``default`` in every user group; ours is switched off
    (``off``, no commands) so every client must authenticate as the app user.
    """
    prefix = f"{scope.name}-redis"
    ids = redis_user_ids(scope.name, scope.context.environment)
    default_password = generated_password(
        scope, "redis", "default", length=32, specials=ELASTICACHE_PASSWORD_SPECIALS
    )
    default_user = aws.elasticache.User(
        f"{prefix}-default-user",
        user_id=ids["default"],
        user_name="default",
        engine=settings.engine,
        access_string="off -@all",
        authentication_mode={
            "type": "password",
            "passwords": [as_secret(default_password.result)],
        },
        tags=scope.tags(),
        opts=scope.opts(),
    )
    app_password = generated_password(
        scope, "redis", "app", length=32, specials=ELASTICACHE_PASSWORD_SPECIALS
    )
    app_user = aws.elasticache.User(
        f"{prefix}-app-user",
        user_id=ids["app"],
        user_name="app",
        engine=settings.engine,
        # all keys and channels, but not the admin/dangerous commands (CONFIG, FLUSHALL, ...)
        access_string="on ~* &* +@all -@dangerous",
        authentication_mode={
            "type": "password",
            "passwords": [as_secret(app_password.result)],
        },
        tags=scope.tags(),
        opts=scope.opts(),
    )
    user_group = aws.elasticache.UserGroup(
        f"{prefix}-users",
        user_group_id=f"{scope.context.environment}-{scope.name}-redis",
        engine=settings.engine,
        user_ids=[default_user.user_id, app_user.user_id],
        tags=scope.tags(),
        opts=scope.opts(),
    )
    return user_group, app_user, app_password


def _node_id(group_id: pulumi.Output[str], suffix: str) -> pulumi.Output[str]:
    return group_id.apply(lambda gid: f"{gid}-{suffix}")


def _alarms_and_widgets(
    scope: DataTierScope, settings: RedisSettings, group: aws.elasticache.ReplicationGroup
) -> list[Widget]:
    """Per-node alarms (ElastiCache publishes these metrics per CacheClusterId)."""
    prefix = f"{scope.name}-redis"
    # node ids are "<group id>-<suffix>"; the suffixes are known before the group exists
    suffixes = [n.removeprefix("x-") for n in settings.node_ids("x")]
    node_ids = [_node_id(group.id, suffix) for suffix in suffixes]
    checks: Mapping[str, tuple[str, str, float, str]] = {
        "cpu": ("EngineCPUUtilization", "Average", settings.cpu_alarm_percent, "engine CPU %"),
        "memory": (
            "DatabaseMemoryUsagePercentage",
            "Average",
            settings.memory_alarm_percent,
            "memory used % (evictions follow)",
        ),
        "connections": (
            "CurrConnections",
            "Maximum",
            settings.connections_alarm,
            "client connections",
        ),
        "replication-lag": (
            "ReplicationLag",
            "Maximum",
            settings.replication_lag_alarm_seconds,
            "replica lag seconds (a failover would lose writes)",
        ),
    }
    for suffix, node_id in zip(suffixes, node_ids, strict=True):
        for check, (metric, stat, threshold, what) in checks.items():
            metric_alarm(
                f"{prefix}-{suffix}-{check}",
                parent=scope.parent,
                context=scope.context,
                component=COMPONENT,
                topic_arn=scope.alarm_topic_arn,
                description=f"{scope.name} {settings.engine} node {suffix}: {what} >= {threshold}",
                namespace="AWS/ElastiCache",
                metric_name=metric,
                dimensions={"CacheClusterId": node_id},
                threshold=threshold,
                comparison="GreaterThanOrEqualToThreshold",
                statistic=stat,
                evaluation_periods=3,
                # ReplicationLag is only published by replicas, and which node is the primary
                # changes on failover
                treat_missing_data="notBreaching" if check == "replication-lag" else "missing",
            )
    return [
        metric_widget(
            f"{scope.name} {settings.engine}: {metric}",
            [["AWS/ElastiCache", metric, "CacheClusterId", node_id] for node_id in node_ids],
            region=scope.env.region,
        )
        for metric in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "CurrConnections")
    ]
