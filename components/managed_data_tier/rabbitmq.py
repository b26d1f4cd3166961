"""Amazon MQ for RabbitMQ broker of ManagedDataTier.

PCI DSS: 1.3/1.4 (private broker, only the declared apps reach it), 4.2 (clients connect over
AMQPS on 5671; Amazon MQ for RabbitMQ offers no plaintext AMQP listener), 8.3 (admin password
generated, kept in a CMK-encrypted secret), 10.2 (general log to CloudWatch Logs).

Encryption at rest: Amazon MQ encrypts RabbitMQ brokers with an AWS-owned KMS key and does
not accept a customer-managed key for them (the ``EncryptionOptions`` of CreateBroker "does
not apply to RabbitMQ brokers"; a CMK is an ActiveMQ-only feature). The broker therefore has
no ``encryption_options``; this is recorded as a known gap in the docs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from ..core.alarms import Comparison, Widget, metric_alarm, metric_widget
from ..core.settings import SettingsModel
from ..secure_vpc import NetworkRef
from ..secure_vpc.plan import SERVICES
from .common import (
    COMPONENT,
    DataTierScope,
    StoreResult,
    as_secret,
    credentials_secret,
    first_azs,
    generated_password,
    store_security_group,
)

AMQPS_PORT = SERVICES["rabbitmq"].from_port

_VERSION = re.compile(r"^(\d+)\.(\d+)(\.\d+)?$")
_INSTANCE = re.compile(r"^mq\.(t3|m5|m7g)\.[a-z0-9]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.~-]{2,100}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: Amazon MQ rejects ',', ':' and '=' in passwords; clients put the password in an amqps://
#: URI, so only URI-unreserved specials are generated (no percent-encoding surprises).
MQ_PASSWORD_SPECIALS = "-_.~"
#: Amazon MQ places a RabbitMQ cluster's three nodes in three AZs.
CLUSTER_AZS = 3

DeploymentMode = Literal["CLUSTER_MULTI_AZ", "SINGLE_INSTANCE"]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


class RabbitMqSettings(SettingsModel):
    """Amazon MQ for RabbitMQ broker (`rabbitmq:` in the data tier config)."""

    clients: list[str] = Field(
        default_factory=list,
        description="Apps (app tier names) whose instances may connect on 5671 (AMQPS).",
    )
    deployment_mode: DeploymentMode = Field(
        default="CLUSTER_MULTI_AZ",
        description="CLUSTER_MULTI_AZ (3 nodes in 3 AZs) or SINGLE_INSTANCE (nonprod only).",
    )
    engine_version: str = Field(
        default="3.13",
        description="RabbitMQ major.minor: 3.13 or 4.2 (4.x runs on mq.m7g only).",
    )
    host_instance_type: str = Field(
        default="mq.m7g.large", description="Broker instance type (mq.t3.micro: single only)."
    )
    auto_minor_version_upgrade: bool = Field(
        default=True,
        description="Must stay true: Amazon MQ requires it for RabbitMQ 3.13 and later.",
    )
    admin_username: str = Field(
        default="platform-admin",
        description="Broker admin user (its password is generated into Secrets Manager).",
    )
    maintenance_day: DayOfWeek = Field(default="SUNDAY", description="Maintenance day (UTC).")
    maintenance_time: str = Field(default="18:00", description="Maintenance start, hh:mm UTC.")
    queue_depth_alarm: int = Field(
        default=10000, ge=1, description="MessageCount (ready + unacked) alarm threshold."
    )
    min_consumers: int = Field(
        default=1, ge=0, description="Alarm when fewer consumers are connected (0: no alarm)."
    )
    memory_alarm_percent: float = Field(
        default=80,
        gt=0,
        le=100,
        description="Alarm when memory used reaches this % of RabbitMQ's memory limit "
        "(at 100% RabbitMQ blocks publishers).",
    )
    cpu_alarm_percent: float = Field(
        default=85, gt=0, le=100, description="SystemCpuUtilization alarm threshold."
    )

    @field_validator("engine_version")
    @classmethod
    def _version(cls, value: str) -> str:
        match = _VERSION.match(value)
        if not match or (int(match[1]), int(match[2])) < (3, 13):
            raise ValueError(
                f"rabbitmq.engineVersion {value!r}: use a supported major.minor, 3.13 or 4.2 "
                "(earlier versions are end of support on Amazon MQ)"
            )
        return value

    @field_validator("host_instance_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not _INSTANCE.match(value):
            raise ValueError(
                f"rabbitmq.hostInstanceType {value!r}: use an Amazon MQ RabbitMQ type, "
                "e.g. mq.m7g.large or mq.m5.large (mq.t3.micro for a nonprod single instance)"
            )
        return value

    @field_validator("admin_username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _USERNAME.match(value) or value == "guest":
            raise ValueError(
                f"rabbitmq.adminUsername {value!r}: 2-100 letters, digits or -_.~ and not 'guest'"
            )
        return value

    @field_validator("maintenance_time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f"rabbitmq.maintenanceTime {value!r}: use hh:mm (UTC)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RabbitMqSettings:
        if not self.auto_minor_version_upgrade:
            raise ValueError(
                "rabbitmq.autoMinorVersionUpgrade must be true: Amazon MQ requires automatic "
                "minor version upgrades for RabbitMQ 3.13 and later"
            )
        if self.major >= 4 and not self.host_instance_type.startswith("mq.m7g."):
            raise ValueError(
                f"rabbitmq.engineVersion {self.engine_version} runs on mq.m7g instances only; "
                "set rabbitmq.hostInstanceType to an mq.m7g type"
            )
        if self.deployment_mode == "CLUSTER_MULTI_AZ" and self.host_instance_type == "mq.t3.micro":
            raise ValueError(
                "rabbitmq.hostInstanceType mq.t3.micro supports SINGLE_INSTANCE only; use "
                "mq.m7g.large (or larger) for rabbitmq.deploymentMode CLUSTER_MULTI_AZ"
            )
        return self

    @property
    def major(self) -> int:
        return int(self.engine_version.split(".")[0])


def broker_subnet_ids(settings: RabbitMqSettings, network: NetworkRef) -> list[pulumi.Output[str]]:
    """One data subnet for a single instance; for a private cluster, a data subnet in each of
    (up to) three AZs, one per AZ (AWS: a private broker needs at least one subnet, and several
    subnets must be in different AZs)."""
    count = 1 if settings.deployment_mode == "SINGLE_INSTANCE" else CLUSTER_AZS
    return [network.subnet_ids["data"][az] for az in first_azs(network, count)]


def build_rabbitmq(scope: DataTierScope, settings: RabbitMqSettings) -> StoreResult:
    prefix = f"{scope.name}-rabbitmq"
    sg = store_security_group(scope, "rabbitmq", port=AMQPS_PORT, clients=settings.clients)
    password = generated_password(
        scope, "rabbitmq", "admin", length=32, specials=MQ_PASSWORD_SPECIALS
    )
    broker = aws.mq.Broker(
        f"{prefix}-broker",
        engine_type="RabbitMQ",
        engine_version=settings.engine_version,
        host_instance_type=settings.host_instance_type,
        deployment_mode=settings.deployment_mode,
        storage_type="ebs",
        publicly_accessible=False,
        subnet_ids=broker_subnet_ids(settings, scope.network),
        security_groups=[sg.id],
        auto_minor_version_upgrade=settings.auto_minor_version_upgrade,
        maintenance_window_start_time={
            "day_of_week": settings.maintenance_day,
            "time_of_day": settings.maintenance_time,
            "time_zone": "UTC",
        },
        # RabbitMQ brokers have a general log only (audit logging is ActiveMQ-only).
        logs={"general": True},
        # Amazon MQ creates the RabbitMQ admin at broker creation only and never reads
        # RabbitMQ users back (no drift detection, no update): further users and vhosts are
        # managed through the RabbitMQ management API, not AWS (aws-sdk #148).
        users=[
            {
                "username": settings.admin_username,
                "password": as_secret(password.result),
            }
        ],
        tags=scope.tags(Name=prefix),
        opts=scope.stateful_opts(),
    )
    endpoint = broker.instances.apply(_amqps_endpoint)
    secret = credentials_secret(
        scope,
        "rabbitmq",
        username=settings.admin_username,
        password=password.result,
        host=endpoint,
        port=AMQPS_PORT,
        engine="rabbitmq",
    )
    widgets = _alarms_and_widgets(scope, settings, broker)
    return StoreResult(
        endpoint=endpoint,
        port=AMQPS_PORT,
        security_group_id=sg.id,
        secret_arn=secret.arn,
        resources={"broker": broker, "secret": secret},
        widgets=widgets,
    )


def _amqps_endpoint(instances: Sequence[aws.mq.outputs.BrokerInstance]) -> str:
    """The broker's AMQPS URL (a cluster has one endpoint, behind AWS's load balancer)."""
    endpoints = instances[0].endpoints if instances else None
    return endpoints[0] if endpoints else ""


def _alarms_and_widgets(
    scope: DataTierScope, settings: RabbitMqSettings, broker: aws.mq.Broker
) -> list[Widget]:
    prefix = f"{scope.name}-rabbitmq"
    dims = {"Broker": broker.broker_name}

    def alarm(
        check: str,
        metric: str,
        threshold: float,
        comparison: Comparison,
        stat: str,
        what: str,
    ) -> None:
        metric_alarm(
            f"{prefix}-{check}",
            parent=scope.parent,
            context=scope.context,
            component=COMPONENT,
            topic_arn=scope.alarm_topic_arn,
            description=f"{scope.name} RabbitMQ: {what}",
            namespace="AWS/AmazonMQ",
            metric_name=metric,
            dimensions=dims,
            threshold=threshold,
            comparison=comparison,
            statistic=stat,
            evaluation_periods=3,
        )

    alarm(
        "queue-depth",
        "MessageCount",
        settings.queue_depth_alarm,
        "GreaterThanOrEqualToThreshold",
        "Maximum",
        f"messages queued >= {settings.queue_depth_alarm} (consumers falling behind)",
    )
    alarm(
        "cpu",
        "SystemCpuUtilization",
        settings.cpu_alarm_percent,
        "GreaterThanOrEqualToThreshold",
        "Average",
        f"CPU >= {settings.cpu_alarm_percent}%",
    )
    if settings.min_consumers:
        alarm(
            "consumers",
            "ConsumerCount",
            settings.min_consumers,
            "LessThanThreshold",
            "Minimum",
            f"fewer than {settings.min_consumers} consumers connected",
        )
    _memory_alarm(scope, settings, broker)
    return [
        metric_widget(
            f"{scope.name} RabbitMQ: {metric}",
            [["AWS/AmazonMQ", metric, "Broker", broker.broker_name]],
            region=scope.env.region,
            stat=stat,
        )
        for metric, stat in (
            ("MessageCount", "Maximum"),
            ("ConsumerCount", "Minimum"),
            ("RabbitMQMemUsed", "Maximum"),
            ("SystemCpuUtilization", "Average"),
        )
    ]


def _memory_alarm(
    scope: DataTierScope, settings: RabbitMqSettings, broker: aws.mq.Broker
) -> aws.cloudwatch.MetricAlarm:
    """Memory used as a % of RabbitMQ's own limit (the limit depends on the instance type,
    so a fixed byte threshold would be wrong after a resize). A metric-math alarm, which
    ``metric_alarm`` does not model; it notifies the same topic on ALARM and OK."""

    def query(query_id: str, metric: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/AmazonMQ",
                metric_name=metric,
                dimensions={"Broker": broker.broker_name},
                period=300,
                stat="Maximum",
            ),
        )

    return aws.cloudwatch.MetricAlarm(
        f"{scope.name}-rabbitmq-memory",
        alarm_description=(
            f"{scope.name} RabbitMQ: memory >= {settings.memory_alarm_percent}% of the "
            "RabbitMQ memory limit (at 100% publishers are blocked)"
        ),
        comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=settings.memory_alarm_percent,
        evaluation_periods=3,
        treat_missing_data="missing",
        metric_queries=[
            query("used", "RabbitMQMemUsed"),
            query("limit", "RabbitMQMemLimit"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="percent",
                expression="100 * used / limit",
                label="memory used % of limit",
                return_data=True,
            ),
        ],
        alarm_actions=[scope.alarm_topic_arn],
        ok_actions=[scope.alarm_topic_arn],
        tags=scope.tags(),
        opts=scope.opts(),
    )
