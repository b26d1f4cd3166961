"""RDS for PostgreSQL / MySQL: one Multi-AZ instance per named database.

Also holds what every ManagedDataTier store shares (backup/maintenance windows, the store
security group, encrypted log groups), so RDS and DocumentDB keep the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, Self

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from ..core.alarms import Comparison, Widget, metric_alarm, metric_widget
from ..core.aws_env import assume_role_policy
from ..core.settings import SettingsModel, check_log_retention
from .common import COMPONENT, DataTierScope, StoreResult, store_security_group

# --- shared by every store ---------------------------------------------------------------

#: Store, source and task names become parts of AWS identifiers (RDS, DocumentDB, DMS):
#: a letter first, letters/digits/single hyphens, no trailing hyphen.
STORE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_STORE_NAME = 20
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_BACKUP_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
_DAY_MIN = 24 * 60
_WEEK_MIN = 7 * _DAY_MIN


def check_store_name(key: str, name: str) -> str:
    if not STORE_NAME.match(name) or len(name) > MAX_STORE_NAME:
        raise ValueError(
            f"{key}: name {name!r} must be lowercase letters, digits and single '-', start "
            f"with a letter and be at most {MAX_STORE_NAME} characters (it becomes part of "
            "AWS identifiers)"
        )
    return name


def backup_window_minutes(value: str) -> tuple[int, int]:
    """`hh24:mi-hh24:mi` (UTC) -> (start, end) minutes of the day; end may wrap midnight."""
    match = _BACKUP_WINDOW.match(value)
    if not match:
        raise ValueError(f"{value!r} is not hh24:mi-hh24:mi in UTC, e.g. 17:00-17:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if (end - start) % _DAY_MIN < 30:
        raise ValueError(f"{value!r}: AWS requires a window of at least 30 minutes")
    return start, end


def maintenance_window_minutes(value: str) -> tuple[int, int]:
    """`ddd:hh24:mi-ddd:hh24:mi` (UTC) -> (start, end) minutes of the week."""
    match = _MAINTENANCE_WINDOW.match(value.lower())
    if not match:
        raise ValueError(
            f"{value!r} is not ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:18:00-sun:19:00"
        )
    d1, h1, m1, d2, h2, m2 = match.groups()
    start = _DAYS.index(d1) * _DAY_MIN + int(h1) * 60 + int(m1)
    end = _DAYS.index(d2) * _DAY_MIN + int(h2) * 60 + int(m2)
    if (end - start) % _WEEK_MIN < 30:
        raise ValueError(f"{value!r}: AWS requires a window of at least 30 minutes")
    return start, end


def _intervals(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """A window as half-open intervals within [0, period), split where it wraps."""
    if end > start:
        return [(start, end)]
    return [(start, period), (0, end)]


def windows_overlap(backup: str, maintenance: str) -> bool:
    b_start, b_end = backup_window_minutes(backup)
    daily = _intervals(b_start, b_end, _DAY_MIN)
    backup_week = [
        (day * _DAY_MIN + lo, day * _DAY_MIN + hi) for day in range(7) for lo, hi in daily
    ]
    m_start, m_end = maintenance_window_minutes(maintenance)
    maint = _intervals(m_start, m_end, _WEEK_MIN)
    return any(b_lo < m_hi and m_lo < b_hi for b_lo, b_hi in backup_week for m_lo, m_hi in maint)


class StoreBackupSettings(SettingsModel):
    """Backups, windows and deletion safety: the same rules for RDS and DocumentDB."""

    backup_retention_days: int = Field(
        default=14,
        description=(
            "Days of automated backups (point-in-time recovery). At least 7 so a problem "
            "found after a weekend can still be rolled back; AWS allows at most 35."
        ),
    )
    backup_window: str = Field(
        default="17:00-17:30",
        description="Daily backup window, `hh24:mi-hh24:mi` UTC (default 01:00 SGT), >= 30 min.",
    )
    maintenance_window: str = Field(
        default="sun:18:00-sun:19:00",
        description=(
            "Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC (default Mon 02:00 SGT); "
            "must not overlap the backup window."
        ),
    )
    deletion_protection: bool = Field(
        default=True, description="AWS deletion protection (prod must keep it on)."
    )
    log_retention_days: int = Field(
        default=365,
        description=(
            "Retention of the exported database logs (PCI DSS 10.5.1: one year); a value "
            "CloudWatch Logs accepts."
        ),
    )
    clients: list[str] = Field(
        default_factory=list,
        description=(
            "Apps (keys of the stack's app tiers) whose security group may connect; "
            "nobody else can."
        ),
    )

    @field_validator("backup_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if not 7 <= value <= 35:
            raise ValueError(
                f"backupRetentionDays {value} is out of range: keep at least 7 days of backups "
                "(AWS allows at most 35)"
            )
        return value

    @field_validator("backup_window")
    @classmethod
    def _backup_window(cls, value: str) -> str:
        try:
            backup_window_minutes(value)
        except ValueError as exc:
            raise ValueError(f"backupWindow: {exc}") from None
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        try:
            maintenance_window_minutes(value)
        except ValueError as exc:
            raise ValueError(f"maintenanceWindow: {exc}") from None
        return value.lower()

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("clients")
    @classmethod
    def _unique_clients(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("clients: list each app once")
        return value

    @model_validator(mode="after")
    def _windows_apart(self) -> Self:
        # AWS rejects overlapping windows at create time; fail at preview instead.
        if windows_overlap(self.backup_window, self.maintenance_window):
            raise ValueError(
                f"maintenanceWindow {self.maintenance_window} overlaps backupWindow "
                f"{self.backup_window}; move one of them"
            )
        return self


def encrypted_log_groups(
    scope: DataTierScope, store: str, names: Mapping[str, str], retention_days: int
) -> list[aws.cloudwatch.LogGroup]:
    """Create the log groups the service would otherwise create unencrypted and kept forever,
    so exported database logs are CMK-encrypted and retained per PCI DSS 10.5.1."""
    return [
        aws.cloudwatch.LogGroup(
            f"{scope.name}-{store}-log-{log}",
            name=group,
            retention_in_days=retention_days,
            kms_key_id=scope.kms_key.arn,
            tags=scope.tags(),
            opts=scope.stateful_opts(),
        )
        for log, group in names.items()
    ]


def store_alarm(
    scope: DataTierScope,
    suffix: str,
    *,
    description: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    threshold: float,
    comparison: Comparison,
    statistic: str = "Average",
) -> aws.cloudwatch.MetricAlarm:
    """A store alarm on the stack topic: three 5-minute periods, so a blip does not page."""
    return metric_alarm(
        f"{scope.name}-{suffix}",
        parent=scope.parent,
        context=scope.context,
        component=COMPONENT,
        topic_arn=scope.alarm_topic_arn,
        description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dimensions,
        threshold=threshold,
        comparison=comparison,
        statistic=statistic,
        evaluation_periods=3,
    )


def az_name(scope: DataTierScope, letter: str) -> pulumi.Output[str]:
    return scope.env.region.apply(lambda region: f"{region}{letter}")


# --- RDS -------------------------------------------------------------------------------

RdsEngine = Literal["postgres", "mysql"]
RDS_PORTS: Mapping[str, int] = {"postgres": 5432, "mysql": 3306}
DEFAULT_ENGINE_VERSIONS: Mapping[str, str] = {"postgres": "16", "mysql": "8.0"}
#: What each engine can export to CloudWatch Logs (all of it: PCI DSS 10.2).
RDS_LOG_EXPORTS: Mapping[str, tuple[str, ...]] = {
    "postgres": ("postgresql", "upgrade"),
    "mysql": ("audit", "error", "general", "slowquery"),
}
#: Performance Insights retention AWS accepts: 7 (free), 731, or a multiple of 31.
_PI_RETENTION_MAX = 731


class RdsDatabaseSettings(StoreBackupSettings):
    """One RDS database instance (stack key `dataTier.rds.<name>`)."""

    engine: RdsEngine = Field(default="postgres", description="`postgres` or `mysql`.")
    engine_version: str | None = Field(
        default=None,
        description=(
            "Major (`16`, `8.0`) or full version. Default: postgres 16, mysql 8.0; minor "
            "versions then follow AWS's auto minor version upgrades."
        ),
    )
    instance_class: str = Field(
        default="db.r6g.large", description="DB instance class (Graviton memory-optimised)."
    )
    allocated_storage_gib: int = Field(
        default=100, ge=20, le=65536, description="Initial gp3 storage in GiB."
    )
    max_allocated_storage_gib: int = Field(
        default=500,
        le=65536,
        description="Storage autoscaling ceiling in GiB (must exceed allocatedStorageGib).",
    )
    multi_az: bool = Field(
        default=True, description="Synchronous standby in another AZ (prod must keep it on)."
    )
    database_name: str | None = Field(
        default=None,
        description="Initial database created in the instance. Default: the store name with '_'.",
    )
    master_username: str = Field(
        default="dbmaster",
        description=(
            "Master user name. Its password is generated and rotated by RDS in Secrets "
            "Manager (encrypted with the data tier CMK); it never appears in config or state."
        ),
    )
    ca_cert_identifier: str = Field(
        default="rds-ca-rsa2048-g1",
        description="Server certificate CA clients verify (rds-ca-2019 expired in 2024).",
    )
    performance_insights_retention_days: int = Field(
        default=7, description="Performance Insights retention: 7 (free tier), 731, or 31*n."
    )
    cpu_alarm_percent: float = Field(
        default=80, gt=0, le=100, description="Alarm when average CPU stays above this."
    )
    free_storage_alarm_percent: float = Field(
        default=10,
        gt=0,
        lt=100,
        description="Alarm when free storage falls below this share of allocatedStorageGib.",
    )
    free_memory_alarm_mib: int = Field(
        default=256, gt=0, description="Alarm when freeable memory falls below this (MiB)."
    )
    connections_alarm_threshold: int = Field(
        default=400, gt=0, description="Alarm when connections stay above this."
    )

    @field_validator("engine_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^\d+(\.\d+){0,2}$", value):
            raise ValueError(f"engineVersion {value!r} must look like 16, 16.4 or 8.0.39")
        return value

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not re.match(r"^db\.[a-z0-9]+\.[a-z0-9]+$", value):
            raise ValueError(f"instanceClass {value!r} must look like db.r6g.large")
        if re.match(r"^db\.t[234]g?\.(micro|small)$", value):
            raise ValueError(
                f"instanceClass {value}: Performance Insights (always on here) does not run on "
                "micro/small burstable classes; use db.t4g.medium or larger"
            )
        return value

    @field_validator("master_username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9_]{0,15}$", value) or value.lower() in (
            "admin",
            "rdsadmin",
            "postgres",
            "root",
        ):
            raise ValueError(
                f"masterUsername {value!r}: 1-16 letters, digits or '_', starting with a "
                "letter, and not a reserved name (admin, rdsadmin, postgres, root)"
            )
        return value

    @field_validator("database_name")
    @classmethod
    def _db_name(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$", value):
            raise ValueError(
                f"databaseName {value!r}: letters, digits and '_', starting with a letter"
            )
        return value

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, value: int) -> int:
        if not (value in (7, _PI_RETENTION_MAX) or (0 < value < 731 and value % 31 == 0)):
            raise ValueError(
                f"performanceInsightsRetentionDays {value}: AWS accepts 7, 731 or a multiple "
                "of 31 (months)"
            )
        return value

    @model_validator(mode="after")
    def _engine_version(self) -> Self:
        # the parameter group family is derived from it: postgres<major>, mysql<major.minor>
        parts = self.version.split(".")
        if self.engine == "postgres" and int(parts[0]) < 13:
            raise ValueError(
                f"engineVersion {self.version}: PostgreSQL before 13 is out of standard support "
                "on RDS; use 13 or later"
            )
        if self.engine == "mysql" and ".".join(parts[:2]) not in ("8.0", "8.4"):
            raise ValueError(
                f"engineVersion {self.version}: give MySQL as 8.0 or 8.4 (optionally with the "
                "patch, e.g. 8.0.39)"
            )
        return self

    @model_validator(mode="after")
    def _storage(self) -> Self:
        if self.max_allocated_storage_gib <= self.allocated_storage_gib:
            raise ValueError(
                f"maxAllocatedStorageGib ({self.max_allocated_storage_gib}) must exceed "
                f"allocatedStorageGib ({self.allocated_storage_gib}) to enable storage "
                "autoscaling"
            )
        return self

    @property
    def port(self) -> int:
        return RDS_PORTS[self.engine]

    @property
    def version(self) -> str:
        return self.engine_version or DEFAULT_ENGINE_VERSIONS[self.engine]

    @property
    def family(self) -> str:
        """Parameter group family: `postgres16`, `mysql8.0` (from the engine version)."""
        parts = self.version.split(".")
        if self.engine == "postgres":
            return f"postgres{parts[0]}"
        return f"mysql{parts[0]}.{parts[1]}"

    def db_name(self, store: str) -> str:
        return self.database_name or store.replace("-", "_")


def tls_parameters(engine: str) -> dict[str, str]:
    """PCI DSS 4.2.1: the server refuses unencrypted connections."""
    if engine == "postgres":
        return {"rds.force_ssl": "1"}
    return {"require_secure_transport": "ON"}


def db_parameters(engine: str) -> dict[str, str]:
    """TLS only, plus connection logging for PostgreSQL (PCI DSS 10.2.1: who connected)."""
    params = tls_parameters(engine)
    if engine == "postgres":
        params.update({"log_connections": "1", "log_disconnections": "1"})
    return params


def mysql_audit_options(
    scope: DataTierScope, key: str, settings: RdsDatabaseSettings
) -> aws.rds.OptionGroup:
    """MySQL writes an audit log only with the MariaDB audit plugin (PCI DSS 10.2.1-10.2.2:
    connections, DDL and privilege changes)."""
    major = ".".join(settings.version.split(".")[:2])
    return aws.rds.OptionGroup(
        f"{scope.name}-{key}-options",
        engine_name="mysql",
        major_engine_version=major,
        option_group_description=f"Audit logging for {key}",
        options=[
            aws.rds.OptionGroupOptionArgs(
                option_name="MARIADB_AUDIT_PLUGIN",
                option_settings=[
                    aws.rds.OptionGroupOptionOptionSettingArgs(
                        name="SERVER_AUDIT_EVENTS", value="CONNECT,QUERY_DDL,QUERY_DCL"
                    )
                ],
            )
        ],
        tags=scope.tags(),
        opts=scope.opts(),
    )


def rds_identifier(scope: DataTierScope, store: str) -> str:
    return f"{scope.name}-{store}"


def enhanced_monitoring_role(scope: DataTierScope) -> aws.iam.Role:
    """One role for the data tier's RDS enhanced monitoring (the AWS managed policy)."""
    role = aws.iam.Role(
        f"{scope.name}-rds-monitoring",
        description="RDS enhanced monitoring publishes OS metrics to CloudWatch Logs",
        assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com", scope.env.account_id),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.iam.RolePolicyAttachment(
        f"{scope.name}-rds-monitoring-policy",
        role=role.name,
        policy_arn=scope.env.partition.apply(
            lambda p: f"arn:{p}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
        ),
        opts=scope.opts(),
    )
    return role


