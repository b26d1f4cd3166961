"""Settings of a ManagedDataTier (stack key `payments-platform:dataTier`): which stores it
holds, each with its own settings model, and the facts other components need of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator

from ...core.environment import EACH, IfPresent
from ...core.settings import SettingsModel
from .base import StoreBackupSettings, check_store_name
from .databases import DocumentDbSettings, RdsDatabaseSettings
from .dms import DmsSettings
from .stores import OpenSearchSettings, RabbitMqSettings, RedisSettings

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
        description="AWS DMS for the migration phase; retire (`dms.retired`) or remove it "
        "after cut-over.",
    )
    secret_rotation_days: int = Field(
        default=30,
        ge=1,
        le=90,
        description=(
            "Days between automatic rotations of the passwords the tier keeps in Secrets "
            "Manager (RabbitMQ users, DMS migration users of RDS targets), at most 90 (PCI "
            "DSS 8.3.9, 8.6.3). RDS and DocumentDB rotate their master secrets themselves "
            "(every 7 days); Redis apps use IAM authentication and keep no password."
        ),
    )

    @field_validator("rds", "documentdb")
    @classmethod
    def _store_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_store_name(name)
        return value

    def data_services(self) -> list[str]:
        """The services the stores serve: ``SecureVpc(data_services=...)`` opens their ports on
        the data tier's NACLs."""
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

    def services_of_client(self, app: str) -> list[str]:
        """The services of every store that admits ``app``: ``HaAppTier(app, ...,
        data_services=...)`` gives its instances egress to their ports."""
        return sorted(
            {service for service, settings in self.stores().values() if app in settings.clients}
        )

    @property
    def active_dms(self) -> DmsSettings | None:
        """The DMS settings while the migration runs; None without DMS or once retired."""
        return self.dms if self.dms is not None and not self.dms.retired else None

    def dms_source_engines(self) -> list[str]:
        """The on-prem engines DMS reads: ``SecureVpc(dms_source_engines=...)`` lets the data
        tier's NACLs reach their ports on the on-prem ranges (none once DMS is retired)."""
        return self.active_dms.source_engines() if self.active_dms else []

    def dms_target_services(self) -> list[str]:
        """The services of the stores DMS writes to: ``SecureVpc(dms_target_services=...)``
        opens their ports between the data tier's own subnets (DMS -> its targets)."""
        stores = self.stores()
        return sorted({stores[t][0] for t in self.dms_targets() if t in stores})

    def dms_targets(self) -> set[str]:
        """The stores (`rds.loyalty`, `documentdb.mmf`) a running DMS task writes to."""
        dms = self.active_dms
        return {t.target for t in dms.tasks.values()} if dms else set()
