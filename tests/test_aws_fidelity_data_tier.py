"""AWS fidelity of the data tier, on the real prod plan: what mocks accept and AWS refuses at
deploy, or runs wrong.

Mocks create any resource in any order and accept any policy. AWS does not: a VPC OpenSearch
domain needs its service-linked role first, a service writes to a log group, reads a secret
or publishes to an encrypted topic only where a policy lets that service do it, and an alarm
compares what the metric really measures at its dimensions. Each test states the AWS rule in
its docstring with the page it comes from, and evaluates the plan's policies the way IAM does
(``components.iam_check``).
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from fidelity import Request, allows, key_policy, role_allows, role_of, topic_policy

from components.iam_check import decide
from components.managed_data_tier import ManagedDataTierSettings
from components.plan import read_stack_config
from components.testing import Plan, Registered

from conftest import ROOT

REGION = "ap-southeast-1"
TIER = "payments:index:ManagedDataTier"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SLR = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SECRETS_MANAGER = f"secretsmanager.{REGION}.amazonaws.com"
GiB = 1024**3


def stack_settings(stack: str) -> tuple[dict[str, Any], ManagedDataTierSettings]:
    """The stack file's sections, and its data tier as the component reads it."""
    _, config, _ = read_stack_config(ROOT, stack)
    sections = {
        k.partition(":")[2]: json.loads(v)
        for k, v in config.items()
        if k.startswith("payments-platform:") and v[:1] in "{["
    }
    environment = config["payments-platform:environment"]
    data = ManagedDataTierSettings.model_validate(sections.get("dataTier", {}))
    return sections, data.for_environment(environment)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def prod(prod_plan: Plan) -> Plan:
    return prod_plan


@pytest.fixture(scope="module")
def settings() -> ManagedDataTierSettings:
    return stack_settings("prod")[1]


def tier_of(plan: Plan) -> list[Registered]:
    (tier,) = plan.of_type(TIER)
    return plan.descendants_of(tier)


def account_of(plan: Plan) -> str:
    key = next(r for r in tier_of(plan) if r.type == "aws:kms/key:Key")
    return str(key.outputs["arn"]).split(":")[4]


def depends_on(resource: Registered, other: Registered) -> bool:
    return other.urn in resource.dependencies


# --- service-linked and account roles ---------------------------------------------------------


@dataclass(frozen=True)
class RoleNeed:
    """A role a data service needs before it creates its resources, and who provides it."""

    service: str  # the service principal the role is linked to
    #: the service creates it on first use (with the caller's iam:CreateServiceLinkedRole),
    #: and nothing fails before it does
    created_by_service: bool
    doc: str


#: Resource type -> the service-linked role its service needs.
SERVICE_LINKED_ROLES: Mapping[str, RoleNeed] = {
    # a VPC domain needs the role; OpenSearch creates it only for a caller allowed
    # iam:CreateServiceLinkedRole (and not where the legacy Elasticsearch role exists), and
    # otherwise answers "Before you can proceed, you must enable a service-linked role to give
    # Amazon OpenSearch Service permissions to access your VPC"
    "aws:opensearch/domain:Domain": RoleNeed(
        "opensearchservice.amazonaws.com",
        created_by_service=False,
        doc="https://docs.aws.amazon.com/opensearch-service/latest/developerguide/slr-aos.html",
    ),
    # RDS creates AWSServiceRoleForRDS when it creates the first DB instance (DocumentDB uses
    # the same role)
    "aws:rds/instance:Instance": RoleNeed(
        "rds.amazonaws.com",
        created_by_service=True,
        doc="https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAM.ServiceLinkedRoles.html",
    ),
    "aws:docdb/cluster:Cluster": RoleNeed(
        "rds.amazonaws.com",
        created_by_service=True,
        doc="https://docs.aws.amazon.com/documentdb/latest/developerguide/service-linked-roles.html",
    ),
    # ElastiCache creates AWSServiceRoleForElastiCache with the first cluster, given the
    # caller's iam:CreateServiceLinkedRole
    "aws:elasticache/replicationGroup:ReplicationGroup": RoleNeed(
        "elasticache.amazonaws.com",
        created_by_service=True,
        doc="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/using-service-linked-roles.html",
    ),
    # "If no Amazon MQ service-linked role exists when you first create a broker, Amazon MQ
    # will automatically create one"
    "aws:mq/broker:Broker": RoleNeed(
        "mq.amazonaws.com",
        created_by_service=True,
        doc="https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-logging-monitoring.html",
    ),
}

#: DMS looks these roles up by name; the console creates them, a CLI or API caller must
#: (https://docs.aws.amazon.com/dms/latest/userguide/security-iam.html, "Creating the IAM
#: roles to use with AWS DMS").
DMS_ACCOUNT_ROLES = {
    "dms-vpc-role": "AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "AmazonDMSCloudWatchLogsRole",
}


