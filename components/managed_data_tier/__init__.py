"""ManagedDataTier: the platform's managed, Multi-AZ data stores, and DMS to fill them.

The seeds' self-run databases move to managed services: PostgreSQL/MySQL to RDS (through
AWS DMS), MongoDB to DocumentDB, Redis to ElastiCache, RabbitMQ to Amazon MQ and Elasticsearch
to OpenSearch. Every store is optional and named: adding one adds resources and changes none
of the others' (each child's logical name is ``{name}-<kind>-<store>-<role>``).

Shared by every store: one customer-managed KMS key (rotation on; usable by this account only
through the data services), the data-tier subnets, no public access, credentials only in
Secrets Manager, and alarms on the stack topic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self, cast

import pulumi
from pydantic import Field, field_validator, model_validator

from ..aws_env import aws_env
from ..base import SettingsModel, StackContext
from ..kms import customer_managed_key, key_policy
from ..observability import Widget
from ..secure_vpc import NetworkRef
from .common import COMPONENT, DataTierScope, StoreResult, check_clients
from .dms import (
    DmsSettings,
    DmsSource,
    DmsTarget,
    DmsTask,
    build_dms,
    check_sources_on_prem,
    dms_security_group,
)
from .docdb import DOCDB_PORT, DocumentDbSettings, build_documentdb
from .opensearch import OpenSearchSettings, build_opensearch, validate_opensearch
from .rabbitmq import RabbitMqSettings, build_rabbitmq, validate_rabbitmq
from .rds import (
    RdsDatabaseSettings,
    StoreBackupSettings,
    build_rds,
    check_store_name,
    enhanced_monitoring_role,
)
from .redis import RedisSettings, build_redis, validate_redis

__all__ = [
    "NONPROD_DEFAULTS",
    "DmsSettings",
    "DmsSource",
    "DmsTask",
    "DocumentDbSettings",
    "ManagedDataTier",
    "ManagedDataTierSettings",
    "OpenSearchSettings",
    "RabbitMqSettings",
    "RdsDatabaseSettings",
    "RedisSettings",
    "StoreBackupSettings",
]

#: The settings of any one store (each has `clients`).
AnyStoreSettings = StoreBackupSettings | RedisSettings | RabbitMqSettings | OpenSearchSettings

#: Services whose use of the data tier key this account allows (kms:ViaService).
#: DocumentDB and Performance Insights go through `rds`; OpenSearch through `es`.
KEY_VIA_SERVICES = ("rds", "elasticache", "secretsmanager", "dms", "es", "logs")


class ManagedDataTierSettings(SettingsModel):
    """The stack's data stores (stack key `payments-platform:dataTier`). Empty: no stores."""

    rds: dict[str, RdsDatabaseSettings] = Field(
        default_factory=dict,
        description="RDS PostgreSQL/MySQL databases by name (e.g. `loyalty`, `mmf`).",
    )
    documentdb: dict[str, DocumentDbSettings] = Field(
        default_factory=dict, description="DocumentDB clusters by name."
    )
    redis: RedisSettings | None = Field(
        default=None, description="ElastiCache for Redis (see redis settings)."
    )
    rabbitmq: RabbitMqSettings | None = Field(
        default=None, description="Amazon MQ for RabbitMQ (see rabbitmq settings)."
    )
    opensearch: OpenSearchSettings | None = Field(
        default=None, description="OpenSearch domain (see opensearch settings)."
    )
    dms: DmsSettings | None = Field(
        default=None,
        description="AWS DMS for the migration phase; remove after cut-over.",
    )

    @field_validator("rds", "documentdb")
    @classmethod
    def _store_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_store_name("store", name)
        return value

    @model_validator(mode="after")
    def _dms_targets_exist(self) -> Self:
        if self.dms is None:
            return self
        for name, task in self.dms.tasks.items():
            stores = self.rds if task.target_kind == "rds" else self.documentdb
            if task.target_store not in stores:
                raise ValueError(
                    f"dms.tasks.{name}.target: {task.target} is not a store of this data tier; "
                    f"declare it under {task.target_kind} (known: "
                    f"{sorted(f'{task.target_kind}.{s}' for s in stores)})"
                )
            if task.target_kind == "rds":
                source = self.dms.sources[task.source].engine
                engine = self.rds[task.target_store].engine
                if source != engine:
                    raise ValueError(
                        f"dms.tasks.{name}.target: source engine {source} differs from "
                        f"{task.target} ({engine}); this platform migrates like to like"
                    )
        return self

    def data_services(self) -> list[str]:
        """Ports the data tier serves (SecureVpc `data_services`, for its NACLs)."""
        return sorted({service for service, _ in self.stores().values()})

    def stores(self) -> dict[str, tuple[str, AnyStoreSettings]]:
        """Every declared store by key (`rds.loyalty`, `redis`): (service it serves, settings)."""
        found: dict[str, tuple[str, AnyStoreSettings]] = {}
        for name, db in self.rds.items():
            found[f"rds.{name}"] = (db.engine, db)
        for name, cluster in self.documentdb.items():
            found[f"documentdb.{name}"] = ("documentdb", cluster)
        for service, settings in (
            ("redis", self.redis),
            ("rabbitmq", self.rabbitmq),
            ("opensearch", self.opensearch),
        ):
            if settings is not None:
                found[service] = (service, settings)
        return found

    def clients_by_store(self) -> dict[str, list[str]]:
        """Store key -> the apps it admits."""
        return {key: list(settings.clients) for key, (_, settings) in self.stores().items()}

    def services_of_client(self, app: str) -> list[str]:
        """The services (ports) of every store that admits ``app``."""
        return sorted(
            {service for service, settings in self.stores().values() if app in settings.clients}
        )

    def dms_source_engines(self) -> list[str]:
        """Engines DMS reads on-prem (SecureVpc `dms_source_engines`, for its NACLs)."""
        return self.dms.source_engines() if self.dms else []

    def dms_targets(self) -> set[str]:
        return {t.target for t in self.dms.tasks.values()} if self.dms else set()


