"""RDS for PostgreSQL / MySQL: one Multi-AZ instance per named database.

PCI DSS: 1.3 (private, only declared apps), 3.5 (storage, Performance Insights and the master
secret under the data-store key), 4.2.1 (TLS only), 7.2.5/8.2.2 (each app its own
IAM-authenticated database user; nobody but a DBA uses the master user), 8.3.9/8.6.3
(AWS-managed master password, rotated by RDS every 7 days), 10.2 (connection logs, pgaudit
and the MariaDB audit plugin, exported to encrypted log groups), 10.7 (instance, parameter
group and security group events to the alarm topic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
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


#: What RDS preloads for PostgreSQL 11 and later: a custom value *replaces* the default
#: rather than adding to it, so pgaudit is added to it and Performance Insights keeps
#: pg_stat_statements (its Top SQL needs it: "SQL statistics for RDS PostgreSQL").
PG_PRELOADED = ("pg_stat_statements",)


def pgaudit_parameters(settings: RdsDatabaseSettings) -> dict[str, str]:
    """pgaudit through the parameter group (RDS user guide, "Setting up the pgAudit
    extension"): the library preloaded (a static parameter: active after the next reboot),
    the statement classes every session logs (``pgaudit.log``: DDL and role/privilege
    changes by default), the role whose grants select the card-data tables of object audit
    logging (``pgaudit.role``), never the statements' parameters (bind values can be card
    numbers: PCI DSS 3.3/3.5 keep them out of logs), and no logging of system-catalog reads
    (noise that tools and drivers generate on every connection)."""
    params = {
        "shared_preload_libraries": ",".join((*PG_PRELOADED, "pgaudit")),
        "pgaudit.log": ",".join(settings.pgaudit_log) or "none",
        "pgaudit.log_parameter": "0",
        "pgaudit.log_catalog": "0",
    }
    if settings.pgaudit_object_role is not None:
        params["pgaudit.role"] = settings.pgaudit_object_role
    return params


def db_parameters(settings: RdsDatabaseSettings) -> dict[str, str]:
    """TLS only, plus, for PostgreSQL, connection logging (PCI DSS 10.2.1: who connected) and
    pgaudit (10.2.1.1-10.2.1.7: what they did)."""
    params = tls_parameters(settings.engine)
    if settings.engine == "postgres":
        params.update({"log_connections": "1", "log_disconnections": "1"})
        params.update(pgaudit_parameters(settings))
    return params


def app_db_user(app: str) -> str:
    """The database user of an app: its name, '-' as '_' (a PostgreSQL/MySQL identifier
    without quoting)."""
    return app.replace("-", "_")


def connect_statement(
    scope: DataTierScope, resource_id: pulumi.Output[str], user: str
) -> dict[str, Any]:
    """``rds-db:connect`` as the app's own database user, by IAM authentication: a token the
    app's role signs, valid 15 minutes, instead of a password ("IAM database authentication",
    RDS user guide; the ARN names the instance's resource id, not its identifier)."""
    return {
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": pulumi.Output.all(
            scope.env.partition, scope.env.region, scope.env.account_id, resource_id
        ).apply(lambda p: f"arn:{p[0]}:rds-db:{p[1]}:{p[2]}:dbuser:{p[3]}/{user}"),
    }


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


#: RDS event subscriptions by source type: the event categories Security Hub's controls ask
#: for (RDS.20: db-instance maintenance, configuration change, failure; RDS.21:
#: db-parameter-group configuration change; RDS.22: db-security-group configuration change,
#: failure), plus the instance events an on-call acts on (failover, low storage, deletion,
#: availability). https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html
RDS_EVENT_SUBSCRIPTIONS: Mapping[str, tuple[str, ...]] = {
    "db-instance": (
        "availability",
        "configuration change",
        "deletion",
        "failover",
        "failure",
        "low storage",
        "maintenance",
    ),
    "db-parameter-group": ("configuration change",),
    "db-security-group": ("configuration change", "failure"),
}


def rds_event_subscriptions(scope: DataTierScope) -> list[aws.rds.EventSubscription]:
    """RDS events to the alarm topic, one subscription per source type, with no source ids:
    every instance and parameter group of the account and region (one workload account per
    environment), including any created outside this stack, and a subscription that never
    changes as databases are added (PCI DSS 10.7.2: failures of critical controls; 10.2.2:
    changes to audit settings, which live in the parameter groups). RDS publishes as
    ``events.rds.amazonaws.com``: the topic's policy and its key must let that principal
    publish (``tests/test_aws_fidelity_data_tier.py``)."""
    return [
        aws.rds.EventSubscription(
            f"{scope.name}-rds-{source}-events",
            name=f"{scope.context.environment}-{scope.name}-rds-{source}",
            sns_topic=scope.alarm_topic_arn,
            source_type=source,
            event_categories=list(categories),
            enabled=True,
            tags=scope.tags(),
            opts=scope.opts(),
        )
        for source, categories in RDS_EVENT_SUBSCRIPTIONS.items()
    ]


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
        rotation=scope.rotation_peer(f"rds.{store}"),
        description=f"RDS {settings.engine} {store}: its clients only",
    )
    params = aws.rds.ParameterGroup(
        f"{scope.name}-{key}-params",
        family=settings.family,
        # (the description is fixed at creation: changing it would replace the group)
        description=f"TLS-only {settings.engine} parameters for {store}",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="pending-reboot")
            for k, v in db_parameters(settings).items()
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
    users = {app: app_db_user(app) for app in sorted(settings.clients)}
    return StoreResult(
        endpoint=instance.address,
        port=settings.port,
        security_group_id=group.id,
        # RDS creates and rotates this secret; only its ARN ever leaves AWS.
        secret_arn=instance.master_user_secrets.apply(
            lambda secrets: str(secrets[0].secret_arn) if secrets else ""
        ),
        secret_key="data",  # master_user_secret_kms_key_id (RDS refuses to change it)
        secret_readers=frozenset(settings.master_secret_readers),
        app_users=users,
        app_statements={
            app: [connect_statement(scope, instance.resource_id, user)]
            for app, user in users.items()
        },
        resources={"instance": instance, "security_group": group, "parameters": params},
        alarms=rds_alarms(key, identifier, settings),
        widgets=rds_widgets(identifier, scope.env.region),
    )
