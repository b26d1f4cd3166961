"""Amazon DocumentDB: one TLS-only, audited cluster per named store, an instance per AZ.

The MongoDB re-platforming target. A change of ``engineVersion`` (3.6 -> 5.0) has made the
provider replace the whole cluster instead of upgrading it (terraform-provider-aws #34183), so
the version is restricted to 4.0.0/5.0.0/8.0.0 and a change is a reviewed, deliberate act; prod
clusters are also protected, which turns an unintended replacement into an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator

from ..core.alarms import Comparison, Widget, metric_widget
from .common import DataTierScope, StoreResult, store_security_group
from .rds import (
    StoreBackupSettings,
    az_name,
    encrypted_log_groups,
    store_alarm,
)

DOCDB_PORT = 27017
DocDbVersion = Literal["4.0.0", "5.0.0", "8.0.0"]
#: What the cluster exports to CloudWatch Logs (PCI DSS 10.2: who did what, slow queries).
DOCDB_LOG_EXPORTS = ("audit", "profiler")


class DocumentDbSettings(StoreBackupSettings):
    """One DocumentDB cluster (stack key `dataTier.documentdb.<name>`)."""

    engine_version: DocDbVersion = Field(
        default="5.0.0",
        description=(
            "4.0.0, 5.0.0 or 8.0.0. Change it deliberately: a version change (3.6 -> 5.0) "
            "replaced whole clusters (provider #34183)."
        ),
    )
    instance_class: str = Field(
        default="db.r6g.large", description="Instance class of every cluster instance."
    )
    instance_count: int = Field(
        default=3,
        ge=1,
        le=16,
        description=(
            "Instances, one per AZ in AZ-letter order (the first is the preferred writer); at "
            "most the number of the VPC's AZs."
        ),
    )
    master_username: str = Field(
        default="docdbmaster",
        description=(
            "Master user. Its password is generated and rotated by DocumentDB in Secrets "
            "Manager; it never appears in config or state."
        ),
    )
    ca_cert_identifier: str = Field(
        default="rds-ca-rsa2048-g1", description="Server certificate CA clients verify."
    )
    profiler_threshold_ms: int = Field(
        default=100, ge=50, le=2147483646, description="Operations slower than this are logged."
    )
    cpu_alarm_percent: float = Field(default=80, gt=0, le=100, description="CPU alarm (%).")
    free_memory_alarm_mib: int = Field(
        default=256, gt=0, description="Alarm when freeable memory falls below this (MiB)."
    )
    connections_alarm_threshold: int = Field(
        default=500, gt=0, description="Alarm when connections stay above this."
    )
    replica_lag_alarm_ms: int = Field(
        default=1000, gt=0, description="Alarm when the slowest replica lags more than this."
    )

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not re.match(r"^db\.[a-z0-9]+\.[a-z0-9]+$", value):
            raise ValueError(f"instanceClass {value!r} must look like db.r6g.large")
        return value

    @field_validator("master_username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9]{0,62}$", value) or value.lower() in (
            "admin",
            "root",
            "serviceadmin",
        ):
            raise ValueError(
                f"masterUsername {value!r}: letters and digits, starting with a letter, not "
                "a reserved name (admin, root, serviceadmin)"
            )
        return value

    @property
    def family(self) -> str:
        """`docdb5.0` for 5.0.0."""
        major, minor, _ = self.engine_version.split(".")
        return f"docdb{major}.{minor}"

    def instance_azs(self, network_azs: Sequence[str]) -> list[str]:
        return sorted(network_azs)[: self.instance_count]


def cluster_parameters(settings: DocumentDbSettings) -> dict[str, str]:
    """PCI DSS 4.2.1 (TLS only) and 10.2 (audit events, slow operations)."""
    return {
        "tls": "enabled",
        "audit_logs": "enabled",
        "profiler": "enabled",
        "profiler_threshold_ms": str(settings.profiler_threshold_ms),
    }


def docdb_identifier(scope: DataTierScope, store: str) -> str:
    return f"{scope.name}-{store}"


def build_documentdb(scope: DataTierScope, store: str, settings: DocumentDbSettings) -> StoreResult:
    """Cluster ``store`` with its security group, parameter group, log groups, one instance
    per AZ and alarms. Every child's name starts with ``{name}-docdb-{store}``."""
    key = f"docdb-{store}"
    identifier = docdb_identifier(scope, store)
    group = store_security_group(
        scope,
        key,
        port=DOCDB_PORT,
        clients=settings.clients,
        description=f"DocumentDB {store}: its clients only",
    )
    params = aws.docdb.ClusterParameterGroup(
        f"{scope.name}-{key}-params",
        family=settings.family,
        description=f"TLS-only, audited DocumentDB parameters for {store}",
        parameters=[
            aws.docdb.ClusterParameterGroupParameterArgs(
                name=k, value=v, apply_method="pending-reboot"
            )
            for k, v in cluster_parameters(settings).items()
        ],
        tags=scope.tags(),
        opts=scope.opts(),
    )
    log_groups = encrypted_log_groups(
        scope,
        key,
        {log: f"/aws/docdb/{identifier}/{log}" for log in DOCDB_LOG_EXPORTS},
        settings.log_retention_days,
    )
    cluster = aws.docdb.Cluster(
        f"{scope.name}-{key}",
        cluster_identifier=identifier,
        engine="docdb",
        engine_version=settings.engine_version,
        port=DOCDB_PORT,
        master_username=settings.master_username,
        # DocumentDB keeps the password in Secrets Manager and rotates it (the provider does
        # not expose the secret's KMS key, so it uses the aws/secretsmanager key).
        manage_master_user_password=True,
        storage_encrypted=True,
        kms_key_id=scope.kms_key.arn,
        db_subnet_group_name=scope.network.docdb_subnet_group_name,
        vpc_security_group_ids=[group.id],
        db_cluster_parameter_group_name=params.name,
        enabled_cloudwatch_logs_exports=list(DOCDB_LOG_EXPORTS),
        backup_retention_period=settings.backup_retention_days,
        preferred_backup_window=settings.backup_window,
        preferred_maintenance_window=settings.maintenance_window,
        deletion_protection=settings.deletion_protection,
        skip_final_snapshot=False,
        final_snapshot_identifier=f"{identifier}-final",
        tags=scope.tags(Name=identifier, store=key),
        opts=scope.stateful_opts(depends_on=log_groups),
    )
    azs = settings.instance_azs(scope.network.availability_zones)
    for tier, az in enumerate(azs):
        aws.docdb.ClusterInstance(
            f"{scope.name}-{key}-{az}",
            identifier=f"{identifier}-{az}",
            cluster_identifier=cluster.id,
            engine="docdb",
            instance_class=settings.instance_class,
            availability_zone=az_name(scope, az),
            # the instance in the first AZ is the preferred writer after a failover
            promotion_tier=min(tier, 15),
            auto_minor_version_upgrade=True,
            ca_cert_identifier=settings.ca_cert_identifier,
            preferred_maintenance_window=settings.maintenance_window,
            enable_performance_insights=True,
            performance_insights_kms_key_id=scope.kms_key.arn,
            copy_tags_to_snapshot=True,
            tags=scope.tags(Name=f"{identifier}-{az}", store=key),
            opts=scope.stateful_opts(),
        )
    widgets = _docdb_alarms(scope, key, identifier, settings, replicas=len(azs) > 1)
    return StoreResult(
        endpoint=cluster.endpoint,
        port=DOCDB_PORT,
        security_group_id=group.id,
        secret_arn=cluster.master_user_secrets.apply(
            lambda secrets: str(secrets[0].secret_arn) if secrets else ""
        ),
        resources={"cluster": cluster, "security_group": group},
        widgets=widgets,
    )


