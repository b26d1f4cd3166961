"""AWS DMS for the migration phase: on-prem PostgreSQL/MySQL/MongoDB into the stores here.

Credentials never sit in config or in plain state: sources are read through Secrets Manager
secrets the on-prem DBAs own (``secretArn``), via a role only the regional DMS service can
assume; targets get a generated migration user whose password lives in a CMK-encrypted
Secrets Manager secret (RDS-managed master secrets carry no host/port, which DMS needs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field, field_validator, model_validator

from ..core.alarms import Widget, metric_widget
from ..core.aws_env import assume_role_policy, policy_json
from ..core.security_groups import Rule, restricted_security_group
from ..core.settings import SettingsModel
from .common import COMPONENT, DataTierScope
from .rds import check_store_name, store_alarm

DmsSourceEngine = Literal["postgres", "mysql", "mongodb"]
SOURCE_PORTS: Mapping[str, int] = {"postgres": 5432, "mysql": 3306, "mongodb": 27017}
#: Which store kinds each source engine can be migrated into here.
COMPATIBLE_TARGETS: Mapping[str, frozenset[str]] = {
    "postgres": frozenset({"rds"}),
    "mysql": frozenset({"rds"}),
    "mongodb": frozenset({"documentdb"}),
}
TARGET = re.compile(r"^(rds|documentdb)\.([a-z][a-z0-9-]*)$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:dms:[a-z0-9-]+:\d{12}:cert:.+$")
#: The migration user DMS writes with; a DBA creates it with the password from its secret.
MIGRATION_USER = "dms_migration"
#: Characters every engine and DMS accept in a password (no / @ " ' ; space).
PASSWORD_SPECIALS = "!#$%^*-_=+"


def _check_arn(pattern: re.Pattern[str], what: str, value: str | None) -> str | None:
    if value is not None and not pattern.match(value):
        raise ValueError(f"{value!r} is not a {what} ARN")
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
    secret_arn: str = Field(
        description=(
            "Secrets Manager secret (JSON: username, password, host, port) of the migration "
            "user on the source; owned by the on-prem DBAs, never in config."
        )
    )
    secret_kms_key_arn: str | None = Field(
        default=None,
        description="CMK encrypting that secret, if not the data tier key or aws/secretsmanager.",
    )
    ssl_mode: Literal["require", "verify-full"] = Field(
        default="verify-full",
        description=(
            "TLS to the source (PCI DSS 4.2.1: card data crosses the VPN/DX encrypted). "
            "`verify-full` also checks the server's certificate against certificateArn."
        ),
    )
    certificate_arn: str | None = Field(
        default=None, description="DMS certificate of the on-prem CA (required for verify-full)."
    )

    @field_validator("secret_arn")
    @classmethod
    def _secret(cls, value: str) -> str:
        _check_arn(_SECRET_ARN, "Secrets Manager secret", value)
        return value

    @field_validator("secret_kms_key_arn")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        return _check_arn(_KMS_ARN, "KMS key", value)

    @field_validator("certificate_arn")
    @classmethod
    def _cert(cls, value: str | None) -> str | None:
        return _check_arn(_CERT_ARN, "DMS certificate", value)

    @model_validator(mode="after")
    def _verify_needs_ca(self) -> Self:
        if self.ssl_mode == "verify-full" and self.certificate_arn is None:
            raise ValueError(
                "certificateArn is required with sslMode verify-full: import the on-prem CA "
                "as a DMS certificate (or, knowingly, use sslMode require)"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port or SOURCE_PORTS[self.engine]


class DmsTask(SettingsModel):
    """One replication task (stack key `dataTier.dms.tasks.<name>`)."""

    source: str = Field(description="Name of a source under dms.sources.")
    target: str = Field(description="Store written to: `rds.<name>` or `documentdb.<name>`.")
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
            raise ValueError(f"target {value!r} must be rds.<name> or documentdb.<name>")
        return value

    @field_validator("table_mappings")
    @classmethod
    def _mappings(cls, value: str) -> str:
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"tableMappings is not valid JSON: {exc}") from None
        rules = doc.get("rules") if isinstance(doc, dict) else None
        if not isinstance(rules, list) or not rules:
            raise ValueError('tableMappings must be an object with a non-empty "rules" list')
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict) or "rule-type" not in rule:
                raise ValueError(f'tableMappings rule {i} has no "rule-type"')
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    @property
    def target_kind(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def target_store(self) -> str:
        return self.target.split(".", 1)[1]


class DmsSettings(SettingsModel):
    """The migration phase (stack key `dataTier.dms`); remove it after cut-over."""

    instance_class: str = Field(default="dms.r6i.large", description="Replication instance class.")
    allocated_storage_gib: int = Field(
        default=100, ge=5, le=6144, description="Replication instance storage (cached changes)."
    )
    engine_version: str | None = Field(
        default=None, description="DMS engine version; default AWS's current default."
    )
    multi_az: bool = Field(
        default=True, description="Standby replication instance in another AZ (prod keeps it)."
    )
    create_account_roles: bool = Field(
        default=False,
        description=(
            "Create the account-wide `dms-vpc-role` and `dms-cloudwatch-logs-role` DMS "
            "requires. Exactly one stack per account may do this."
        ),
    )
    target_ca_certificate_arn: str | None = Field(
        default=None,
        description=(
            "DMS certificate of the Amazon RDS CA bundle (global-bundle.pem): targets are "
            "then verify-full; required when a task writes to DocumentDB."
        ),
    )
    free_storage_alarm_gib: int = Field(
        default=10, gt=0, description="Alarm when the replication instance's free storage is low."
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
        if not re.match(r"^dms\.[a-z0-9]+\.[a-z0-9]+$", value):
            raise ValueError(f"instanceClass {value!r} must look like dms.r6i.large")
        return value

    @field_validator("target_ca_certificate_arn")
    @classmethod
    def _cert(cls, value: str | None) -> str | None:
        return _check_arn(_CERT_ARN, "DMS certificate", value)

    @field_validator("sources", "tasks")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            check_store_name("name", name)
        return value

    @model_validator(mode="after")
    def _task_sources(self) -> Self:
        for name, task in self.tasks.items():
            if task.source not in self.sources:
                raise ValueError(
                    f"tasks.{name}.source: unknown source {task.source!r}; "
                    f"declare it under dms.sources (known: {sorted(self.sources)})"
                )
            engine = self.sources[task.source].engine
            if task.target_kind not in COMPATIBLE_TARGETS[engine]:
                raise ValueError(
                    f"tasks.{name}.target: a {engine} source migrates into "
                    f"{sorted(COMPATIBLE_TARGETS[engine])}, not {task.target_kind}"
                )
            if task.target_kind == "documentdb" and self.target_ca_certificate_arn is None:
                raise ValueError(
                    f"targetCaCertificateArn is required: task {name} writes to DocumentDB, "
                    "which DMS reaches only with TLS verify-full (import global-bundle.pem)"
                )
        return self

    def source_engines(self) -> list[str]:
        return sorted({s.engine for s in self.sources.values()})


@dataclass(frozen=True)
class DmsTarget:
    """A store here that a task writes to."""

    key: str  # e.g. rds-loyalty
    engine: str  # DMS engine name: postgres, mysql, docdb
    host: pulumi.Output[str]
    port: int
    database_name: str  # '' = the source's database name (DocumentDB keeps it)


def dms_security_group(
    scope: DataTierScope,
    settings: DmsSettings,
    on_prem_cidrs: Mapping[str, str],
    target_ports: Mapping[str, int],
) -> aws.ec2.SecurityGroup:
    """Egress only: to each source on its network and port, to the data tier on the target
    ports, and to the VPC interface endpoints (Secrets Manager, KMS, logs) on 443."""
    egress: list[Rule] = []
    for name, source in sorted(settings.sources.items()):
        egress.append(
            Rule(
                f"source-{name}",
                source.effective_port,
                cidrs={source.on_prem_network: on_prem_cidrs[source.on_prem_network]},
                description=f"DMS reads {source.engine} source {name}",
            )
        )
    for key, port in sorted(target_ports.items()):
        egress.append(
            Rule(
                f"target-{key}",
                port,
                cidrs={"data": scope.network.tier_cidrs["data"]},
                description=f"DMS writes to {key}",
            )
        )
    egress.append(
        Rule(
            "endpoints",
            443,
            security_groups={"vpce": scope.network.endpoint_security_group_id},
            description="AWS APIs through the VPC interface endpoints",
        )
    )
    return restricted_security_group(
        f"{scope.name}-dms-sg",
        vpc_id=scope.network.vpc_id,
        description="DMS replication instance: egress to its sources and targets only",
        context=scope.context,
        component=COMPONENT,
        egress=egress,
        parent=scope.parent,
    )


def _service_trust(principal: pulumi.Input[str], account_id: pulumi.Output[str]) -> Any:
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


def _account_roles(scope: DataTierScope) -> list[aws.iam.Role]:
    """The two roles DMS looks up by fixed name in every account (one stack creates them)."""
    roles = []
    for role_name, policy in (
        ("dms-vpc-role", "AmazonDMSVPCManagementRole"),
        ("dms-cloudwatch-logs-role", "AmazonDMSCloudWatchLogsRole"),
    ):
        role = aws.iam.Role(
            f"{scope.name}-{role_name}",
            name=role_name,
            description="Account-wide role AWS DMS requires by this exact name",
            assume_role_policy=assume_role_policy("dms.amazonaws.com", scope.env.account_id),
            tags=scope.tags(),
            opts=scope.opts(),
        )
        aws.iam.RolePolicyAttachment(
            f"{scope.name}-{role_name}-policy",
            role=role.name,
            policy_arn=pulumi.Output.concat(
                "arn:", scope.env.partition, ":iam::aws:policy/service-role/", policy
            ),
            opts=scope.opts(),
        )
        roles.append(role)
    return roles


@dataclass(frozen=True)
class DmsResult:
    replication_instance: aws.dms.ReplicationInstance
    secrets_role: aws.iam.Role
    target_secret_arns: Mapping[str, pulumi.Output[str]]
    widgets: list[Widget]


def build_dms(
    scope: DataTierScope,
    settings: DmsSettings,
    *,
    security_group: aws.ec2.SecurityGroup,
    targets: Mapping[str, DmsTarget],
) -> DmsResult:
    """Replication instance, endpoints, tasks and failure notifications.

    ``targets`` maps a task's target (`rds.loyalty`) to what DMS needs of that store.
    """
    name = scope.name
    account_roles = _account_roles(scope) if settings.create_account_roles else []
    subnet_group = aws.dms.ReplicationSubnetGroup(
        f"{name}-dms",
        replication_subnet_group_id=f"{name}-dms",
        replication_subnet_group_description=f"DMS in the data tier of {name}",
        subnet_ids=scope.network.tier_subnet_ids("data"),
        tags=scope.tags(),
        # DMS needs dms-vpc-role to exist before it can create a subnet group
        opts=scope.opts(depends_on=account_roles),
    )
    instance = aws.dms.ReplicationInstance(
        f"{name}-dms-instance",
        replication_instance_id=f"{name}-dms",
        replication_instance_class=settings.instance_class,
        allocated_storage=settings.allocated_storage_gib,
        engine_version=settings.engine_version,
        multi_az=settings.multi_az,
        publicly_accessible=False,
        kms_key_arn=scope.kms_key.arn,
        replication_subnet_group_id=subnet_group.replication_subnet_group_id,
        vpc_security_group_ids=[security_group.id],
        auto_minor_version_upgrade=True,
        tags=scope.tags(Name=f"{name}-dms"),
        opts=scope.opts(),
    )
    used_targets = sorted({task.target for task in settings.tasks.values()})
    credentials = {t: _target_credentials(scope, targets[t]) for t in used_targets}
    role, role_policy = _secrets_role(
        scope, settings, [secret for secret, _ in credentials.values()]
    )
    # DMS checks it can read an endpoint's secret when the endpoint is created
    endpoint_opts = scope.opts(depends_on=[role_policy])

    sources = {
        src: aws.dms.Endpoint(
            f"{name}-dms-source-{src}",
            endpoint_id=f"{name}-source-{src}",
            endpoint_type="source",
            engine_name=source.engine,
            database_name=source.database_name,
            secrets_manager_arn=source.secret_arn,
            secrets_manager_access_role_arn=role.arn,
            ssl_mode=source.ssl_mode,
            certificate_arn=source.certificate_arn,
            kms_key_arn=scope.kms_key.arn,
            mongodb_settings=(
                aws.dms.EndpointMongodbSettingsArgs(
                    auth_type="password", auth_source="admin", nesting_level="none"
                )
                if source.engine == "mongodb"
                else None
            ),
            tags=scope.tags(),
            opts=endpoint_opts,
        )
        for src, source in sorted(settings.sources.items())
    }
    task_ids: list[str] = []
    for task_name, task in sorted(settings.tasks.items()):
        task_id = f"{name}-{task_name}"
        task_ids.append(task_id)
        target = targets[task.target]
        endpoint = _target_endpoint(
            scope,
            settings,
            task_name,
            target,
            database_name=target.database_name or settings.sources[task.source].database_name,
            credentials=credentials[task.target],
            role=role,
            opts=endpoint_opts,
        )
        aws.dms.ReplicationTask(
            f"{name}-dms-task-{task_name}",
            replication_task_id=task_id,
            migration_type=task.migration_type,
            replication_instance_arn=instance.replication_instance_arn,
            source_endpoint_arn=sources[task.source].endpoint_arn,
            target_endpoint_arn=endpoint.endpoint_arn,
            table_mappings=task.table_mappings,
            replication_task_settings=json.dumps(_TASK_SETTINGS, sort_keys=True),
            start_replication_task=task.start,
            tags=scope.tags(),
            opts=scope.opts(),
        )
    _failure_notifications(scope, task_ids, f"{name}-dms")
    widgets = _dms_alarms(scope, settings, f"{name}-dms", task_ids)
    return DmsResult(
        replication_instance=instance,
        secrets_role=role,
        target_secret_arns={t: secret.arn for t, (secret, _) in credentials.items()},
        widgets=widgets,
    )


#: Task logs to CloudWatch (PCI DSS 10.2) and row validation, so cut-over is evidence-based.
_TASK_SETTINGS: Mapping[str, Any] = {
    "Logging": {"EnableLogging": True},
    "ValidationSettings": {"EnableValidation": True},
}


def _target_credentials(
    scope: DataTierScope, target: DmsTarget
) -> tuple[aws.secretsmanager.Secret, random.RandomPassword]:
    """The migration user's credentials for one target store, as DMS expects them. The
    password is generated once and kept in state as a secret (stable across runs)."""
    prefix = f"{scope.name}-dms-target-{target.key}"
    password = random.RandomPassword(
        f"{prefix}-password",
        length=32,
        special=True,
        override_special=PASSWORD_SPECIALS,
        min_lower=2,
        min_upper=2,
        min_numeric=2,
        opts=scope.opts(),
    )
    secret = aws.secretsmanager.Secret(
        f"{prefix}-secret",
        description=f"DMS migration user of {target.key} (create it on the target with this)",
        kms_key_id=scope.kms_key.arn,
        recovery_window_in_days=30 if scope.context.is_prod else 7,
        tags=scope.tags(),
        opts=scope.opts(),
    )
    aws.secretsmanager.SecretVersion(
        f"{prefix}-secret-value",
        secret_id=secret.id,
        secret_string=pulumi.Output.json_dumps(
            {
                "engine": target.engine,
                "host": target.host,
                "port": target.port,
                "username": MIGRATION_USER,
                "password": password.result,
                "dbname": target.database_name,
            }
        ),
        opts=scope.opts(),
    )
    return secret, password


def _target_endpoint(
    scope: DataTierScope,
    settings: DmsSettings,
    task_name: str,
    target: DmsTarget,
    *,
    database_name: str,
    credentials: tuple[aws.secretsmanager.Secret, random.RandomPassword],
    role: aws.iam.Role,
    opts: pulumi.ResourceOptions,
) -> aws.dms.Endpoint:
    secret, password = credentials
    verify = settings.target_ca_certificate_arn is not None
    common: dict[str, Any] = {
        "endpoint_id": f"{scope.name}-target-{task_name}",
        "endpoint_type": "target",
        "engine_name": target.engine,
        "database_name": database_name,
        "ssl_mode": "verify-full" if verify else "require",
        "certificate_arn": settings.target_ca_certificate_arn,
        "kms_key_arn": scope.kms_key.arn,
        "tags": scope.tags(),
        "opts": opts,
    }
    if target.engine == "docdb":
        # DMS cannot read DocumentDB credentials from Secrets Manager: they go in as a
        # Pulumi secret (encrypted in state) and DMS encrypts them with the CMK.
        return aws.dms.Endpoint(
            f"{scope.name}-dms-target-{task_name}",
            server_name=target.host,
            port=target.port,
            username=MIGRATION_USER,
            password=password.result,  # a secret Output: encrypted in state
            **common,
        )
    return aws.dms.Endpoint(
        f"{scope.name}-dms-target-{task_name}",
        secrets_manager_arn=secret.arn,
        secrets_manager_access_role_arn=role.arn,
        **common,
    )


def _secrets_role(
    scope: DataTierScope,
    settings: DmsSettings,
    target_secrets: list[aws.secretsmanager.Secret],
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The role DMS assumes to read endpoint secrets: only these secrets and their keys.

    DMS requires the regional service principal (dms.<region>.amazonaws.com) here.
    """
    role = aws.iam.Role(
        f"{scope.name}-dms-secrets",
        description="AWS DMS reads the migration endpoints' secrets",
        assume_role_policy=_service_trust(scope.env.service_endpoint("dms"), scope.env.account_id),
        tags=scope.tags(),
        opts=scope.opts(),
    )
    secret_arns: list[pulumi.Input[str]] = [
        s.secret_arn for _, s in sorted(settings.sources.items())
    ]
    secret_arns += [s.arn for s in target_secrets]
    key_arns: list[pulumi.Input[str]] = [scope.kms_key.arn]
    key_arns += sorted(
        {s.secret_kms_key_arn for s in settings.sources.values() if s.secret_kms_key_arn}
    )
    policy = aws.iam.RolePolicy(
        f"{scope.name}-dms-secrets-read",
        role=role.id,
        policy=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ReadEndpointSecrets",
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:DescribeSecret",
                        ],
                        "Resource": secret_arns,
                    },
                    {
                        "Sid": "DecryptEndpointSecrets",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:DescribeKey"],
                        "Resource": key_arns,
                        "Condition": {
                            "StringEquals": {
                                "kms:ViaService": scope.env.service_endpoint("secretsmanager")
                            }
                        },
                    },
                ],
            }
        ),
        opts=scope.opts(),
    )
    return role, policy