def build_rds(
    scope: DataTierScope,
    store: str,
    settings: RdsDatabaseSettings,
    *,
    monitoring_role: aws.iam.Role,
) -> StoreResult:
    """One RDS instance named ``store`` with its security group, TLS-only parameters,
    encrypted log groups and alarms. Every child's name starts with ``{name}-rds-{store}``."""
    key = f"rds-{store}"
    identifier = rds_identifier(scope, store)
    group = store_security_group(
        scope,
        key,
        port=settings.port,
        clients=settings.clients,
        description=f"RDS {settings.engine} {store}: its clients only",
    )
    params = aws.rds.ParameterGroup(
        f"{scope.name}-{key}-params",
        family=settings.family,
        description=f"TLS-only {settings.engine} parameters for {store}",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="pending-reboot")
            for k, v in db_parameters(settings.engine).items()
        ],
        tags=scope.tags(),
        # No fixed name: a family change (major upgrade) must create the new group before the
        # old one is deleted, since AWS refuses to delete a group in use.
        opts=scope.opts(),
    )
    options = mysql_audit_options(scope, key, settings) if settings.engine == "mysql" else None
    exports = RDS_LOG_EXPORTS[settings.engine]
    log_groups = encrypted_log_groups(
        scope,
        key,
        {log: f"/aws/rds/instance/{identifier}/{log}" for log in exports},
        settings.log_retention_days,
    )
    prod = scope.context.is_prod
    instance = aws.rds.Instance(
        f"{scope.name}-{key}",
        identifier=identifier,
        engine=settings.engine,
        engine_version=settings.version,
        auto_minor_version_upgrade=True,
        instance_class=settings.instance_class,
        allocated_storage=settings.allocated_storage_gib,
        max_allocated_storage=settings.max_allocated_storage_gib,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=scope.kms_key.arn,
        db_name=settings.db_name(store),
        port=settings.port,
        username=settings.master_username,
        manage_master_user_password=True,
        master_user_secret_kms_key_id=scope.kms_key.arn,
        iam_database_authentication_enabled=True,
        multi_az=settings.multi_az,
        db_subnet_group_name=scope.network.db_subnet_group_name,
        vpc_security_group_ids=[group.id],
        publicly_accessible=False,
        parameter_group_name=params.name,
        option_group_name=options.name if options is not None else None,
        ca_cert_identifier=settings.ca_cert_identifier,
        enabled_cloudwatch_logs_exports=list(exports),
        performance_insights_enabled=True,
        performance_insights_kms_key_id=scope.kms_key.arn,
        performance_insights_retention_period=settings.performance_insights_retention_days,
        monitoring_interval=60,
        monitoring_role_arn=monitoring_role.arn,
        backup_retention_period=settings.backup_retention_days,
        backup_window=settings.backup_window,
        maintenance_window=settings.maintenance_window,
        copy_tags_to_snapshot=True,
        deletion_protection=settings.deletion_protection,
        skip_final_snapshot=False,
        final_snapshot_identifier=f"{identifier}-final",
        # keep automated backups after a deletion in prod (restore window stays available)
        delete_automated_backups=not prod,
        tags=scope.tags(Name=identifier, store=key),
        opts=scope.stateful_opts(depends_on=log_groups),
    )
    widgets = _rds_alarms(scope, key, identifier, settings)
    return StoreResult(
        endpoint=instance.address,
        port=settings.port,
        security_group_id=group.id,
        # RDS creates and rotates this secret; only its ARN ever leaves AWS.
        secret_arn=instance.master_user_secrets.apply(
            lambda secrets: str(secrets[0].secret_arn) if secrets else ""
        ),
        resources={"instance": instance, "security_group": group},
        widgets=widgets,
    )


