"""Amazon DocumentDB: one TLS-only, audited cluster per named store, an instance per AZ.

The MongoDB re-platforming target. A change of ``engineVersion`` (3.6 -> 5.0) has made the
provider replace the whole cluster instead of upgrading it (terraform-provider-aws #34183), so
the version is restricted to 4.0.0/5.0.0/8.0.0 and a change is a reviewed, deliberate act; prod
clusters are also protected, which turns an unintended replacement into an error.
"""

from __future__ import annotations

import pulumi_aws as aws

from .alarms import docdb_alarms, docdb_widgets
from .common import (
    DataTierScope,
    StoreResult,
    az_name,
    encrypted_log_groups,
    store_security_group,
)
from .settings import DocumentDbSettings

DOCDB_PORT = 27017
#: What the cluster exports to CloudWatch Logs (PCI DSS 10.2: who did what, slow queries).
DOCDB_LOG_EXPORTS = ("audit", "profiler")


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
        migration=scope.dms_peer(f"documentdb.{store}"),
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
    return StoreResult(
        endpoint=cluster.endpoint,
        port=DOCDB_PORT,
        security_group_id=group.id,
        # DocumentDB manages this secret under aws/secretsmanager and rotates it (every 7
        # days); apps connect as their instance role (IAM authentication, DocumentDB 5.0: a
        # `$external` user the DBA creates per app), so none reads it unless listed
        secret_arn=cluster.master_user_secrets.apply(
            lambda secrets: str(secrets[0].secret_arn) if secrets else ""
        ),
        secret_readers=frozenset(settings.master_secret_readers),
        resources={"cluster": cluster, "security_group": group},
        alarms=docdb_alarms(key, identifier, settings, replicas=len(azs) > 1),
        widgets=docdb_widgets(identifier, scope.env.region),
    )