def _failure_notifications(scope: DataTierScope, task_ids: list[str], instance_id: str) -> None:
    """DMS reports task failures as events, not metrics: route them to the stack topic."""
    if task_ids:
        aws.dms.EventSubscription(
            f"{scope.name}-dms-task-events",
            name=f"{scope.name}-dms-task-failure",
            sns_topic_arn=scope.alarm_topic_arn,
            source_type="replication-task",
            source_ids=task_ids,
            event_categories=["failure"],
            enabled=True,
            tags=scope.tags(),
            opts=scope.opts(),
        )
    aws.dms.EventSubscription(
        f"{scope.name}-dms-instance-events",
        name=f"{scope.name}-dms-instance",
        sns_topic_arn=scope.alarm_topic_arn,
        source_type="replication-instance",
        source_ids=[instance_id],
        event_categories=["failure", "failover", "low storage"],
        enabled=True,
        tags=scope.tags(),
        opts=scope.opts(),
    )


def _dms_alarms(
    scope: DataTierScope, settings: DmsSettings, instance_id: str, task_ids: list[str]
) -> list[Widget]:
    dims = {"ReplicationInstanceIdentifier": instance_id}
    store_alarm(
        scope,
        "dms-storage",
        description=(
            f"DMS {instance_id}: free storage below {settings.free_storage_alarm_gib} GiB "
            "(cached changes will stall CDC)"
        ),
        namespace="AWS/DMS",
        metric_name="FreeStorageSpace",
        dimensions=dims,
        threshold=settings.free_storage_alarm_gib * 1024**3,
        comparison="LessThanThreshold",
        statistic="Minimum",
    )
    store_alarm(
        scope,
        "dms-cpu",
        description=f"DMS {instance_id}: CPU above 90%",
        namespace="AWS/DMS",
        metric_name="CPUUtilization",
        dimensions=dims,
        threshold=90,
        comparison="GreaterThanThreshold",
    )
    return [
        metric_widget(
            f"DMS {instance_id}: CPU and free storage",
            [
                ["AWS/DMS", "CPUUtilization", "ReplicationInstanceIdentifier", instance_id],
                [
                    "AWS/DMS",
                    "FreeStorageSpace",
                    "ReplicationInstanceIdentifier",
                    instance_id,
                    {"yAxis": "right"},
                ],
            ],
            region=scope.env.region,
        )
    ]