def test_each_data_service_has_the_roles_it_needs_before_it_creates_anything(
    prod: Plan,
) -> None:
    """A service-linked role that the service does not create itself must be in the plan
    (and the resources wait for it) or be declared existing in the stack file; the same for
    the roles DMS looks up by name. Pages: see SERVICE_LINKED_ROLES and DMS_ACCOUNT_ROLES."""
    tier = tier_of(prod)
    written = stack_settings("prod")[0]["dataTier"]  # what the operator wrote, no defaults
    declared_existing = {
        "opensearchservice.amazonaws.com": written.get("opensearch", {}).get(
            "createServiceLinkedRole"
        )
        is False,
    }
    checked = 0
    for type_, need in SERVICE_LINKED_ROLES.items():
        resources = [r for r in tier if r.type == type_]
        if not resources or need.created_by_service:
            continue
        checked += 1
        roles = [r for r in prod.of_type(SLR) if r.inputs["awsServiceName"] == need.service]
        if declared_existing.get(need.service):
            assert not roles, f"{need.service}: declared existing, yet created ({need.doc})"
            continue
        assert len(roles) == 1, f"no service-linked role for {need.service} ({need.doc})"
        assert roles[0].retain_on_delete, "an account-wide role outlives the stack"
        for resource in resources:
            assert depends_on(resource, roles[0]), f"{resource.name} does not wait for the role"
    assert checked, "the prod plan has no service whose role must be created first"

    (subnet_group,) = [r for r in tier if r.type.startswith("aws:dms/replicationSubnetGroup")]
    roles = {r.inputs.get("name"): r for r in tier if r.type == ROLE}
    assert roles and subnet_group
    if written["dms"].get("createAccountRoles") is False:
        assert not set(DMS_ACCOUNT_ROLES) & set(roles)
        return
    for name, managed in DMS_ACCOUNT_ROLES.items():
        role = roles[name]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert allows(
            trust,
            Request(
                "sts:AssumeRole",
                principal={"Service": "dms.amazonaws.com"},
                context={"aws:SourceAccount": account_of(prod)},
            ),
        ), name
        attached = {
            a.inputs["policyArn"] for a in prod.of_type(ATTACHMENT) if a.inputs["role"] == name
        }
        assert f"arn:aws:iam::aws:policy/service-role/{managed}" in attached, name
        assert role.retain_on_delete, name
    assert depends_on(subnet_group, roles["dms-vpc-role"])


# --- deliveries: each has the permission the service uses --------------------------------------


def test_opensearch_may_write_its_logs_and_logs_may_encrypt_them(prod: Plan) -> None:
    """OpenSearch publishes a domain's logs only where a CloudWatch Logs resource policy lets
    es.amazonaws.com call CreateLogStream/PutLogEvents (checked at CreateDomain); a log group
    encrypted with a CMK takes events only if the key policy lets logs.<region> use it with the
    group's ARN as encryption context. Pages: opensearch-service/.../createdomain-configure-
    slow-logs.html; AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html."""
    (domain,) = [r for r in tier_of(prod) if r.type == "aws:opensearch/domain:Domain"]
    (resource_policy,) = [
        r for r in tier_of(prod) if r.type == "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
    ]
    document = json.loads(resource_policy.inputs["policyDocument"])
    account = account_of(prod)
    options = domain.inputs["logPublishingOptions"]
    assert options
    for option in options:
        group_arn = option["cloudwatchLogGroupArn"]
        stream = f"{group_arn}:log-stream:es-logs"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            request = Request(
                action,
                resource=stream,
                principal={"Service": "es.amazonaws.com"},
                context={"aws:SourceAccount": account, "aws:SourceArn": domain.outputs["arn"]},
            )
            assert allows(document, request), (option["logType"], action)
            other = Request(
                action,
                resource=stream,
                principal={"Service": "es.amazonaws.com"},
                context={
                    "aws:SourceAccount": account,
                    "aws:SourceArn": f"arn:aws:es:{REGION}:{account}:domain/someone-else",
                },
            )
            assert not allows(document, other), "another domain may write here"
        (group,) = [
            g
            for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")
            if g.outputs["arn"] == group_arn
        ]
        assert allows(
            key_policy(prod, group.inputs["kmsKeyId"]),
            Request(
                "kms:GenerateDataKey",
                principal={"Service": f"logs.{REGION}.amazonaws.com"},
                context={"kms:EncryptionContext:aws:logs:arn": group_arn},
            ),
        ), group.name


def test_rds_enhanced_monitoring_can_assume_its_role(prod: Plan) -> None:
    """RDS publishes enhanced monitoring only through a role that monitoring.rds.amazonaws.com
    may assume and that carries AmazonRDSEnhancedMonitoringRole (CreateDBInstance fails
    otherwise). Page: AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html."""
    instances = [r for r in tier_of(prod) if r.type == "aws:rds/instance:Instance"]
    assert instances
    for instance in instances:
        assert instance.inputs["monitoringInterval"] > 0
        role = role_of(prod, instance.inputs["monitoringRoleArn"])
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert allows(
            trust,
            Request(
                "sts:AssumeRole",
                principal={"Service": "monitoring.rds.amazonaws.com"},
                context={"aws:SourceAccount": account_of(prod)},
            ),
        )
        assert not allows(
            trust, Request("sts:AssumeRole", principal={"Service": "ec2.amazonaws.com"})
        )
        attached = {
            a.inputs["policyArn"]
            for a in prod.of_type(ATTACHMENT)
            if a.inputs["role"] == role.outputs["name"]
        }
        assert "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole" in attached


