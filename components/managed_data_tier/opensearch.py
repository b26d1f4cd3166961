"""Amazon OpenSearch Service domain (VPC) of ManagedDataTier.

PCI DSS: 1.3 (VPC-only domain, only declared apps reach it), 3.5 (at rest with the data-tier
CMK), 4.2 (HTTPS enforced with a TLS 1.2+ policy, node-to-node TLS), 7.2/8.3 (fine-grained
access control with IAM only: no internal users, no anonymous access; the domain policy
admits principals of this account only), 10.2 (audit, slow and error logs in CloudWatch).
"""

from __future__ import annotations

import re
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from ..core.alarms import Comparison, Widget, metric_alarm, metric_widget
from ..core.aws_env import policy_json
from ..core.settings import SettingsModel, check_log_retention
from ..secure_vpc.plan import SERVICES
from .common import (
    COMPONENT,
    DataTierScope,
    StoreResult,
    encrypted_log_group,
    first_azs,
    store_security_group,
)

HTTPS_PORT = SERVICES["opensearch"].from_port

_ENGINE = re.compile(r"^OpenSearch_(\d+)\.(\d+)$")
_INSTANCE = re.compile(r"^[a-z0-9]+\.[a-z0-9]+\.search$")
#: OpenSearch domain names: 3-28 characters, lowercase letter first, letters/digits/hyphens.
DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{2,27}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: Log types the domain publishes, each to its own log group (AUDIT_LOGS needs FGAC).
LOG_TYPES = ("AUDIT_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS")

TlsPolicy = Literal["Policy-Min-TLS-1-2-PFS-2023-10", "Policy-Min-TLS-1-2-2019-07"]


