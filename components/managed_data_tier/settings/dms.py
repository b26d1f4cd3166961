"""Settings of AWS DMS for the migration phase (stack key `dataTier.dms`): on-prem sources,
replication tasks, and the replication instance."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from ... import catalogue
from ...core.settings import SettingsModel
from .base import DmsCertificateArn, KmsKeyArn, SecretArn, check_store_name

DmsSourceEngine = Literal["postgres", "mysql", "mongodb"]
SOURCE_PORTS: Mapping[str, int] = {"postgres": 5432, "mysql": 3306, "mongodb": 27017}
#: Which store kinds each source engine can be migrated into here.
COMPATIBLE_TARGETS: Mapping[str, frozenset[str]] = {
    "postgres": frozenset({"rds"}),
    "mysql": frozenset({"rds"}),
    "mongodb": frozenset({"documentdb"}),
}
TARGET = re.compile(r"^(rds|documentdb)\.([a-z][a-z0-9-]*)$")
_DMS_CLASS = re.compile(r"^dms\.[a-z0-9]+\.[a-z0-9]+$")
_DMS_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
#: A source host DMS connects to: an IPv4 address or a DNS name (RFC 1123: labels of 1-63
#: letters, digits and '-', not starting or ending with '-'; at most 253 characters).
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
#: DMS replication instances take 5-6144 GiB of storage (CreateReplicationInstance,
#: AllocatedStorage): https://docs.aws.amazon.com/dms/latest/APIReference/API_CreateReplicationInstance.html
MAX_DMS_STORAGE_GIB = 6144


def _check_host(value: str) -> str:
    if re.fullmatch(r"[\d.]+", value):
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 address") from None
        return value
    name = value.removesuffix(".")
    if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in name.split(".")):
        raise ValueError(
            f"{value!r} is neither an IPv4 address nor a DNS name (labels of letters, digits "
            "and '-', at most 63 each and 253 in all)"
        )
    return value


class DmsSource(SettingsModel):
    """One on-prem database DMS reads from (stack key `dataTier.dms.sources.<name>`)."""

    engine: DmsSourceEngine = Field(description="`postgres`, `mysql` or `mongodb`.")
    on_prem_network: str = Field(
        description="Name of the on-prem range (hybrid.onPremNetworks) the database sits in."
    )
    host: str = Field(
        description=(
            "Database host (IP or DNS name resolvable from the VPC). Must match the `host` in "
            "the secret, which is what DMS connects to."
        ),
        min_length=1,
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Port; default the engine's standard port."
    )
    database_name: str = Field(description="Database to migrate.", min_length=1)
    secret_arn: SecretArn = Field(
        description=(
            "Secrets Manager secret (JSON: username, password, host, port) of the migration "
            "user on the source; owned by the on-prem DBAs, never in config."
        )
    )
    secret_kms_key_arn: KmsKeyArn | None = Field(
        default=None,
        description="CMK encrypting that secret, if not the data tier's data-store key or "
        "aws/secretsmanager.",
    )
    ssl_mode: Literal["require", "verify-full"] = Field(
        default="verify-full",
        description=(
            "TLS to the source (PCI DSS 4.2.1: card data crosses the VPN/DX encrypted). "
            "`verify-full` also checks the server's certificate against certificateArn."
        ),
    )
    certificate_arn: DmsCertificateArn | None = Field(
        default=None, description="DMS certificate of the on-prem CA (required for verify-full)."
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _check_host(value)

    @property
    def effective_port(self) -> int:
        return self.port or SOURCE_PORTS[self.engine]


class DmsTask(SettingsModel):
    """One replication task (stack key `dataTier.dms.tasks.<name>`)."""

    source: str = Field(description="Name of a source under dms.sources.")
    target: str = Field(description="Store written to: `rds.<name>` or `documentdb.<name>`.")
    #: table-mapping JSON may span lines (a YAML block scalar)
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"table_mappings"})

    table_mappings: str = Field(
        description=(
            'DMS table-mapping JSON (`{"rules": [...]}`): which schemas/tables move, '
            "and how they are renamed."
        )
    )
    migration_type: Literal["full-load-and-cdc", "full-load", "cdc"] = Field(
        default="full-load-and-cdc",
        description="full-load-and-cdc keeps the target in sync until cut-over.",
    )
    start: bool = Field(
        default=False,
        description=(
            "Start the task on deploy. Leave off until the DBA has created the migration user "
            "on the target (see docs)."
        ),
    )

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if not TARGET.match(value):
            raise ValueError(f"{value!r} must be rds.<name> or documentdb.<name>")
        return value

    @field_validator("table_mappings")
    @classmethod
    def _mappings(cls, value: str) -> str:
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        rules = doc.get("rules") if isinstance(doc, dict) else None
        if not isinstance(rules, list) or not rules:
            raise ValueError('give an object with a non-empty "rules" list')
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict) or "rule-type" not in rule:
                raise ValueError(f'rule {i} has no "rule-type"')
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    @property
    def target_kind(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def target_store(self) -> str:
        return self.target.split(".", 1)[1]


class DmsSettings(SettingsModel):
    """The migration phase (stack key `dataTier.dms`); retire or remove it after cut-over."""

    retired: bool = Field(
        default=False,
        description=(
            "The migration is over: nothing of DMS is built any more (replication instance, "
            "endpoints, tasks, the migration users' secrets and their rotation, the network "
            "openings to the sources), while the section stays in the stack file as the "
            "record of what was migrated. Nothing else changes; the DBA drops `dms_migration` "
            "on each target."
        ),
    )

    instance_class: str = Field(default="dms.r6i.large", description="Replication instance class.")
    allocated_storage_gib: int = Field(
        default=100,
        ge=5,
        le=MAX_DMS_STORAGE_GIB,
        description="Replication instance storage (cached changes), 5-6144 GiB.",
    )
    engine_version: str | None = Field(
        default=None, description="DMS engine version; default AWS's current default."
    )
    multi_az: bool = Field(
        default=True, description="Standby replication instance in another AZ (prod keeps it)."
    )
    create_account_roles: bool = Field(
        default=True,
        description=(
            "Create the account-wide `dms-vpc-role` and `dms-cloudwatch-logs-role`, which DMS "
            "looks up by these names and an API caller must create (without them DMS refuses "
            "the subnet group). Set false where the account already has them (IAM refuses a "
            "second role of the same name: EntityAlreadyExists); they are kept when DMS or "
            "the stack is deleted."
        ),
    )
    target_ca_certificate_arn: DmsCertificateArn | None = Field(
        default=None,
        description=(
            "DMS certificate of the Amazon RDS CA bundle (global-bundle.pem): targets are "
            "then verify-full; required when a task writes to DocumentDB."
        ),
    )
    free_storage_alarm_gib: int = Field(
        default=10,
        gt=0,
        le=MAX_DMS_STORAGE_GIB,
        description="Alarm when the replication instance's free storage is low (GiB).",
    )
    sources: dict[str, DmsSource] = Field(
        default_factory=dict, description="On-prem source databases by name."
    )
    tasks: dict[str, DmsTask] = Field(
        default_factory=dict, description="Replication tasks by name."
    )

    @field_validator("instance_class")
    @classmethod
    def _class(cls, value: str) -> str:
        offered = catalogue.current().dms_instance_classes()
        if not _DMS_CLASS.match(value):
            raise ValueError(
                f"{value!r} must look like dms.r6i.large; {catalogue.hint(value, offered)}"
            )
        return catalogue.check_offered(value, offered, "a DMS replication instance class")

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, value: str | None) -> str | None:
        if value is None:
            return value
        offered = catalogue.current().dms_engine_versions()
        if not _DMS_VERSION.match(value):
            raise ValueError(f"{value!r} must look like 3.5.4; {catalogue.hint(value, offered)}")
        return catalogue.check_offered(value, offered, "a DMS replication engine version")

    @field_validator("sources", "tasks")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_store_name(name)
        return value

    def source_engines(self) -> list[str]:
        return sorted({s.engine for s in self.sources.values()})