def test_dms_reads_every_endpoint_secret_through_its_role(prod: Plan) -> None:
    """A DMS endpoint with SecretsManagerSecretId is created only if the regional DMS principal
    (dms.<region>.amazonaws.com) may assume SecretsManagerAccessRoleArn and the role may read
    the secret and decrypt it through Secrets Manager, which passes the secret's ARN as
    encryption context. Target secrets are under the tier's secrets key; a source secret the
    DBAs made (no `secretKmsKeyArn`) may be under the data tier's original key, which keeps
    letting Secrets Manager decrypt exactly those. Pages: dms/latest/userguide/
    security_iam_secretsmanager.html; secretsmanager/latest/userguide/security-encryption.html."""
    endpoints = [
        r
        for r in tier_of(prod)
        if r.type == "aws:dms/endpoint:Endpoint" and r.inputs.get("secretsManagerArn")
    ]
    assert {e.inputs["endpointType"] for e in endpoints} == {"source", "target"}
    data_key = prod.named("prod-key", "aws:kms/key:Key").outputs["arn"]
    for endpoint in endpoints:
        role = role_of(prod, endpoint.inputs["secretsManagerAccessRoleArn"])
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert allows(
            trust,
            Request(
                "sts:AssumeRole",
                principal={"Service": f"dms.{REGION}.amazonaws.com"},
                context={"aws:SourceAccount": account_of(prod)},
            ),
        ), endpoint.name
        secret = endpoint.inputs["secretsManagerArn"]
        assert role_allows(prod, role, Request("secretsmanager:GetSecretValue", secret))
        key_arn = secret_key(prod, secret) if secret_in_plan(prod, secret) else data_key
        assert key_arn is not None
        through = Request(
            "kms:Decrypt",
            resource=key_arn,
            principal={"AWS": role.outputs["arn"]},
            context={
                "kms:ViaService": SECRETS_MANAGER,
                "kms:CallerAccount": account_of(prod),
                "kms:EncryptionContext:SecretARN": secret,
                "aws:PrincipalArn": role.outputs["arn"],
            },
        )
        assert role_allows(prod, role, through), endpoint.name
        assert allows(key_policy(prod, key_arn), through), endpoint.name


def test_alarms_and_dms_events_may_publish_to_the_encrypted_alarm_topic(prod: Plan) -> None:
    """CloudWatch (alarm actions), DMS and RDS (event subscriptions) publish to an SNS topic
    only if its policy lets their service principal sns:Publish, and to a KMS-encrypted topic
    only if the key policy lets that principal kms:GenerateDataKey* and kms:Decrypt; RDS
    publishes as events.rds.amazonaws.com. Pages:
    sns/latest/dg/sns-key-management.html#compatibility-with-aws-services;
    dms/latest/userguide/CHAP_Events.html; AmazonRDS/latest/UserGuide/
    USER_Events.GrantingPermissions.html."""
    account = account_of(prod)
    senders: list[tuple[str, str, str]] = []  # (service, source ARN, topic ARN)
    for r in tier_of(prod):
        if r.type == ALARM:
            topics = {*r.inputs["alarmActions"], *r.inputs["okActions"]}
            senders += [("cloudwatch.amazonaws.com", r.outputs["arn"], t) for t in topics]
        elif r.type == "aws:dms/eventSubscription:EventSubscription":
            senders.append(("dms.amazonaws.com", r.outputs["arn"], r.inputs["snsTopicArn"]))
        elif r.type == "aws:rds/eventSubscription:EventSubscription":
            senders.append(("events.rds.amazonaws.com", r.outputs["arn"], r.inputs["snsTopic"]))
    assert {s[0] for s in senders} == {
        "cloudwatch.amazonaws.com",
        "dms.amazonaws.com",
        "events.rds.amazonaws.com",
    }
    for service, source, topic_arn in senders:
        context = {
            "aws:SourceAccount": account,
            "aws:SourceArn": source,
            "aws:SecureTransport": "true",
        }
        publish = Request("sns:Publish", topic_arn, {"Service": service}, context)
        assert allows(topic_policy(prod, topic_arn), publish), (service, source)
        (topic,) = [t for t in prod.of_type("aws:sns/topic:Topic") if t.outputs["arn"] == topic_arn]
        key = key_policy(prod, topic.inputs["kmsMasterKeyId"])
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert allows(key, Request(action, "*", {"Service": service}, context)), action


# --- apps read their stores' secrets, and only those -----------------------------------------