class OpenSearchSettings(SettingsModel):
    """OpenSearch domain (`opensearch:` in the data tier config)."""

    clients: list[str] = Field(
        default_factory=list,
        description="Apps (app tier names) whose instances may connect on 443.",
    )
    domain_name: str | None = Field(
        default=None,
        description="Domain name (3-28 chars); default `<tier name>-search`, e.g. `prod-search`. "
        "Changing it replaces the domain.",
    )
    engine_version: str = Field(
        default="OpenSearch_2.19", description="`OpenSearch_<major>.<minor>`, 2.x or later."
    )
    instance_type: str = Field(default="r7g.large.search", description="Data node type.")
    instance_count: int = Field(
        default=3, ge=1, le=80, description="Data nodes; a multiple of zoneAwareness."
    )
    zone_awareness: Literal[1, 2, 3] = Field(
        default=3,
        description="AZs the data nodes (and replicas) span: 3, 2, or 1 (no zone awareness).",
    )
    dedicated_masters: bool = Field(
        default=True, description="Dedicated cluster-manager nodes (stability under load)."
    )
    dedicated_master_type: str = Field(
        default="m7g.large.search", description="Dedicated cluster-manager node type."
    )
    dedicated_master_count: Literal[3, 5] = Field(
        default=3, description="Dedicated cluster-manager nodes (3 or 5 keep a quorum)."
    )
    volume_size_gib: int = Field(default=100, ge=10, le=24576, description="gp3 EBS per node.")
    master_user_arn: str | None = Field(
        default=None,
        description="Required. IAM role that administers fine-grained access control "
        "(maps other IAM roles to OpenSearch roles). No internal users are created.",
    )
    tls_security_policy: TlsPolicy = Field(
        default="Policy-Min-TLS-1-2-PFS-2023-10",
        description="HTTPS policy: TLS 1.2+ with forward secrecy (or TLS 1.2 2019-07).",
    )
    auto_tune: bool = Field(
        default=True, description="Auto-Tune (JVM/queue tuning in the off-peak window)."
    )
    off_peak_start: str = Field(
        default="18:00", description="Start of the daily off-peak window, hh:mm UTC."
    )
    log_retention_days: int = Field(
        default=365, description="Retention of audit/slow/application logs (PCI DSS 10.5.1)."
    )
    free_storage_alarm_percent: float = Field(
        default=25, gt=0, lt=100, description="Alarm when a node's free storage falls below."
    )
    cpu_alarm_percent: float = Field(default=80, gt=0, le=100, description="CPU alarm.")
    jvm_pressure_alarm_percent: float = Field(
        default=80, gt=0, le=100, description="JVMMemoryPressure alarm threshold."
    )

    @field_validator("engine_version")
    @classmethod
    def _engine(cls, value: str) -> str:
        match = _ENGINE.match(value)
        if not match or int(match[1]) < 2:
            raise ValueError(
                f"opensearch.engineVersion {value!r}: use OpenSearch_<major>.<minor> with "
                "major 2 or later, e.g. OpenSearch_2.19"
            )
        return value

    @field_validator("instance_type", "dedicated_master_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not _INSTANCE.match(value):
            raise ValueError(
                f"opensearch instance type {value!r} (instanceType/dedicatedMasterType): use "
                "an OpenSearch type such as r7g.large.search"
            )
        return value

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not DOMAIN_NAME.match(value):
            raise ValueError(
                f"opensearch.domainName {value!r}: 3-28 characters, a lowercase letter first, "
                "then lowercase letters, digits or '-'"
            )
        return value

    @field_validator("off_peak_start")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f"opensearch.offPeakStart {value!r}: use hh:mm (UTC)")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_log_retention(value)

    @model_validator(mode="after")
    def _consistent(self) -> OpenSearchSettings:
        if self.master_user_arn is None or not _ROLE_ARN.match(self.master_user_arn):
            raise ValueError(
                f"opensearch.masterUserArn {self.master_user_arn!r}: give the ARN of the IAM "
                "role that administers fine-grained access control "
                "(arn:aws:iam::<account>:role/<name>)"
            )
        if self.instance_count % self.zone_awareness:
            raise ValueError(
                f"opensearch.instanceCount {self.instance_count} with opensearch.zoneAwareness "
                f"{self.zone_awareness}: spread the data nodes evenly over the AZs (AWS requires "
                f"an even count for 2 AZs); use a multiple of {self.zone_awareness}"
            )
        family = self.instance_type.split(".")[0]
        if self.auto_tune and family in ("t2", "t3"):
            raise ValueError(
                f"opensearch.autoTune is not available on {self.instance_type}; set autoTune: "
                "false or use a non-burstable instanceType"
            )
        if family == "t2":
            raise ValueError(
                f"opensearch.instanceType {self.instance_type}: t2 nodes cannot encrypt data at "
                "rest; use t3 (nonprod) or a larger type"
            )
        return self

    def resolved_domain_name(self, name: str, environment: str) -> str:
        # the data tier is named after its environment (prod, nonprod): prod-search
        return self.domain_name or f"{name}-search"


