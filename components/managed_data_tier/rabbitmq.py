"""Amazon MQ for RabbitMQ broker of ManagedDataTier.

PCI DSS: 1.3/1.4 (private broker, only the declared apps reach it), 4.2 (clients connect over
AMQPS on 5671; Amazon MQ for RabbitMQ offers no plaintext AMQP listener), 7.2.5/8.2.2 (each
app its own user and virtual host; the admin user is for administrators), 8.3.9/8.6.3 (every
password generated, kept in a secret under the tier's secrets key and rotated every
``secretRotationDays``), 10.2 (general log to CloudWatch Logs).

Users and virtual hosts: Amazon MQ has no API for them (it creates the admin user at broker
creation and never reads users back), so they are made through the RabbitMQ management API,
which the broker serves on its private HTTPS endpoint. A function of the tier in the data
subnets does it (``rotation.py``, ``lambdas/rabbitmq_users.py``): invoked on deploy with the
list of client apps, it gives each its user and virtual host; as the rotation function of
every broker secret, it changes passwords. The broker admits that function on 443 (the
management API) and nobody else; no operator needs a network path to the broker for it.

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
from .rotation import (
    function_security_group,
    rabbitmq_users_function,
    rotation_schedule,
    sync_users,
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


#: The management API's port on an Amazon MQ for RabbitMQ broker (its HTTPS endpoint).
MANAGEMENT_PORT = 443


def build_rabbitmq(
    scope: DataTierScope, settings: RabbitMqSettings, *, rotation_days: int
) -> StoreResult:
    prefix = f"{scope.name}-rabbitmq"
    users_sg = function_security_group(
        scope, "rabbitmq-users", {"rabbitmq-management": MANAGEMENT_PORT}
    )
    sg = store_security_group(
        scope,
        "rabbitmq",
        port=AMQPS_PORT,
        clients=settings.clients,
        management=(MANAGEMENT_PORT, users_sg.id),
    )
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
        # RabbitMQ users back (no drift detection, no update): further users and vhosts, and
        # every password change, go through the RabbitMQ management API (aws-sdk #148), so
        # this stays the first password of the admin, which rotation has since replaced.
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
        rotated=True,
    )
    app_secrets = {
        app: credentials_secret(
            scope,
            "rabbitmq",
            role=app,
            username=app,
            password=generated_password(
                scope, "rabbitmq", app, length=32, specials=MQ_PASSWORD_SPECIALS
            ).result,
            host=endpoint,
            port=AMQPS_PORT,
            engine="rabbitmq",
            extra={"vhost": settings.vhost_of(app)},
            rotated=True,
        )
        for app in sorted(settings.clients)
    }
    function, permission = rabbitmq_users_function(
        scope,
        broker_url=broker.instances.apply(_console_url),
        admin_secret_arn=secret.arn,
        secret_arns=[secret.arn, *(s.arn for s in app_secrets.values())],
        security_group=users_sg,
        subnet_ids=broker_subnet_ids(settings, scope.network),
    )
    sync = sync_users(
        scope,
        function,
        {
            app: {"secretArn": s.arn, "vhost": settings.vhost_of(app)}
            for app, s in app_secrets.items()
        },
        depends_on=[broker, *app_secrets.values()],
    )
    for role, rotated in (("admin", secret), *app_secrets.items()):
        rotation_schedule(
            scope,
            f"{prefix}-{role}",
            rotated,
            function_arn=function.arn,
            days=rotation_days,
            depends_on=[permission, sync],
        )
    return StoreResult(
        endpoint=endpoint,
        port=AMQPS_PORT,
        security_group_id=sg.id,
        secret_arn=secret.arn,
        secret_key="secrets",
        app_secrets={app: s.arn for app, s in app_secrets.items()},
        app_users={app: app for app in app_secrets},
        resources={"broker": broker, "secret": secret, "users": sync},
        alarms=rabbitmq_alarms(scope.name, settings, broker.broker_name),
        widgets=rabbitmq_widgets(scope.name, settings, broker.broker_name, scope.env.region),
    )


def _console_url(instances: Sequence[aws.mq.outputs.BrokerInstance]) -> str:
    """The broker's HTTPS endpoint, where RabbitMQ serves its management API."""
    return str(instances[0].console_url) if instances else ""


def _amqps_endpoint(instances: Sequence[aws.mq.outputs.BrokerInstance]) -> str:
    """The broker's AMQPS URL (a cluster has one endpoint, behind AWS's load balancer)."""
    endpoints = instances[0].endpoints if instances else None
    return endpoints[0] if endpoints else ""