def aws_secretsmanager_key_policy(account: str) -> dict[str, Any]:
    """The key policy AWS gives the AWS managed key aws/secretsmanager: every principal of the
    account may use it through Secrets Manager (secretsmanager/latest/userguide/
    security-encryption.html, "Key policy of the AWS managed key (aws/secretsmanager)")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": SECRETS_MANAGER,
                    }
                },
            }
        ],
    }


def secret_in_plan(plan: Plan, secret_arn: str) -> bool:
    return any(
        (r.type == "aws:secretsmanager/secret:Secret" and r.outputs.get("arn") == secret_arn)
        or any(m["secretArn"] == secret_arn for m in r.outputs.get("masterUserSecrets") or [])
        for r in plan
    )


def secret_key(plan: Plan, secret_arn: str) -> str | None:
    """The CMK that encrypts a secret of the plan; None for the aws/secretsmanager key (what
    RDS and DocumentDB use for a managed master secret given no MasterUserSecretKmsKeyId)."""
    for r in plan:
        if r.type == "aws:secretsmanager/secret:Secret" and r.outputs.get("arn") == secret_arn:
            return str(r.inputs["kmsKeyId"])
        for managed in r.outputs.get("masterUserSecrets") or []:
            if managed["secretArn"] == secret_arn:
                key = r.inputs.get("masterUserSecretKmsKeyId")
                return str(key) if key else None
    raise AssertionError(f"no secret {secret_arn} in the plan")


def readable_secrets(outputs: Mapping[str, Any]) -> dict[str, set[str]]:
    """Every secret of the data tier's stores (its ``dataStores`` output) -> the apps that
    must be able to read it: an app's own secret by that app; a store's own secret by the
    apps the stack file lets read it (masterSecretReaders; the shared Redis user's clients
    while sharedAppUser is on)."""
    _, settings = stack_settings("prod")
    found: dict[str, set[str]] = {}
    for store, (_, store_settings) in sorted(settings.stores().items()):
        output = outputs[store]
        if output["secretArn"]:
            readers = set(getattr(store_settings, "master_secret_readers", []))
            if store == "redis" and settings.redis is not None and settings.redis.shared_app_user:
                readers = set(store_settings.clients)
            found[output["secretArn"]] = readers
        for app, arn in (output.get("appSecretArns") or {}).items():
            found[arn] = {app}
    return found


def test_each_app_reads_exactly_its_own_secrets(prod: Plan) -> None:
    """GetSecretValue needs secretsmanager:GetSecretValue on the secret and, for a secret under
    a customer-managed key, kms:Decrypt on that key through Secrets Manager (with the secret's
    ARN as encryption context), allowed by the caller's policy and the key policy. An app
    reads its own credentials and no other app's, and a store's admin or master secret only
    where the stack file still allows it; it may not decrypt with a tier key outside Secrets
    Manager, nor another secret through it. Pages: secretsmanager/latest/userguide/
    auth-and-access.html and security-encryption.html."""
    sections, _ = stack_settings("prod")
    account = account_of(prod)
    apps = sorted(sections["apps"])
    secrets = readable_secrets(prod.stack_outputs["dataStores"])
    assert apps and secrets
    checked = {True: 0, False: 0}
    for secret, readers in secrets.items():
        key = secret_key(prod, secret)
        for app in apps:
            role = prod.named(f"{app}-instance-role", ROLE)
            reads = app in readers
            assert role_allows(prod, role, Request("secretsmanager:GetSecretValue", secret)) is (
                reads
            ), (app, secret)
            checked[reads] += 1
            if not reads:
                continue
            as_role = {"aws:PrincipalArn": role.outputs["arn"]}
            through = Request(
                "kms:Decrypt",
                resource=key or "*",
                principal={"AWS": role.outputs["arn"]},
                context={
                    "kms:ViaService": SECRETS_MANAGER,
                    "kms:CallerAccount": account,
                    "kms:EncryptionContext:SecretARN": secret,
                    **as_role,
                },
            )
            if key is None:
                assert allows(aws_secretsmanager_key_policy(account), through), (app, secret)
                continue
            assert role_allows(prod, role, through), (app, secret)
            assert allows(key_policy(prod, key), through), (app, secret)
            direct = Request(
                "kms:Decrypt", resource=key, principal={"AWS": role.outputs["arn"]}, context=as_role
            )
            assert not role_allows(prod, role, direct), f"{app} decrypts outside Secrets Manager"
            others = [s for s in secrets if s != secret and app not in secrets[s]]
            for other in others:
                stray = Request(
                    "kms:Decrypt",
                    resource=key,
                    principal={"AWS": role.outputs["arn"]},
                    context={**through.context, "kms:EncryptionContext:SecretARN": other},
                )
                assert not role_allows(prod, role, stray), (app, other)
    assert checked[True] and checked[False]


# --- alarm thresholds lie within what the metric measures -----------------------------------


@dataclass(frozen=True)
class Range:
    """The values a metric takes at the alarm's dimensions, and its unit there."""

    low: float
    high: float
    unit: str


Dims = Mapping[str, Any]
RangeOf = Callable[[Plan, Dims], Range]


def _fixed(low: float, high: float, unit: str) -> RangeOf:
    return lambda _plan, _dims: Range(low, high, unit)


def _resource(plan: Plan, type_: str, output: str, value: Any) -> Registered:
    (found,) = [r for r in plan.of_type(type_) if r.outputs.get(output) == value]
    return found


def _rds_storage(plan: Plan, dims: Dims) -> Range:
    db = _resource(plan, "aws:rds/instance:Instance", "identifier", dims["DBInstanceIdentifier"])
    ceiling = db.inputs.get("maxAllocatedStorage") or db.inputs["allocatedStorage"]
    return Range(0, ceiling * GiB, "Bytes")  # storage autoscaling grows up to the ceiling


def _dms_storage(plan: Plan, dims: Dims) -> Range:
    instance = _resource(
        plan,
        "aws:dms/replicationInstance:ReplicationInstance",
        "replicationInstanceId",
        dims["ReplicationInstanceIdentifier"],
    )
    return Range(0, instance.inputs["allocatedStorage"] * GiB, "Bytes")