def _rds_alarms(
    scope: DataTierScope, key: str, identifier: str, settings: RdsDatabaseSettings
) -> list[Widget]:
    dims = {"DBInstanceIdentifier": identifier}
    free_bytes = (
        settings.allocated_storage_gib * 1024**3 * settings.free_storage_alarm_percent / 100
    )
    alarms: list[tuple[str, str, str, float, Comparison]] = [
        (
            "cpu",
            f"CPU above {settings.cpu_alarm_percent}%",
            "CPUUtilization",
            settings.cpu_alarm_percent,
            "GreaterThanThreshold",
        ),
        (
            "storage",
            f"free storage below {settings.free_storage_alarm_percent}% of the allocated size "
            "(autoscaling may be at its ceiling)",
            "FreeStorageSpace",
            free_bytes,
            "LessThanThreshold",
        ),
        (
            "memory",
            f"freeable memory below {settings.free_memory_alarm_mib} MiB",
            "FreeableMemory",
            settings.free_memory_alarm_mib * 1024**2,
            "LessThanThreshold",
        ),
        (
            "connections",
            f"more than {settings.connections_alarm_threshold} connections",
            "DatabaseConnections",
            settings.connections_alarm_threshold,
            "GreaterThanThreshold",
        ),
    ]
    for suffix, what, metric, threshold, comparison in alarms:
        store_alarm(
            scope,
            f"{key}-{suffix}",
            description=f"RDS {identifier}: {what}",
            namespace="AWS/RDS",
            metric_name=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
        )
    region = scope.env.region
    return [
        metric_widget(
            f"RDS {identifier}: CPU and connections",
            [
                ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", identifier],
                [
                    "AWS/RDS",
                    "DatabaseConnections",
                    "DBInstanceIdentifier",
                    identifier,
                    {"yAxis": "right"},
                ],
            ],
            region=region,
        ),
        metric_widget(
            f"RDS {identifier}: free storage and memory",
            [
                ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", identifier],
                ["AWS/RDS", "FreeableMemory", "DBInstanceIdentifier", identifier],
            ],
            region=region,
        ),
    ]
