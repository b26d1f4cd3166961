"""Settings of a ManagedDataTier (stack key `payments-platform:dataTier`): which stores it
holds, each with its own settings model. Rules that relate fields, the references or the
environment are in ``checks.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import Field, field_validator, model_validator

from ..core.environment import EACH, IfPresent
from ..core.settings import SettingsModel
from .dms import DmsSettings
from .docdb import DocumentDbSettings
from .opensearch import OpenSearchSettings
from .rabbitmq import RabbitMqSettings
from .rds import RdsDatabaseSettings, StoreBackupSettings, check_store_name
from .redis import RedisSettings

#: The settings of any one store (each has `clients`).
AnyStoreSettings = StoreBackupSettings | RedisSettings | RabbitMqSettings | OpenSearchSettings


class ManagedDataTierSettings(SettingsModel):
    """The stack's data stores (stack key `payments-platform:dataTier`). Empty: no stores."""

    #: nonprod: burstable classes, single-AZ and single-node stores, 7 days of backups, 90
    #: days of logs, no deletion protection. A default never creates a store.
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "rds": {
            EACH: {
                "instance_class": "db.t4g.medium",
                "multi_az": False,
                "deletion_protection": False,
                "backup_retention_days": 7,
                "allocated_storage_gib": 20,
                "max_allocated_storage_gib": 100,
                "log_retention_days": 90,
            }
        },
        "documentdb": {
            EACH: {
                "instance_class": "db.t4g.medium",
                "instance_count": 1,
                "deletion_protection": False,
                "backup_retention_days": 7,
                "log_retention_days": 90,
            }
        },
        "redis": IfPresent(
            node_type="cache.t4g.small",
            replicas_per_shard=0,
            automatic_failover=False,
            multi_az=False,
            snapshot_retention_days=1,
            log_retention_days=90,
        ),
        "rabbitmq": IfPresent(deployment_mode="SINGLE_INSTANCE", host_instance_type="mq.t3.micro"),
        "opensearch": IfPresent(
            instance_type="t3.medium.search",
            instance_count=1,
            zone_awareness=1,
            dedicated_masters=False,
            auto_tune=False,
            volume_size_gib=20,
            log_retention_days=90,
        ),
        "dms": IfPresent(instance_class="dms.t3.medium", multi_az=False, allocated_storage_gib=50),
    }

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
