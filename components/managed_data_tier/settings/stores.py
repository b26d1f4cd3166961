"""Settings of the cache, the broker and the search domain: ElastiCache for Redis/Valkey,
Amazon MQ for RabbitMQ and OpenSearch (stack keys `dataTier.redis`, `dataTier.rabbitmq`,
`dataTier.opensearch`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ... import catalogue
from ...core.settings import SettingsModel, check_log_retention
from .base import IamRoleArn

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# --- ElastiCache -------------------------------------------------------------------------------

_CACHE_WINDOW = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")
_CACHE_WEEKLY_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}-(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}$"
)
_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
_MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)$")
#: ElastiCache parameter names: lowercase words joined by '-' (e.g. maxmemory-policy).
_PARAMETER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,254}$")
#: ElastiCache for Valkey and Redis OSS nodes accept at most 65,000 client connections
#: (`maxclients`, not modifiable): https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html
MAX_CACHE_CONNECTIONS = 65000

#: What an app's Redis user may run unless its `appAccess` says otherwise (after `-@all`):
#: reads and writes of its keys, expiry and deletion, MULTI/EXEC, pub/sub on its channels,
#: and AUTH/HELLO/PING; `-@dangerous` (KEYS, FLUSHALL, CONFIG, DEBUG, ...) always ends the
#: access string. ACL categories: https://valkey.io/topics/acl/#command-categories
DEFAULT_REDIS_COMMANDS = (
    "+@read",
    "+@write",
    "+@keyspace",
    "+@transaction",
    "+@pubsub",
    "+@connection",
)
#: An ACL command rule: +/- a @category, a command, or a command|subcommand.
_REDIS_COMMAND = re.compile(r"^[+-](@[a-z]+|[a-z][a-z0-9-]*(\|[a-z0-9-]+)?)$")
#: A key or channel glob: printable, no spaces (the access string separates rules by spaces).
_REDIS_PATTERN = re.compile(r"^[!-~]{1,256}$")
#: Command rules that would give an app back what the tier takes away.
BROAD_REDIS_COMMANDS = frozenset({"+@all", "+@admin", "+@dangerous"})


class RedisAppAccess(SettingsModel):
    """What one client app's Redis user may do (`dataTier.redis.appAccess.<app>`); an app not
    listed gets the defaults."""

    keys: list[str] | None = Field(
        default=None,
        description="Key patterns (globs) the app may read and write. Default: `<app>:*`, "
        "keys under the app's own prefix.",
    )
    channels: list[str] | None = Field(
        default=None,
        description="Pub/sub channel patterns the app may use (`[]`: none). Default: `<app>:*`.",
    )
    commands: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REDIS_COMMANDS),
        description="ACL command rules in order (`+@category`, `-@category`, `+command`, "
        "`-command`), applied after `-@all`; `-@dangerous` is always appended. Default: "
        + ", ".join(f"`{c}`" for c in DEFAULT_REDIS_COMMANDS)
        + ".",
    )

    @field_validator("keys", "channels")
    @classmethod
    def _patterns(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return value
        if not value and info.field_name == "keys":
            raise ValueError("give at least one key pattern, or leave it out for the default")
        bad = [p for p in value if not _REDIS_PATTERN.match(p)]
        if bad:
            raise ValueError(f"{bad}: a pattern is 1-256 printable characters without spaces")
        return value

    @field_validator("commands")
    @classmethod
    def _commands(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not _REDIS_COMMAND.match(c)]
        if bad:
            raise ValueError(f"{bad}: use ACL rules like +@read, -@write, +get or +client|setname")
        return value

    def access_string(self, app: str) -> str:
        """The ElastiCache access string of ``app``'s user: on, its key and channel patterns,
        ``-@all``, its command rules, ``-@dangerous``."""
        keys = self.keys if self.keys is not None else [f"{app}:*"]
        channels = self.channels if self.channels is not None else [f"{app}:*"]
        return " ".join(
            [
                "on",
                *(f"~{k}" for k in keys),
                *(f"&{c}" for c in channels),
                "-@all",
                *self.commands,
                "-@dangerous",
            ]
        )


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
    app_access: dict[str, RedisAppAccess] = Field(
        default_factory=dict,
        description="Per client app: the key patterns, channels and commands of its own "
        "Redis user (it authenticates with its instance role, IAM authentication: no "
        "password). An app of `clients` not listed here gets `~<app>:*`, `&<app>:*` and "
        "the default commands.",
    )
    shared_app_user: bool = Field(
        default=False,
        description="Keep the password user `app` that every client shared before each app "
        "had its own (its secret is not rotated): only while the apps move to their own "
        "users, then turn it off.",
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
        default=5000,
        ge=1,
        le=MAX_CACHE_CONNECTIONS,
        description="CurrConnections per node alarm threshold (a node takes at most 65000).",
    )
    replication_lag_alarm_seconds: float = Field(
        default=5, gt=0, description="ReplicationLag alarm threshold (seconds)."
    )

    @field_validator("engine_version")
    @classmethod
    def _version_form(cls, value: str, info: ValidationInfo) -> str:
        engine = info.data.get("engine")
        offered = catalogue.current().elasticache_engine_versions(engine or "redis")
        if not _MAJOR_MINOR.match(value):
            raise ValueError(
                f"{value!r}: give major.minor, e.g. '7.1'; {catalogue.hint(value, offered)}"
            )
        if engine is None:
            return value
        name = "a Valkey" if engine == "valkey" else "a Redis OSS"
        return catalogue.check_offered(value, offered, f"{name} version")

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        offered = catalogue.current().elasticache_node_types()
        if not _NODE_TYPE.match(value):
            raise ValueError(
                f"{value!r}: use an ElastiCache type, e.g. cache.r7g.large; "
                f"{catalogue.hint(value, offered)}"
            )
        return catalogue.check_offered(value, offered, "an ElastiCache node type")

    @field_validator("snapshot_window")
    @classmethod
    def _snapshot_window(cls, value: str) -> str:
        if not _CACHE_WINDOW.match(value):
            raise ValueError(f"{value!r}: use hh:mm-hh:mm (UTC)")
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        if not _CACHE_WEEKLY_WINDOW.match(value):
            raise ValueError(f"{value!r}: use ddd:hh:mm-ddd:hh:mm (UTC), e.g. sun:18:30-sun:19:30")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, str]) -> dict[str, str]:
        if "cluster-enabled" in value:
            raise ValueError(
                "set cluster_mode (clusterMode in a stack file) instead of cluster-enabled"
            )
        bad = [name for name in value if not _PARAMETER_NAME.match(name)]
        if bad:
            raise ValueError(
                f"{bad} are not ElastiCache parameter names (lowercase words joined by '-', "
                "e.g. maxmemory-policy)"
            )
        return value

    @property
    def version(self) -> tuple[int, int]:
        """(major, minor) of the engine version."""
        major, minor = (int(x) for x in self.engine_version.split("."))
        return major, minor

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


# --- Amazon MQ for RabbitMQ --------------------------------------------------------------------

_MQ_VERSION = re.compile(r"^(\d+)\.(\d+)(\.\d+)?$")
_MQ_INSTANCE = re.compile(r"^mq\.(t3|m5|m7g)\.[a-z0-9]+$")
_MQ_USERNAME = re.compile(r"^[A-Za-z0-9_.~-]{2,100}$")
_MQ_VHOST = re.compile(r"^[A-Za-z0-9_.~/-]{1,255}$")

DeploymentMode = Literal["CLUSTER_MULTI_AZ", "SINGLE_INSTANCE"]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


class RabbitMqSettings(SettingsModel):
    """Amazon MQ for RabbitMQ broker (`rabbitmq:` in the data tier config)."""

    clients: list[str] = Field(
        default_factory=list,
        description="Apps (app tier names) whose instances may connect on 5671 (AMQPS).",
    )
    deployment_mode: DeploymentMode = Field(
        default="CLUSTER_MULTI_AZ",
        description="CLUSTER_MULTI_AZ (3 nodes in 3 AZs) or SINGLE_INSTANCE (nonprod only).",
    )
    engine_version: str = Field(
        default="3.13",
        description="RabbitMQ major.minor: 3.13 or 4.2 (4.x runs on mq.m7g only).",
    )
    host_instance_type: str = Field(
        default="mq.m7g.large", description="Broker instance type (mq.t3.micro: single only)."
    )
    auto_minor_version_upgrade: bool = Field(
        default=True,
        description="Must stay true: Amazon MQ requires it for RabbitMQ 3.13 and later.",
    )
    admin_username: str = Field(
        default="platform-admin",
        description="Broker admin user (its password is generated into Secrets Manager and "
        "rotated every `secretRotationDays`).",
    )
    app_vhosts: dict[str, str] = Field(
        default_factory=dict,
        description="Per client app, the virtual host of its own user (the user is named "
        "after the app, its password kept and rotated in a secret of its own). Default: the "
        "app's name.",
    )
    maintenance_day: DayOfWeek = Field(default="SUNDAY", description="Maintenance day (UTC).")
    maintenance_time: str = Field(default="18:00", description="Maintenance start, hh:mm UTC.")
    queue_depth_alarm: int = Field(
        default=10000, ge=1, description="MessageCount (ready + unacked) alarm threshold."
    )
    min_consumers: int = Field(
        default=1, ge=0, description="Alarm when fewer consumers are connected (0: no alarm)."
    )
    memory_alarm_percent: float = Field(
        default=80,
        gt=0,
        le=100,
        description="Alarm when memory used reaches this % of RabbitMQ's memory limit "
        "(at 100% RabbitMQ blocks publishers).",
    )
    cpu_alarm_percent: float = Field(
        default=85, gt=0, le=100, description="SystemCpuUtilization alarm threshold."
    )

    @field_validator("engine_version")
    @classmethod
    def _version(cls, value: str) -> str:
        offered = catalogue.current().rabbitmq_engine_versions()
        match = _MQ_VERSION.match(value)
        if not match or (int(match[1]), int(match[2])) < (3, 13):
            raise ValueError(
                f"{value!r}: use a supported major.minor, 3.13 or 4.2 (earlier versions are "
                f"end of support on Amazon MQ); {catalogue.hint(value, offered)}"
            )
        catalogue.check_offered(f"{match[1]}.{match[2]}", offered, "an Amazon MQ RabbitMQ version")
        return value

    @field_validator("host_instance_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        offered = catalogue.current().rabbitmq_instance_types()
        if not _MQ_INSTANCE.match(value):
            raise ValueError(
                f"{value!r}: use an Amazon MQ RabbitMQ type, e.g. mq.m7g.large or mq.m5.large "
                f"(mq.t3.micro for a nonprod single instance); {catalogue.hint(value, offered)}"
            )
        return catalogue.check_offered(value, offered, "an Amazon MQ for RabbitMQ instance type")

    @field_validator("admin_username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _MQ_USERNAME.match(value) or value == "guest":
            raise ValueError(f"{value!r}: 2-100 letters, digits or -_.~ and not 'guest'")
        return value

    @field_validator("app_vhosts")
    @classmethod
    def _vhosts(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [v for v in value.values() if not _MQ_VHOST.match(v)]
        if bad:
            raise ValueError(f"{bad}: a virtual host is 1-255 letters, digits or -_.~/")
        return value

    def vhost_of(self, app: str) -> str:
        return self.app_vhosts.get(app, app)

    @field_validator("maintenance_time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r}: use hh:mm (UTC)")
        return value

    @property
    def major(self) -> int:
        return int(self.engine_version.split(".")[0])


# --- OpenSearch --------------------------------------------------------------------------------

_SEARCH_ENGINE = re.compile(r"^OpenSearch_(\d+)\.(\d+)$")
_SEARCH_INSTANCE = re.compile(r"^[a-z0-9]+\.[a-z0-9]+\.search$")
#: OpenSearch domain names: 3-28 characters, lowercase letter first, letters/digits/hyphens.
DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{2,27}$")

TlsPolicy = Literal["Policy-Min-TLS-1-2-PFS-2023-10", "Policy-Min-TLS-1-2-2019-07"]


class OpenSearchSettings(SettingsModel):
    """OpenSearch domain (`opensearch:` in the data tier config)."""

    clients: list[str] = Field(
        default_factory=list,
        description="Apps (app tier names) whose instances may connect on 443.",
    )
    domain_name: str | None = Field(
        default=None,
        description="Domain name (3-28 chars); default `<tier name>-search`, e.g. `prod-search`. "
        "Changing it replaces the domain.",
    )
    engine_version: str = Field(
        default="OpenSearch_2.19", description="`OpenSearch_<major>.<minor>`, 2.x or later."
    )
    instance_type: str = Field(default="r7g.large.search", description="Data node type.")
    instance_count: int = Field(
        default=3, ge=1, le=80, description="Data nodes; a multiple of zoneAwareness."
    )
    zone_awareness: Literal[1, 2, 3] = Field(
        default=3,
        description="AZs the data nodes (and replicas) span: 3, 2, or 1 (no zone awareness).",
    )
    dedicated_masters: bool = Field(
        default=True, description="Dedicated cluster-manager nodes (stability under load)."
    )
    dedicated_master_type: str = Field(
        default="m7g.large.search", description="Dedicated cluster-manager node type."
    )
    dedicated_master_count: Literal[3, 5] = Field(
        default=3, description="Dedicated cluster-manager nodes (3 or 5 keep a quorum)."
    )
    volume_size_gib: int = Field(default=100, ge=10, le=24576, description="gp3 EBS per node.")
    master_user_arn: IamRoleArn | None = Field(
        default=None,
        description="Required. IAM role that administers fine-grained access control "
        "(maps other IAM roles to OpenSearch roles). No internal users are created. A "
        "string, or from Python the Output of a role (checked when it resolves).",
    )
    create_service_linked_role: bool = Field(
        default=True,
        description="Create the account's OpenSearch service-linked role "
        "(`AWSServiceRoleForAmazonOpenSearchService`), which a VPC domain needs (without it "
        "CreateDomain fails unless OpenSearch may create it itself); the domain waits for it. "
        "Set false where the account already has it (IAM allows one per account and refuses "
        "a second: 'Service role name ... has been taken in this account'); it is kept when "
        "the domain or the stack is deleted.",
    )
    tls_security_policy: TlsPolicy = Field(
        default="Policy-Min-TLS-1-2-PFS-2023-10",
        description="HTTPS policy: TLS 1.2+ with forward secrecy (or TLS 1.2 2019-07).",
    )
    auto_tune: bool = Field(
        default=True, description="Auto-Tune (JVM/queue tuning in the off-peak window)."
    )
    off_peak_start: str = Field(
        default="18:00", description="Start of the daily off-peak window, hh:mm UTC."
    )
    log_retention_days: int = Field(
        default=365, description="Retention of audit/slow/application logs (PCI DSS 10.5.1)."
    )
    free_storage_alarm_percent: float = Field(
        default=25, gt=0, lt=100, description="Alarm when a node's free storage falls below."
    )
    cpu_alarm_percent: float = Field(default=80, gt=0, le=100, description="CPU alarm.")
    jvm_pressure_alarm_percent: float = Field(
        default=80, gt=0, le=100, description="JVMMemoryPressure alarm threshold."
    )

    @field_validator("engine_version")
    @classmethod
    def _engine(cls, value: str) -> str:
        offered = catalogue.current().opensearch_engine_versions()
        match = _SEARCH_ENGINE.match(value)
        if not match or int(match[1]) < 2:
            raise ValueError(
                f"{value!r}: use OpenSearch_<major>.<minor> with major 2 or later, e.g. "
                f"OpenSearch_2.19; {catalogue.hint(value, offered)}"
            )
        return catalogue.check_offered(value, offered, "an OpenSearch version")

    @field_validator("instance_type", "dedicated_master_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        offered = catalogue.current().opensearch_instance_types()
        if not _SEARCH_INSTANCE.match(value):
            raise ValueError(
                f"{value!r}: use an OpenSearch type such as r7g.large.search; "
                f"{catalogue.hint(value, offered)}"
            )
        return catalogue.check_offered(value, offered, "an OpenSearch instance type")

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not DOMAIN_NAME.match(value):
            raise ValueError(
                f"{value!r}: 3-28 characters, a lowercase letter first, then lowercase "
                "letters, digits or '-'"
            )
        return value

    @field_validator("off_peak_start")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r}: use hh:mm (UTC)")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)

    @property
    def instance_family(self) -> str:
        """`r7g` of `r7g.large.search`."""
        return self.instance_type.split(".")[0]

    def resolved_domain_name(self, name: str) -> str:
        """The domain's name: ``domain_name``, or `<tier name>-search` (the platform names
        its data tier after the environment: `prod-search`)."""
        return self.domain_name or f"{name}-search"
