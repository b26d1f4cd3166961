"""Settings of the databases: RDS for PostgreSQL/MySQL and DocumentDB (stack keys
`dataTier.rds.<name>` and `dataTier.documentdb.<name>`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ... import catalogue
from .base import StoreBackupSettings

RdsEngine = Literal["postgres", "mysql"]
RDS_PORTS: Mapping[str, int] = {"postgres": 5432, "mysql": 3306}
DEFAULT_ENGINE_VERSIONS: Mapping[str, str] = {"postgres": "16", "mysql": "8.0"}
#: Performance Insights retention AWS accepts: 7 (free), 731, or a multiple of 31.
PI_RETENTION_MAX = 731
_RDS_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
_DB_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")

DocDbVersion = Literal["4.0.0", "5.0.0", "8.0.0"]

#: pgaudit session classes (pgaudit.log): https://github.com/pgaudit/pgaudit#pgauditlog
PgAuditClass = Literal["read", "write", "function", "role", "ddl", "misc", "misc_set"]
#: Logged for every session by default: schema changes and role/privilege changes.
DEFAULT_PGAUDIT_LOG: tuple[PgAuditClass, ...] = ("ddl", "role")
#: The role whose grants select the objects pgaudit logs every access to (object audit
#: logging); RDS names it rds_pgaudit in its guide, and so do we.
_PG_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RdsDatabaseSettings(StoreBackupSettings):
    """One RDS database instance (stack key `dataTier.rds.<name>`)."""

    engine: RdsEngine = Field(default="postgres", description="`postgres` or `mysql`.")
    engine_version: str | None = Field(
        default=None,
        description=(
            "Major (`16`, `8.0`) or full version AWS offers (`16.9`, `8.0.42`; see the "
            "catalogue). Default: postgres 16, mysql 8.0; minor versions then follow AWS's "
            "auto minor version upgrades."
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
            "Manager (under the data-store key); it never appears in config or state, and no "
            "app uses it (see masterSecretReaders)."
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
    pgaudit_log: list[PgAuditClass] = Field(
        default_factory=lambda: list(DEFAULT_PGAUDIT_LOG),
        description=(
            "PostgreSQL only: statement classes pgaudit logs for every session (`pgaudit.log`): "
            "`ddl` and `role` (schema and privilege changes: PCI DSS 10.2.1.2, 10.2.1.5, "
            "10.2.1.7) by default; `read`/`write` log every query of every session, which "
            "multiplies the log volume: audit reads of card data per object instead "
            "(pgauditObjectRole). Empty: no session audit logging."
        ),
    )
    pgaudit_object_role: str | None = Field(
        default="rds_pgaudit",
        description=(
            "PostgreSQL only: the role whose grants select the tables whose every read and "
            "write pgaudit logs, whoever runs them (`pgaudit.role`): a DBA creates it and "
            "grants it SELECT/INSERT/UPDATE/DELETE on the card-data tables (PCI DSS 10.2.1.1). "
            "null: no object audit logging."
        ),
    )
    connections_alarm_threshold: int = Field(
        default=400,
        gt=0,
        # the most connections either engine can hold: PostgreSQL's max_connections ceiling
        # (262143, its MAX_BACKENDS); RDS for MySQL's max_connections goes to 100000
        le=262143,
        description="Alarm when connections stay above this (at most 262143).",
    )

    @field_validator("engine_version")
    @classmethod
    def _version(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        engine = info.data.get("engine")
        offered = catalogue.current().rds_versions_accepted(engine) if engine else frozenset()
        if not _RDS_VERSION.match(value):
            raise ValueError(
                f"{value!r} must look like 16, 16.9 or 8.0.42; {catalogue.hint(value, offered)}"
            )
        if engine is None:
            return value
        return catalogue.check_offered(value, offered, f"an RDS {engine} version")

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str, info: ValidationInfo) -> str:
        engine = info.data.get("engine")
        offered = catalogue.current().rds_instance_classes(engine or "postgres")
        if not _DB_CLASS.match(value):
            raise ValueError(
                f"{value!r} must look like db.r6g.large; {catalogue.hint(value, offered)}"
            )
        if engine is not None:
            catalogue.check_offered(value, offered, f"an RDS {engine} instance class")
        if re.match(r"^db\.t[234]g?\.(micro|small)$", value):
            raise ValueError(
                f"{value}: Performance Insights (always on here) does not run on micro/small "
                "burstable classes; use db.t4g.medium or larger"
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
                f"{value!r}: 1-16 letters, digits or '_', starting with a letter, and not a "
                "reserved name (admin, rdsadmin, postgres, root)"
            )
        return value

    @field_validator("pgaudit_log")
    @classmethod
    def _pgaudit_log(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("list each pgaudit class once")
        return value

    @field_validator("pgaudit_object_role")
    @classmethod
    def _pgaudit_role(cls, value: str | None) -> str | None:
        if value is not None and not _PG_ROLE.match(value):
            raise ValueError(
                f"{value!r} is not a PostgreSQL role name: lowercase letters, digits and '_', "
                "not starting with a digit, at most 63"
            )
        return value

    @field_validator("database_name")
    @classmethod
    def _db_name(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$", value):
            raise ValueError(f"{value!r}: letters, digits and '_', starting with a letter")
        return value

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, value: int) -> int:
        if not (value in (7, PI_RETENTION_MAX) or (0 < value < 731 and value % 31 == 0)):
            raise ValueError(f"{value}: AWS accepts 7, 731 or a multiple of 31 (months)")
        return value

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
        default=500,
        gt=0,
        # DocumentDB instances take at most 30,000 connections (the largest class):
        # https://docs.aws.amazon.com/documentdb/latest/developerguide/limits.html
        le=30000,
        description="Alarm when connections stay above this (an instance takes at most 30000).",
    )
    replica_lag_alarm_ms: int = Field(
        default=1000, gt=0, description="Alarm when the slowest replica lags more than this."
    )

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        offered = catalogue.current().docdb_instance_classes()
        if not _DB_CLASS.match(value):
            raise ValueError(
                f"{value!r} must look like db.r6g.large; {catalogue.hint(value, offered)}"
            )
        return catalogue.check_offered(value, offered, "a DocumentDB instance class")

    @field_validator("master_username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9]{0,62}$", value) or value.lower() in (
            "admin",
            "root",
            "serviceadmin",
        ):
            raise ValueError(
                f"{value!r}: letters and digits, starting with a letter, not a reserved name "
                "(admin, root, serviceadmin)"
            )
        return value

    @property
    def family(self) -> str:
        """`docdb5.0` for 5.0.0."""
        major, minor, _ = self.engine_version.split(".")
        return f"docdb{major}.{minor}"

    def instance_azs(self, network_azs: Sequence[str]) -> list[str]:
        return sorted(network_azs)[: self.instance_count]