def _search_storage(plan: Plan, dims: Dims) -> Range:
    domain = _resource(plan, "aws:opensearch/domain:Domain", "domainName", dims["DomainName"])
    return Range(0, domain.inputs["ebsOptions"]["volumeSize"] * 1024, "Megabytes")  # per node


def _broker_cpu(plan: Plan, dims: Dims) -> Range:
    broker = _resource(plan, "aws:mq/broker:Broker", "brokerName", dims["Broker"])
    nodes = 3 if broker.inputs["deploymentMode"] == "CLUSTER_MULTI_AZ" else 1
    return Range(0, 100 * nodes, "Percent")  # a cluster's broker-level figure sums its nodes


#: (namespace, metric, dimension names) -> the metric's range there, with the page it is from.
MQ = "https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-logging-monitoring.html"
RDS = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html"
DOCDB = "https://docs.aws.amazon.com/documentdb/latest/developerguide/cloud_watch.html"
REDIS = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html"
SEARCH = "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-cloudwatchmetrics.html"
DMS = "https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html"
INF = math.inf
METRIC_RANGES: Mapping[tuple[str, str, frozenset[str]], tuple[RangeOf, str]] = {
    ("AWS/RDS", "CPUUtilization", frozenset({"DBInstanceIdentifier"})): (
        _fixed(0, 100, "Percent"), RDS),
    ("AWS/RDS", "FreeStorageSpace", frozenset({"DBInstanceIdentifier"})): (_rds_storage, RDS),
    ("AWS/RDS", "FreeableMemory", frozenset({"DBInstanceIdentifier"})): (
        _fixed(0, INF, "Bytes"), RDS),
    ("AWS/RDS", "DatabaseConnections", frozenset({"DBInstanceIdentifier"})): (
        _fixed(0, INF, "Count"), RDS),
    # at DBClusterIdentifier, Maximum/Minimum are those of the cluster's instances
    ("AWS/DocDB", "CPUUtilization", frozenset({"DBClusterIdentifier"})): (
        _fixed(0, 100, "Percent"), DOCDB),
    ("AWS/DocDB", "FreeableMemory", frozenset({"DBClusterIdentifier"})): (
        _fixed(0, INF, "Bytes"), DOCDB),
    ("AWS/DocDB", "DatabaseConnections", frozenset({"DBClusterIdentifier"})): (
        _fixed(0, INF, "Count"), DOCDB),
    ("AWS/DocDB", "DBClusterReplicaLagMaximum", frozenset({"DBClusterIdentifier"})): (
        _fixed(0, INF, "Milliseconds"), DOCDB),
    ("AWS/ElastiCache", "EngineCPUUtilization", frozenset({"CacheClusterId"})): (
        _fixed(0, 100, "Percent"), REDIS),
    ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", frozenset({"CacheClusterId"})): (
        _fixed(0, 100, "Percent"), REDIS),
    ("AWS/ElastiCache", "CurrConnections", frozenset({"CacheClusterId"})): (
        _fixed(0, 65000, "Count"), REDIS),  # maxclients is 65000 and not modifiable
    ("AWS/ElastiCache", "ReplicationLag", frozenset({"CacheClusterId"})): (
        _fixed(0, INF, "Seconds"), REDIS),
    ("AWS/AmazonMQ", "MessageCount", frozenset({"Broker"})): (_fixed(0, INF, "Count"), MQ),
    ("AWS/AmazonMQ", "ConsumerCount", frozenset({"Broker"})): (_fixed(0, INF, "Count"), MQ),
    ("AWS/AmazonMQ", "SystemCpuUtilization", frozenset({"Broker"})): (_broker_cpu, MQ),
    ("AWS/AmazonMQ", "SystemCpuUtilization", frozenset({"Broker", "Node"})): (
        _fixed(0, 100, "Percent"), MQ),
    ("AWS/AmazonMQ", "RabbitMQMemUsed", frozenset({"Broker"})): (_fixed(0, INF, "Bytes"), MQ),
    ("AWS/AmazonMQ", "RabbitMQMemLimit", frozenset({"Broker"})): (_fixed(0, INF, "Bytes"), MQ),
    # ClusterStatus.*, ClusterIndexWritesBlocked, AutomatedSnapshotFailure: 0 or 1
    ("AWS/ES", "ClusterStatus.red", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 1, "Count"), SEARCH),
    ("AWS/ES", "ClusterStatus.yellow", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 1, "Count"), SEARCH),
    ("AWS/ES", "ClusterIndexWritesBlocked", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 1, "Count"), SEARCH),
    ("AWS/ES", "AutomatedSnapshotFailure", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 1, "Count"), SEARCH),
    ("AWS/ES", "FreeStorageSpace", frozenset({"DomainName", "ClientId"})): (
        _search_storage, SEARCH),
    ("AWS/ES", "CPUUtilization", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 100, "Percent"), SEARCH),
    ("AWS/ES", "MasterCPUUtilization", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 100, "Percent"), SEARCH),
    ("AWS/ES", "JVMMemoryPressure", frozenset({"DomainName", "ClientId"})): (
        _fixed(0, 100, "Percent"), SEARCH),
    ("AWS/DMS", "CPUUtilization", frozenset({"ReplicationInstanceIdentifier"})): (
        _fixed(0, 100, "Percent"), DMS),
    ("AWS/DMS", "FreeStorageSpace", frozenset({"ReplicationInstanceIdentifier"})): (
        _dms_storage, DMS),
}  # fmt: skip