def build_opensearch(scope: DataTierScope, settings: OpenSearchSettings) -> StoreResult:
    ctx = scope.context
    prefix = f"{scope.name}-opensearch"
    domain_name = settings.resolved_domain_name(scope.name, ctx.environment)
    # Known before creation, so the access and log policies can name the domain exactly.
    domain_arn = scope.env.arn("es", f"domain/{domain_name}")
    sg = store_security_group(scope, "opensearch", port=HTTPS_PORT, clients=settings.clients)
    log_groups = {
        log_type: encrypted_log_group(
            scope,
            "opensearch",
            log_type.lower().replace("_", "-"),
            retention_days=settings.log_retention_days,
        )
        for log_type in LOG_TYPES
    }
    log_policy = _log_resource_policy(scope, domain_name, domain_arn, list(log_groups.values()))
    domain = aws.opensearch.Domain(
        f"{prefix}-domain",
        domain_name=domain_name,
        engine_version=settings.engine_version,
        cluster_config=_cluster_config(settings),
        ebs_options={
            "ebs_enabled": True,
            "volume_type": "gp3",
            "volume_size": settings.volume_size_gib,
        },
        vpc_options={
            "subnet_ids": [
                scope.network.subnet_ids["data"][az]
                for az in first_azs(scope.network, settings.zone_awareness)
            ],
            "security_group_ids": [sg.id],
        },
        encrypt_at_rest={"enabled": True, "kms_key_id": scope.kms_key.arn},
        node_to_node_encryption={"enabled": True},
        domain_endpoint_options={
            "enforce_https": True,
            "tls_security_policy": settings.tls_security_policy,
        },
        advanced_security_options={
            "enabled": True,
            "anonymous_auth_enabled": False,
            # IAM is the only identity store: no passwords to leak or rotate.
            "internal_user_database_enabled": False,
            "master_user_options": {"master_user_arn": settings.master_user_arn},
        },
        access_policies=_access_policy(scope, domain_arn),
        log_publishing_options=[
            aws.opensearch.DomainLogPublishingOptionArgs(
                log_type=log_type, cloudwatch_log_group_arn=group.arn, enabled=True
            )
            for log_type, group in log_groups.items()
        ],
        # t2/t3 nodes reject Auto-Tune options altogether, so the block is left out when off
        auto_tune_options=(
            {
                "desired_state": "ENABLED",
                "rollback_on_disable": "NO_ROLLBACK",
                "use_off_peak_window": True,
            }
            if settings.auto_tune
            else None
        ),
        off_peak_window_options={
            "enabled": True,
            "off_peak_window": {
                "window_start_time": {
                    "hours": int(settings.off_peak_start[:2]),
                    "minutes": int(settings.off_peak_start[3:]),
                }
            },
        },
        software_update_options={"auto_software_update_enabled": True},
        tags=scope.tags(Name=domain_name),
        opts=scope.stateful_opts(depends_on=[log_policy]),
    )
    widgets = _alarms_and_widgets(scope, settings, domain_name)
    return StoreResult(
        endpoint=domain.endpoint,
        port=HTTPS_PORT,
        security_group_id=sg.id,
        secret_arn=None,  # IAM authentication: there is no credential to keep
        resources={"domain": domain},
        widgets=widgets,
    )


def _cluster_config(settings: OpenSearchSettings) -> aws.opensearch.DomainClusterConfigArgs:
    zone_aware = settings.zone_awareness > 1
    return aws.opensearch.DomainClusterConfigArgs(
        instance_type=settings.instance_type,
        instance_count=settings.instance_count,
        # replicas land in another AZ than their primaries, so losing an AZ loses no data
        zone_awareness_enabled=zone_aware,
        zone_awareness_config=(
            aws.opensearch.DomainClusterConfigZoneAwarenessConfigArgs(
                availability_zone_count=settings.zone_awareness
            )
            if zone_aware
            else None
        ),
        dedicated_master_enabled=settings.dedicated_masters,
        dedicated_master_type=settings.dedicated_master_type
        if settings.dedicated_masters
        else None,
        dedicated_master_count=(
            settings.dedicated_master_count if settings.dedicated_masters else None
        ),
    )


def _access_policy(scope: DataTierScope, domain_arn: pulumi.Output[str]) -> pulumi.Output[str]:
    """Only IAM principals of this account may call the domain (never an anonymous `*`);
    what each may do inside is decided by fine-grained access control role mappings."""
    return policy_json(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountPrincipalsOnly",
                    "Effect": "Allow",
                    "Principal": {"AWS": scope.env.root_principal()},
                    "Action": "es:ESHttp*",
                    "Resource": domain_arn.apply(lambda arn: f"{arn}/*"),
                }
            ],
        }
    )