def check_wiring(
    name: str,
    settings: ManagedDataTierSettings,
    *,
    environment: str,
    network: NetworkRef,
    app_names: list[str],
    on_prem_cidrs: Mapping[str, str],
) -> None:
    """What needs the stack (apps, AZs, on-prem ranges): checked before anything registers."""
    check_store_name("ManagedDataTier name", name)
    if not network.subnet_ids.get("data"):
        raise ValueError("network: ManagedDataTier needs the VPC's data tier subnets")
    for key, clients in sorted(settings.clients_by_store().items()):
        check_clients(key, clients, app_names)
    azs = len(network.availability_zones)
    for db, rds in settings.rds.items():
        if rds.multi_az and azs < 2:
            raise ValueError(f"rds.{db}.multiAz needs a VPC with at least 2 AZs (has {azs})")
    for cluster, docdb in settings.documentdb.items():
        if docdb.instance_count > azs:
            raise ValueError(
                f"documentdb.{cluster}.instanceCount {docdb.instance_count} exceeds the VPC's "
                f"{azs} AZs; this platform places one instance per AZ"
            )
    if settings.dms is not None:
        check_sources_on_prem(settings.dms, on_prem_cidrs)
    if settings.redis is not None:
        validate_redis(
            settings.redis,
            name=name,
            environment=environment,
            network=network,
            app_names=app_names,
        )
    if settings.rabbitmq is not None:
        validate_rabbitmq(settings.rabbitmq, network=network, app_names=app_names)
    if settings.opensearch is not None:
        validate_opensearch(
            settings.opensearch,
            name=name,
            environment=environment,
            network=network,
            app_names=app_names,
        )


