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

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from ..secure_vpc import NetworkRef
from ..secure_vpc.plan import SERVICES
from .alarms import rabbitmq_alarms, rabbitmq_widgets
from .common import (
    DataTierScope,
    StoreResult,
    as_secret,
    credentials_secret,
    first_azs,
    generated_password,
    store_security_group,
)
from .settings import RabbitMqSettings

AMQPS_PORT = SERVICES["rabbitmq"].from_port

#: Amazon MQ rejects ',', ':' and '=' in passwords; clients put the password in an amqps://
#: URI, so only URI-unreserved specials are generated (no percent-encoding surprises).
MQ_PASSWORD_SPECIALS = "-_.~"
#: Amazon MQ places a RabbitMQ cluster's three nodes in three AZs.
CLUSTER_AZS = 3


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
    return StoreResult(
        endpoint=endpoint,
        port=AMQPS_PORT,
        security_group_id=sg.id,
        secret_arn=secret.arn,
        secret_under_tier_key=True,
        resources={"broker": broker, "secret": secret},
        alarms=rabbitmq_alarms(scope.name, settings, broker.broker_name),
        widgets=rabbitmq_widgets(scope.name, settings, broker.broker_name, scope.env.region),
    )


def _amqps_endpoint(instances: Sequence[aws.mq.outputs.BrokerInstance]) -> str:
    """The broker's AMQPS URL (a cluster has one endpoint, behind AWS's load balancer)."""
    endpoints = instances[0].endpoints if instances else None
    return endpoints[0] if endpoints else ""