def _docdb_alarms(
    scope: DataTierScope,
    key: str,
    identifier: str,
    settings: DocumentDbSettings,
    *,
    replicas: bool,
) -> list[Widget]:
    dims: Mapping[str, pulumi.Input[str]] = {"DBClusterIdentifier": identifier}
    alarms: list[tuple[str, str, str, float, Comparison, str]] = [
        (
            "cpu",
            f"CPU above {settings.cpu_alarm_percent}%",
            "CPUUtilization",
            settings.cpu_alarm_percent,
            "GreaterThanThreshold",
            "Maximum",
        ),
        (
            "memory",
            f"freeable memory below {settings.free_memory_alarm_mib} MiB",
            "FreeableMemory",
            settings.free_memory_alarm_mib * 1024**2,
            "LessThanThreshold",
            "Minimum",
        ),
        (
            "connections",
            f"more than {settings.connections_alarm_threshold} connections",
            "DatabaseConnections",
            settings.connections_alarm_threshold,
            "GreaterThanThreshold",
            "Maximum",
        ),
    ]
    if replicas:
        alarms.append(
            (
                "replica-lag",
                f"a replica lags more than {settings.replica_lag_alarm_ms} ms",
                "DBClusterReplicaLagMaximum",
                settings.replica_lag_alarm_ms,
                "GreaterThanThreshold",
                "Maximum",
            )
        )
    for suffix, what, metric, threshold, comparison, statistic in alarms:
        store_alarm(
            scope,
            f"{key}-{suffix}",
            description=f"DocumentDB {identifier}: {what}",
            namespace="AWS/DocDB",
            metric_name=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
            statistic=statistic,
        )
    region = scope.env.region
    return [
        metric_widget(
            f"DocumentDB {identifier}: CPU and connections",
            [
                ["AWS/DocDB", "CPUUtilization", "DBClusterIdentifier", identifier],
                [
                    "AWS/DocDB",
                    "DatabaseConnections",
                    "DBClusterIdentifier",
                    identifier,
                    {"yAxis": "right"},
                ],
            ],
            region=region,
        ),
        metric_widget(
            f"DocumentDB {identifier}: replica lag (ms)",
            [["AWS/DocDB", "DBClusterReplicaLagMaximum", "DBClusterIdentifier", identifier]],
            region=region,
            stat="Maximum",
        ),
    ]
