"""ManagedDataTier: the platform's managed, Multi-AZ data stores, and DMS to fill them.

The seeds' self-run databases move to managed services: PostgreSQL/MySQL to RDS (through
AWS DMS), MongoDB to DocumentDB, Redis to ElastiCache, RabbitMQ to Amazon MQ and Elasticsearch
to OpenSearch. Every store is optional and named: adding one adds resources and changes none
of the others' (each child's logical name is ``{name}-<kind>-<store>-<role>``).

Shared by every store: three customer-managed keys by purpose (``keys.py``: data stores,
secrets, logs; rotation on, administered by ``StackContext.administrators``), the data-tier
subnets, no public access, each client app its own credentials (``access.py``), every stored
password rotated (``rotation.py``), and alarms and RDS events on the stack topic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

import pulumi

from ..core.alarms import Alarm, Widget, raise_alarms
from ..core.aws_env import aws_env
from ..core.problems import raise_problems
from ..core.scope import Scope
from ..core.settings import StackContext, checked_input
from ..ha_app_tier import AppRef
from ..secure_vpc import NetworkRef, check_network_ref
from .access import grant_client_access
from .checks import check, check_app_refs
from .common import COMPONENT, DataTierScope, StoreResult
from .dms import DmsResult, DmsTarget, build_dms, dms_security_group, rotation_security_group
from .docdb import DOCDB_PORT, build_documentdb
from .keys import data_store_key, logs_key, secrets_key
from .opensearch import build_opensearch
from .rabbitmq import build_rabbitmq
from .rds import build_rds, enhanced_monitoring_role, rds_event_subscriptions
from .redis import build_redis
from .settings import ManagedDataTierSettings, check_secret_arn

TYPE = "payments:index:ManagedDataTier"


class ManagedDataTier(pulumi.ComponentResource):
    """The data stores its settings declare, each admitting only the apps it names, with
    DMS when migrating.

    ``network`` is the SecureVpc's reference (``vpc.ref``): its NACLs must admit every
    store's service (``settings.data_services()``) and every DMS source engine
    (``settings.dms_source_engines()``). ``apps`` maps app names to HaAppTier references
    (``app.ref``): a store's ``clients`` must be among them, each built with egress to the
    store's service (``settings.services_of_client(app)``); each app's instance role is
    granted the secrets (and search domain) of exactly the stores that name it (``access.py``).
    """

    #: the data-store key (storage, snapshots, Performance Insights, DMS)
    kms_key_arn: pulumi.Output[str]
    #: the key of the tier's secrets, and of its log groups
    secrets_key_arn: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]
    #: store key (`rds.loyalty`, `documentdb.mmf`, `redis`, ...) -> endpoint, port,
    #: secretArn (ARN only, never the value) and securityGroupId
    stores: pulumi.Output[dict[str, dict[str, Any]]]
    #: the same, as Python objects for other components of the same program
    store_results: Mapping[str, StoreResult]
    #: ARN of the DMS replication instance (None without dms)
    dms_replication_instance_arn: pulumi.Output[str] | None
    dashboard_widgets: list[Widget]

    def __init__(
        self,
        name: str,
        settings: ManagedDataTierSettings,
        *,
        context: StackContext,
        network: NetworkRef,
        alarm_topic_arn: pulumi.Input[str],
        apps: Mapping[str, AppRef],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        settings = settings.for_environment(context.environment)
        problems = check_network_ref(network) + check_app_refs(apps)
        if not problems:
            problems = check(
                name,
                settings,
                context=context,
                network=network.plan,
                apps={app: ref.data_services for app, ref in apps.items()},
            )
        raise_problems("ManagedDataTier", name, problems, ManagedDataTierSettings)
        super().__init__(TYPE, name, None, opts)
        shared = Scope(self, name, context, COMPONENT, aws_env(self))

        migration = settings.active_dms
        key = data_store_key(shared, legacy_source_secrets(settings))
        secrets = secrets_key(shared)
        logs = logs_key(shared)
        dms_sg = (
            dms_security_group(shared, network, migration, dms_target_ports(settings))
            if migration is not None
            else None
        )
        scope = DataTierScope(
            parent=self,
            name=name,
            context=context,
            component=COMPONENT,
            env=shared.env,
            network=network,
            kms_key=key,
            secrets_key=secrets,
            logs_key=logs,
            alarm_topic_arn=alarm_topic_arn,
            app_security_groups={app: ref.instance_security_group_id for app, ref in apps.items()},
            dms_security_group_id=dms_sg.id if dms_sg is not None else None,
            dms_targets=frozenset(settings.dms_targets()),
        )
        rotation_ports = {
            role: port
            for role, port in dms_target_ports(settings).items()
            if role.startswith("rds-")
        }
        rotation_sg = rotation_security_group(scope, rotation_ports) if rotation_ports else None
        if rotation_sg is not None:
            scope = dataclasses.replace(scope, dms_rotation_security_group_id=rotation_sg.id)
        results = build_stores(scope, settings)
        if settings.rds:
            rds_event_subscriptions(scope)
        grant_client_access(scope, settings, results, apps)
        dms = (
            build_dms(
                scope,
                migration,
                security_group=dms_sg,
                targets=dms_targets(settings, results),
                rotation=(
                    (rotation_sg, settings.secret_rotation_days)
                    if rotation_sg is not None
                    else None
                ),
            )
            if migration is not None and dms_sg is not None
            else None
        )
        raise_alarms(scope, tier_alarms(results, dms), alarm_topic_arn)

        self.kms_key_arn = key.arn
        self.secrets_key_arn = secrets.arn
        self.logs_key_arn = logs.arn
        self.store_results = results
        self.dms_replication_instance_arn = (
            dms.replication_instance.replication_instance_arn if dms is not None else None
        )
        self.dashboard_widgets = [
            *(w for result in results.values() for w in result.widgets),
            *(dms.widgets if dms is not None else []),
        ]
        self.stores = store_outputs(results)
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "secrets_key_arn": self.secrets_key_arn,
                "logs_key_arn": self.logs_key_arn,
                "stores": self.stores,
                "dms_replication_instance_arn": self.dms_replication_instance_arn,
            }
        )


# --- steps -------------------------------------------------------------------------------------


def legacy_source_secrets(settings: ManagedDataTierSettings) -> list[pulumi.Input[str]]:
    """The DMS source secrets with no key of their own given: an on-prem DBA may have put
    them under the data tier's key before it had a secrets key, so the data-store key keeps
    letting Secrets Manager decrypt exactly those (none once DMS is retired)."""
    migration = settings.active_dms
    if migration is None:
        return []
    found: list[pulumi.Input[str]] = []
    for _, source in sorted(migration.sources.items()):
        if source.secret_kms_key_arn is None:
            arn = checked_input(source.secret_arn, check_secret_arn)
            if arn is not None:
                found.append(arn)
    return found


def dms_target_ports(settings: ManagedDataTierSettings) -> dict[str, int]:
    """The port of every store a running DMS task writes to, by its role (`rds-loyalty`)."""
    ports: dict[str, int] = {}
    for target in sorted(settings.dms_targets()):
        kind, store = target.split(".", 1)
        port = settings.rds[store].port if kind == "rds" else DOCDB_PORT
        ports[f"{kind}-{store}"] = port
    return ports


def build_stores(scope: DataTierScope, settings: ManagedDataTierSettings) -> dict[str, StoreResult]:
    """Every declared store, by its key (`rds.loyalty`, `documentdb.mmf`, `redis`, ...)."""
    results: dict[str, StoreResult] = {}
    if settings.rds:
        monitoring_role = enhanced_monitoring_role(scope)
        for db, rds in sorted(settings.rds.items()):
            results[f"rds.{db}"] = build_rds(scope, db, rds, monitoring_role=monitoring_role)
    for cluster, docdb in sorted(settings.documentdb.items()):
        results[f"documentdb.{cluster}"] = build_documentdb(scope, cluster, docdb)
    if settings.redis is not None:
        results["redis"] = build_redis(scope, settings.redis)
    if settings.rabbitmq is not None:
        results["rabbitmq"] = build_rabbitmq(
            scope, settings.rabbitmq, rotation_days=settings.secret_rotation_days
        )
    if settings.opensearch is not None:
        results["opensearch"] = build_opensearch(scope, settings.opensearch)
    return results


def dms_targets(
    settings: ManagedDataTierSettings, results: Mapping[str, StoreResult]
) -> dict[str, DmsTarget]:
    """What DMS needs of every store a task writes to."""
    targets: dict[str, DmsTarget] = {}
    for target in sorted(settings.dms_targets()):
        kind, store = target.split(".", 1)
        result = results[target]
        if kind == "rds":
            rds = settings.rds[store]
            targets[target] = DmsTarget(
                key=f"rds-{store}",
                engine=rds.engine,
                host=result.endpoint,
                port=result.port,
                database_name=rds.db_name(store),
            )
        else:
            targets[target] = DmsTarget(
                key=f"docdb-{store}",
                engine="docdb",
                host=result.endpoint,
                port=result.port,
                database_name="",
            )
    return targets


def tier_alarms(results: Mapping[str, StoreResult], dms: DmsResult | None) -> list[Alarm]:
    """The alarms of every store and of DMS (``alarms.py``)."""
    alarms = [alarm for result in results.values() for alarm in result.alarms]
    return alarms + list(dms.alarms if dms is not None else [])


def store_outputs(results: Mapping[str, StoreResult]) -> pulumi.Output[dict[str, dict[str, Any]]]:
    """Per store: endpoint, port, the ARN of its own credentials (never the value), its
    group, and each client app's user and (where it has one) the ARN of its own secret."""
    return pulumi.Output.from_input(
        cast(
            Any,
            {
                store: {
                    "endpoint": result.endpoint,
                    "port": result.port,
                    "secretArn": result.secret_arn,
                    "securityGroupId": result.security_group_id,
                    **({"appUsers": dict(result.app_users)} if result.app_users else {}),
                    **({"appSecretArns": dict(result.app_secrets)} if result.app_secrets else {}),
                }
                for store, result in results.items()
            },
        )
    )
