"""RDS for PostgreSQL / MySQL: one Multi-AZ instance per named database.

PCI DSS: 1.3 (private, only declared apps), 3.5 (storage, Performance Insights and the master
secret under the data tier CMK), 4.2.1 (TLS only), 8.3 (AWS-managed, rotated master
password), 10.2 (connection and audit logs exported to encrypted log groups).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi_aws as aws

from ..core.aws_env import assume_role_policy
from .alarms import rds_alarms, rds_widgets
from .common import DataTierScope, StoreResult, encrypted_log_groups, store_security_group
from .settings import RdsDatabaseSettings

#: What each engine can export to CloudWatch Logs (all of it: PCI DSS 10.2).
RDS_LOG_EXPORTS: Mapping[str, tuple[str, ...]] = {
    "postgres": ("postgresql", "upgrade"),
    "mysql": ("audit", "error", "general", "slowquery"),
}


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
        migration=scope.dms_peer(f"rds.{store}"),
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
    return StoreResult(
        endpoint=instance.address,
        port=settings.port,
        security_group_id=group.id,
        # RDS creates and rotates this secret; only its ARN ever leaves AWS.
        secret_arn=instance.master_user_secrets.apply(
            lambda secrets: str(secrets[0].secret_arn) if secrets else ""
        ),
        secret_under_tier_key=True,  # master_user_secret_kms_key_id
        resources={"instance": instance, "security_group": group},
        alarms=rds_alarms(key, identifier, settings),
        widgets=rds_widgets(identifier, scope.env.region),
    )