class ManagedDataTier(pulumi.ComponentResource):
    """The data stores a stack's config enables, with DMS when migrating."""

    kms_key_arn: pulumi.Output[str]
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
        app_security_groups: Mapping[str, pulumi.Input[str]],
        on_prem_cidrs: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        on_prem = dict(network.on_prem_cidrs if on_prem_cidrs is None else on_prem_cidrs)
        check_wiring(
            name,
            settings,
            environment=context.environment,
            network=network,
            app_names=list(app_security_groups),
            on_prem_cidrs=on_prem,
        )
        super().__init__("payments:index:ManagedDataTier", name, None, opts)
        env = aws_env(self)
        key = customer_managed_key(
            f"{name}-key",
            description=f"Data tier of {name}: databases, caches, search, secrets, DMS",
            policy=key_policy(
                env,
                # exported database logs land in CMK-encrypted log groups (PCI DSS 10.5)
                service_principals=[env.service_endpoint("logs")],
                service_conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": env.arn("logs", "log-group:*")
                    }
                },
                via_services=KEY_VIA_SERVICES,
            ),
            context=context,
            component=COMPONENT,
            parent=self,
        )
        scope = DataTierScope(
            parent=self,
            name=name,
            context=context,
            env=env,
            network=network,
            kms_key=key,
            alarm_topic_arn=alarm_topic_arn,
            app_security_groups=app_security_groups,
        )
        dms_sg = None
        if settings.dms is not None:
            dms_sg = dms_security_group(scope, settings.dms, on_prem, self._target_ports(settings))
        targeted = settings.dms_targets()

        def store_scope(store_key: str) -> DataTierScope:
            """Only a store a DMS task writes to admits the replication instance."""
            if dms_sg is not None and store_key in targeted:
                return dataclasses.replace(scope, dms_security_group_id=dms_sg.id)
            return scope

        results: dict[str, StoreResult] = {}
        if settings.rds:
            monitoring_role = enhanced_monitoring_role(scope)
            for db, rds in sorted(settings.rds.items()):
                results[f"rds.{db}"] = build_rds(
                    store_scope(f"rds.{db}"), db, rds, monitoring_role=monitoring_role
                )
        for cluster, docdb in sorted(settings.documentdb.items()):
            results[f"documentdb.{cluster}"] = build_documentdb(
                store_scope(f"documentdb.{cluster}"), cluster, docdb
            )
        if settings.redis is not None:
            results["redis"] = build_redis(scope, settings.redis)
        if settings.rabbitmq is not None:
            results["rabbitmq"] = build_rabbitmq(scope, settings.rabbitmq)
        if settings.opensearch is not None:
            results["opensearch"] = build_opensearch(scope, settings.opensearch)

        widgets = [w for result in results.values() for w in result.widgets]
        self.dms_replication_instance_arn = None
        if settings.dms is not None and dms_sg is not None:
            dms = build_dms(
                scope,
                settings.dms,
                security_group=dms_sg,
                targets=self._dms_targets(settings, results),
            )
            self.dms_replication_instance_arn = dms.replication_instance.replication_instance_arn
            widgets += dms.widgets

        self.kms_key_arn = key.arn
        self.store_results = results
        self.dashboard_widgets = widgets
        self.stores = pulumi.Output.from_input(
            cast(
                Any,
                {
                    store: {
                        "endpoint": result.endpoint,
                        "port": result.port,
                        "secretArn": result.secret_arn,
                        "securityGroupId": result.security_group_id,
                    }
                    for store, result in results.items()
                },
            )
        )
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "stores": self.stores,
                "dms_replication_instance_arn": self.dms_replication_instance_arn,
            }
        )

    @staticmethod
    def _target_ports(settings: ManagedDataTierSettings) -> dict[str, int]:
        ports: dict[str, int] = {}
        for target in sorted(settings.dms_targets()):
            kind, store = target.split(".", 1)
            port = settings.rds[store].port if kind == "rds" else DOCDB_PORT
            ports[f"{kind}-{store}"] = port
        return ports

    @staticmethod
    def _dms_targets(
        settings: ManagedDataTierSettings, results: Mapping[str, StoreResult]
    ) -> dict[str, DmsTarget]:
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