def _log_resource_policy(
    scope: DataTierScope,
    domain_name: str,
    domain_arn: pulumi.Output[str],
    groups: list[aws.cloudwatch.LogGroup],
) -> aws.cloudwatch.LogResourcePolicy:
    """Lets OpenSearch (es.amazonaws.com) write to these log groups only, on behalf of this
    account's domain only (confused-deputy guard). AWS checks it when the domain is created,
    so the domain depends on it. CloudWatch Logs allows 10 resource policies per region."""
    ctx = scope.context
    return aws.cloudwatch.LogResourcePolicy(
        f"{scope.name}-opensearch-logs",
        policy_name=f"{ctx.project}-{ctx.environment}-{domain_name}-logs",
        policy_document=policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OpenSearchWritesItsLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "es.amazonaws.com"},
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [g.arn.apply(lambda arn: f"{arn}:*") for g in groups],
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": scope.env.account_id},
                            "ArnLike": {"aws:SourceArn": domain_arn},
                        },
                    }
                ],
            }
        ),
        opts=scope.opts(),
    )


def _alarms_and_widgets(
    scope: DataTierScope, settings: OpenSearchSettings, domain_name: str
) -> list[Widget]:
    prefix = f"{scope.name}-opensearch"
    dims: dict[str, pulumi.Input[str]] = {
        "DomainName": domain_name,
        "ClientId": scope.env.account_id,
    }
    free_mib = settings.volume_size_gib * 1024 * settings.free_storage_alarm_percent / 100
    checks: list[tuple[str, str, float, Comparison, str, int, int, str]] = [
        # (check, metric, threshold, comparison, stat, period, periods, what)
        ("red", "ClusterStatus.red", 1, "GreaterThanOrEqualToThreshold", "Maximum", 60, 1,
         "cluster RED: a primary shard is unassigned (data unavailable)"),
        ("yellow", "ClusterStatus.yellow", 1, "GreaterThanOrEqualToThreshold", "Maximum", 60, 5,
         "cluster YELLOW: replica shards unassigned (no redundancy)"),
        ("free-storage", "FreeStorageSpace", free_mib, "LessThanOrEqualToThreshold", "Minimum",
         300, 1, f"a node has <= {settings.free_storage_alarm_percent}% storage free"),
        ("writes-blocked", "ClusterIndexWritesBlocked", 1, "GreaterThanOrEqualToThreshold",
         "Maximum", 300, 1, "index writes blocked"),
        ("cpu", "CPUUtilization", settings.cpu_alarm_percent, "GreaterThanOrEqualToThreshold",
         "Maximum", 900, 3, f"data node CPU >= {settings.cpu_alarm_percent}%"),
        ("jvm-pressure", "JVMMemoryPressure", settings.jvm_pressure_alarm_percent,
         "GreaterThanOrEqualToThreshold", "Maximum", 300, 3,
         f"JVM memory pressure >= {settings.jvm_pressure_alarm_percent}%"),
        ("snapshot-failed", "AutomatedSnapshotFailure", 1, "GreaterThanOrEqualToThreshold",
         "Maximum", 60, 1, "automated snapshot failed"),
    ]  # fmt: skip
    if settings.dedicated_masters:
        checks.append(
            ("master-cpu", "MasterCPUUtilization", 50, "GreaterThanOrEqualToThreshold",
             "Maximum", 900, 3, "cluster-manager CPU >= 50%")
        )  # fmt: skip
    for check, metric, threshold, comparison, stat, period, periods, what in checks:
        metric_alarm(
            f"{prefix}-{check}",
            parent=scope.parent,
            context=scope.context,
            component=COMPONENT,
            topic_arn=scope.alarm_topic_arn,
            description=f"{scope.name} OpenSearch {domain_name}: {what}",
            namespace="AWS/ES",
            metric_name=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
            statistic=stat,
            period=period,
            evaluation_periods=periods,
        )
    return [
        metric_widget(
            f"{scope.name} OpenSearch: {metric}",
            [["AWS/ES", metric, "DomainName", domain_name, "ClientId", scope.env.account_id]],
            region=scope.env.region,
            stat="Maximum",
        )
        for metric in (
            "ClusterStatus.red",
            "FreeStorageSpace",
            "CPUUtilization",
            "JVMMemoryPressure",
        )
    ]