#: A Metrics Insights query: SELECT FUNC(metric) FROM SCHEMA("namespace", dims) WHERE k = 'v'
_INSIGHTS = re.compile(
    r"""^SELECT\s+(?P<func>AVG|MAX|MIN)\((?P<metric>[\w.]+)\)\s+FROM\s+SCHEMA\("(?P<ns>[^"]+)",\s*"""
    r"""(?P<dims>[^)]*)\)\s+WHERE\s+(?P<where>.+?)(?:\s+GROUP BY\s+(?P<group>\w+).*)?$"""
)


def metric_range(plan: Plan, namespace: str, metric: str, dims: Dims) -> Range:
    entry = METRIC_RANGES.get((namespace, metric, frozenset(dims)))
    assert entry is not None, f"no known range for {namespace} {metric} at {sorted(dims)}"
    range_of, _doc = entry
    return range_of(plan, dims)


def _interval(node: ast.expr, ranges: Mapping[str, Range]) -> tuple[float, float]:
    """Interval arithmetic of a metric-math expression over non-negative metrics."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value), float(node.value)
    if isinstance(node, ast.Name):
        return ranges[node.id].low, ranges[node.id].high
    if isinstance(node, ast.BinOp):
        (a, b), (c, d) = _interval(node.left, ranges), _interval(node.right, ranges)
        if isinstance(node.op, ast.Mult):
            return a * c, b * d
        if isinstance(node.op, ast.Div):
            return (a / d if d not in (0, INF) else 0.0), (b / c if c > 0 else INF)
        if isinstance(node.op, ast.Add):
            return a + c, b + d
    raise AssertionError(f"metric math {ast.dump(node)} is not evaluated here")


def compared_value(plan: Plan, alarm: Registered) -> Range:
    """The range of what the alarm compares with its threshold."""
    inputs = alarm.inputs
    if inputs.get("metricName"):
        return metric_range(plan, inputs["namespace"], inputs["metricName"], inputs["dimensions"])
    queries = inputs["metricQueries"]
    ranges: dict[str, Range] = {}
    for q in queries:
        if "metric" in q:
            m = q["metric"]
            ranges[q["id"]] = metric_range(plan, m["namespace"], m["metricName"], m["dimensions"])
    (returned,) = [q for q in queries if q.get("returnData")]
    expression = returned["expression"]
    insights = _INSIGHTS.match(expression)
    if insights:
        dims: dict[str, Any] = {d.strip(): None for d in insights["dims"].split(",")}
        for condition in insights["where"].split(" AND "):
            key, _, value = condition.partition("=")
            dims[key.strip()] = value.strip().strip("'")
        assert returned.get("period"), "a Metrics Insights query in an alarm needs a period"
        return metric_range(plan, insights["ns"], insights["metric"], dims)
    low, high = _interval(ast.parse(expression, mode="eval").body, ranges)
    return Range(low, high, "derived")


def data_tier_alarms(plan: Plan) -> list[Registered]:
    alarms = [r for r in tier_of(plan) if r.type == ALARM]
    assert alarms
    return alarms


@pytest.mark.parametrize("stack", ["prod", "nonprod"])
def test_every_alarm_threshold_lies_within_its_metrics_range(
    stack: str, stack_plan: Callable[..., Plan]
) -> None:
    """An alarm whose threshold lies outside what the metric can report never fires (or never
    clears): it must be reachable from both sides, for the comparison it uses, at the
    dimensions it names. Ranges: METRIC_RANGES, each with its page."""
    plan = stack_plan(stack)
    for alarm in data_tier_alarms(plan):
        value = compared_value(plan, alarm)
        t, op = alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]
        reachable = {
            "GreaterThanThreshold": value.low <= t < value.high,
            "GreaterThanOrEqualToThreshold": value.low < t <= value.high,
            "LessThanThreshold": value.low < t <= value.high,
            "LessThanOrEqualToThreshold": value.low <= t < value.high,
        }[op]
        assert reachable, f"{alarm.name}: {op} {t} outside [{value.low}, {value.high}]"


@pytest.mark.parametrize("stack", ["prod", "nonprod"])
def test_a_percent_threshold_is_compared_with_one_resources_percentage(
    stack: str, stack_plan: Callable[..., Plan]
) -> None:
    """A percent threshold (`cpuAlarmPercent: 85`) means a share of one node or instance
    (0-100). Where CloudWatch reports a percentage that is an aggregate over several nodes, as
    Amazon MQ does for a RabbitMQ cluster at the Broker dimension ("the aggregate of all three
    RabbitMQ nodes"), 85 is about 28% per node. Page: MQ in METRIC_RANGES."""
    plan = stack_plan(stack)
    percents = 0
    for alarm in data_tier_alarms(plan):
        value = compared_value(plan, alarm)
        if value.unit == "Percent":
            percents += 1
            assert (value.low, value.high) == (0, 100), f"{alarm.name}: 0-{value.high}%"
    assert percents


# --- keys: administered by the administrators only ------------------------------------------

#: Principals of the prod account, as a request names them (aws:PrincipalArn).
DEPLOYER = "arn:aws:iam::210987654321:role/payments-platform-deployer"
BREAK_GLASS = (
    "arn:aws:iam::210987654321:role/aws-reserved/sso.amazonaws.com/ap-southeast-1/"
    "AWSReservedSSO_BreakGlass_0a1b2c3d4e5f6789"
)
PLATFORM_ADMIN = (
    "arn:aws:iam::210987654321:role/aws-reserved/sso.amazonaws.com/ap-southeast-1/"
    "AWSReservedSSO_PlatformAdmin_0a1b2c3d4e5f6789"
)


def as_principal(arn: str, action: str, key: str, **context: str) -> Request:
    return Request(
        action,
        resource=key,
        principal={"AWS": arn},
        context={"aws:PrincipalArn": arn, "kms:CallerAccount": "210987654321", **context},
    )


def test_every_key_of_the_stack_is_administered_by_its_administrators_only(prod: Plan) -> None:
    """PCI DSS 3.6.1.2/3.7: every customer-managed key of the prod stack (flow logs, VPN logs,
    EBS, the landing zone's logs and notifications keys, the data tier's three) names its
    administrators (the stack file's: the deploy role and the break-glass role). A platform
    administrator whose IAM policies allow kms:* still cannot schedule a key's deletion,
    disable it or its rotation, or change its policy (an explicit deny in the key policy wins
    over any allow: IAM policy evaluation logic), and an administrator decrypts nothing
    directly. Pages: kms/latest/developerguide/key-policy-default.html,
    IAM/latest/UserGuide/reference_policies_evaluation-logic.html."""
    keys = prod.every("aws:kms/key:Key")
    assert {k.name for k in keys} >= {
        "prod-flow-logs",
        "prod-vpn-logs",
        "loyalty-ebs",
        "mmf-ebs",
        "prod-logs",
        "prod-notifications",
        "prod-key",
        "prod-secrets-key",
        "prod-logs-key",
    }
    for key in keys:
        policy = json.loads(key.inputs["policy"])
        arn = key.outputs["arn"]
        assert not [s for s in policy["Statement"] if s.get("Action") == "kms:*"], key.name
        for action in ("kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy",
                       "kms:DisableKeyRotation"):  # fmt: skip
            for admin in (DEPLOYER, BREAK_GLASS):
                assert allows(policy, as_principal(admin, action, arn)), (key.name, action)
            assert decide(policy, as_principal(PLATFORM_ADMIN, action, arn)) == "deny", (
                key.name,
                action,
            )
        for admin in (DEPLOYER, BREAK_GLASS):
            assert decide(policy, as_principal(admin, "kms:Decrypt", arn)) == "deny", key.name
        # the rotation stays on, and auditors and AWS Config can see it is
        assert key.inputs["enableKeyRotation"] is True
        assert allows(policy, as_principal(PLATFORM_ADMIN, "kms:GetKeyRotationStatus", arn))


# --- rotation: every password the tier keeps rotates within 90 days -------------------------

#: Secrets the prod plan creates that no function rotates, each with the reason.
NOT_ROTATED = {
    # DMS cannot read a DocumentDB target's credentials from Secrets Manager through the
    # provider (terraform-provider-aws #39930): the password sits in the endpoint, and
    # rotating the user would stop the migration; it lives as long as DMS (dms.retired)
    "prod-dms-target-docdb-mmf-secret",
    # the shared Redis user of earlier versions, kept while the apps move to their own IAM
    # users (redis.sharedAppUser in Pulumi.prod.yaml), then removed
    "prod-redis-credentials",
}


def test_every_secret_the_tier_keeps_rotates_within_90_days(prod: Plan) -> None:
    """PCI DSS 8.3.9/8.6.3 (Security Hub SecretsManager.1 and .4): every secret rotates
    automatically, at most every 90 days: the RDS and DocumentDB master secrets by the
    service's managed rotation (every 7 days: AmazonRDS/latest/UserGuide/
    rds-secrets-manager.html, documentdb/latest/developerguide/docdb-secrets-manager.html),
    the others by a rotation function on a schedule, except the NOT_ROTATED ones."""
    tier = tier_of(prod)
    secrets = {r.outputs["arn"]: r for r in tier if r.type == "aws:secretsmanager/secret:Secret"}
    rotations = {
        r.inputs["secretId"]: r
        for r in tier
        if r.type == "aws:secretsmanager/secretRotation:SecretRotation"
    }
    assert secrets and rotations
    for arn, secret in secrets.items():
        if secret.name in NOT_ROTATED:
            assert arn not in rotations, f"{secret.name} is rotated: take it off NOT_ROTATED"
            continue
        rotation = rotations.get(secret.outputs["id"])
        assert rotation is not None, f"{secret.name} is never rotated"
        assert 1 <= rotation.inputs["rotationRules"]["automaticallyAfterDays"] <= 90
        assert rotation.inputs["rotationLambdaArn"], secret.name
    for managed in [r for r in tier if r.type in ("aws:rds/instance:Instance",
                                                   "aws:docdb/cluster:Cluster")]:  # fmt: skip
        assert managed.inputs["manageMasterUserPassword"] is True, managed.name


def _function_role(plan: Plan, function_arn: str) -> Registered:
    (function,) = [f for f in plan.of_type("aws:lambda/function:Function")
                   if f.outputs["arn"] == function_arn]  # fmt: skip
    return role_of(plan, function.inputs["role"])


def test_secrets_manager_may_invoke_the_rabbitmq_function_which_may_rotate_its_secrets(
    prod: Plan,
) -> None:
    """A rotation function runs only if Secrets Manager may invoke it (a resource policy
    naming secretsmanager.amazonaws.com, here for this account only), and rotates only what
    its role lets it read, write and restage, decrypting and encrypting through Secrets
    Manager with the secret's ARN as encryption context, which the secrets key must allow.
    Pages: secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html,
    rotate-secrets_lambda-functions.html."""
    function = prod.named("prod-rabbitmq-users", "aws:lambda/function:Function")
    (permission,) = [p for p in prod.of_type("aws:lambda/permission:Permission")
                     if p.inputs["function"] == function.outputs["name"]]  # fmt: skip
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
    assert permission.inputs["sourceAccount"] == account_of(prod)
    role = _function_role(prod, function.outputs["arn"])
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert allows(
        trust,
        Request("sts:AssumeRole", principal={"Service": "lambda.amazonaws.com"},
                context={"aws:SourceAccount": account_of(prod)}),
    )  # fmt: skip
    rotated = [
        r.inputs["secretId"]
        for r in prod.of_type("aws:secretsmanager/secretRotation:SecretRotation")
        if r.inputs["rotationLambdaArn"] == function.outputs["arn"]
    ]
    assert len(rotated) == 3  # the admin, loyalty's and mmf's
    for secret in rotated:
        for action in ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                       "secretsmanager:UpdateSecretVersionStage"):  # fmt: skip
            assert role_allows(prod, role, Request(action, secret)), action
        key = secret_key(prod, secret)
        assert key is not None
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            request = Request(
                action,
                resource=key,
                principal={"AWS": role.outputs["arn"]},
                context={
                    "kms:ViaService": SECRETS_MANAGER,
                    "kms:CallerAccount": account_of(prod),
                    "kms:EncryptionContext:SecretARN": secret,
                    "aws:PrincipalArn": role.outputs["arn"],
                },
            )
            assert role_allows(prod, role, request), action
            assert allows(key_policy(prod, key), request), action
    attached = {a.inputs["policyArn"] for a in prod.of_type(ATTACHMENT)
                if a.inputs["role"] == role.outputs["name"]}  # fmt: skip
    # a function in a VPC needs its network interfaces (Lambda checks at creation)
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole" in attached


def _rules(plan: Plan, type_: str, group_id: str) -> list[Registered]:
    return [r for r in plan.of_type(type_) if r.inputs["securityGroupId"] == group_id]


def test_the_rotation_functions_reach_their_stores_and_secrets_manager(prod: Plan) -> None:
    """A function in the data subnets reaches a store only if its group lets it out to the
    store's port and the store's group admits it, and Secrets Manager only through the VPC's
    interface endpoint (the data tier has no route out): the RabbitMQ users function the
    broker's management API (HTTPS, 443: amazon-mq/latest/developer-guide/
    rabbitmq-basic-elements-broker-users.html), the DMS rotation function each RDS target
    on its port. Security groups are stateful: the replies need no rule."""
    endpoints = prod.stack_outputs["endpointSecurityGroupId"]
    data_cidr = "10.10.64.0/19"
    cases = [
        ("prod-rabbitmq-users-sg", {"prod-rabbitmq-sg": 443}),
        ("prod-dms-rotation-sg", {"prod-rds-loyalty-sg": 5432, "prod-rds-mmf-sg": 5432}),
    ]
    for function_group, stores in cases:
        group = prod.named(function_group, "aws:ec2/securityGroup:SecurityGroup").outputs["id"]
        egress = _rules(prod, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", group)
        assert {(r.inputs.get("cidrIpv4"), r.inputs["fromPort"]) for r in egress
                if r.inputs.get("cidrIpv4")} == {(data_cidr, p) for p in stores.values()}  # fmt: skip
        assert {(r.inputs.get("referencedSecurityGroupId"), r.inputs["fromPort"]) for r in egress
                if r.inputs.get("referencedSecurityGroupId")} == {(endpoints, 443)}  # fmt: skip
        for store, port in stores.items():
            store_group = prod.named(store, "aws:ec2/securityGroup:SecurityGroup").outputs["id"]
            ingress = _rules(
                prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", store_group
            )
            assert (group, port) in {
                (r.inputs.get("referencedSecurityGroupId"), r.inputs["fromPort"]) for r in ingress
            }, (function_group, store)
    function = prod.named("prod-rabbitmq-users", "aws:lambda/function:Function")
    rabbit_group = prod.named("prod-rabbitmq-users-sg", "aws:ec2/securityGroup:SecurityGroup")
    assert function.inputs["vpcConfig"]["securityGroupIds"] == [rabbit_group.outputs["id"]]
    (stack,) = prod.of_type("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")
    rotation_group = prod.named("prod-dms-rotation-sg", "aws:ec2/securityGroup:SecurityGroup")
    assert stack.inputs["parameters"]["vpcSecurityGroupIds"] == rotation_group.outputs["id"]
    assert (
        stack.inputs["parameters"]["kmsKeyArn"]
        == prod.named("prod-secrets-key", "aws:kms/key:Key").outputs["arn"]
    )
